"""The metrics' database gauges read from a real database, SQLite and PostgreSQL alike, as the
endpoint reads them: on the scrape's worker thread, on a connection of their own."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics, overview
from bot.metrics import DatabaseSummary
from tests.postgres_server import open_test_store

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def active() -> Iterator[metrics.Metrics]:
    with metrics.collecting() as m:
        yield m


async def scrape(m: metrics.Metrics) -> Samples:
    # On a worker thread, as the endpoint renders: the PostgreSQL reader runs its own loop there.
    text = (await asyncio.to_thread(m.render)).decode()
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def reader(database: Path | str) -> Callable[[], DatabaseSummary]:
    if isinstance(database, str):
        return functools.partial(overview.postgres_summary_of, database)
    return functools.partial(overview.summary_of, database)


async def populate(database: Path | str, now: datetime) -> None:
    """Two active serials (one of them due 40 minutes ago), two paused, one finished."""
    store = await open_test_store(database)
    try:
        for channel, due in (
            (101, now + timedelta(hours=2)),
            (102, now - timedelta(minutes=40)),
            (103, now - timedelta(minutes=5)),
            (104, now + timedelta(hours=1)),
            (105, now + timedelta(hours=1)),
        ):
            await store.create_subscription(
                guild_id=7,
                channel_id=channel,
                slug="lighthouse",
                revision="r1",
                next_part=1,
                position=0,
                schedule="daily 18:00",
                timezone="UTC",
                slot_due=due,
                catch_up="one",
                subscribed_by=1,
                thread_archive_minutes=None,
                now=now - timedelta(days=1),
                part_count=4,
            )
        await store.pause(103, "the bot is missing Send Messages in #news", now)
        await store.pause(104, "holiday break", now)
        finished = await store.subscription(105)
        assert finished is not None
        await store.mark_completed(finished.id, now)
    finally:
        await store.close()


async def test_the_database_gauges_count_states_reasons_and_the_backlog(
    database: Path | str, active: metrics.Metrics
) -> None:
    now = datetime.now(UTC)
    await populate(database, now)
    metrics.watch_database(reader(database))
    found = await scrape(active)
    assert found[("serialbot_serials", (("state", "active"),))] == 2
    assert found[("serialbot_serials", (("state", "paused"),))] == 2
    assert found[("serialbot_serials", (("state", "finished"),))] == 1
    reasons = {
        labels[0][1]: value
        for (name, labels), value in found.items()
        if name == "serialbot_serials_paused"
    }
    assert reasons == {"the bot is missing Send Messages in #news": 1, "holiday break": 1}
    assert found[("serialbot_due_backlog", ())] == 1
    assert found[("serialbot_oldest_due_age_seconds", ())] == pytest.approx(40 * 60, abs=30)
    assert ("serialbot_database_errors_total", (("operation", "metrics"),)) not in found

    # Read again at the next scrape, never kept: a serial resumed shows at once.
    store = await open_test_store(database)
    try:
        await store.resume(104, slot_due=now + timedelta(hours=1), next_due=None, now=now)
    finally:
        await store.close()
    again = await scrape(active)
    assert again[("serialbot_serials", (("state", "active"),))] == 3
    assert again[("serialbot_serials", (("state", "paused"),))] == 1


async def test_a_postgresql_database_without_our_tables_is_counted_as_an_error(
    postgres_url: str, active: metrics.Metrics
) -> None:
    metrics.watch_database(reader(postgres_url))
    first = await scrape(active)
    assert not any(name == "serialbot_serials" for name, _ in first)
    second = await scrape(active)
    assert second[("serialbot_database_errors_total", (("operation", "metrics"),))] == 1


async def test_an_unreachable_postgresql_server_is_counted_and_its_password_never_logged(
    active: metrics.Metrics, caplog: pytest.LogCaptureFixture, unused_tcp_port: int
) -> None:
    secret = "hunter2-not-for-logs"
    url = f"postgresql://serialbot:{secret}@127.0.0.1:{unused_tcp_port}/serialbot"
    metrics.watch_database(reader(url))
    with caplog.at_level(logging.WARNING):
        first = await scrape(active)
    assert first[("serialbot_discord_rate_limited_recent", ())] == 0  # the rest still answers
    second = await scrape(active)
    assert second[("serialbot_database_errors_total", (("operation", "metrics"),))] >= 1
    assert "cannot read the database summary" in caplog.text
    assert "serialbot:***@127.0.0.1" in caplog.text
    assert secret not in caplog.text
