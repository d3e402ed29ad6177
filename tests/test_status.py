"""`serialbot status` and the database summary behind the metrics, on a database with serials
in every state."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import status
from bot.overview import read_only, summary
from bot.store import Store


async def subscribe(
    store: Store, channel_id: int, *, due: datetime, now: datetime, part: int = 1
) -> None:
    await store.create_subscription(
        guild_id=7,
        channel_id=channel_id,
        slug="lighthouse",
        revision="r1",
        next_part=part,
        position=0,
        schedule="daily 18:00",
        timezone="UTC",
        slot_due=due,
        catch_up="one",
        subscribed_by=1,
        thread_archive_minutes=None,
        now=now - timedelta(days=3),
        part_count=5,
    )


@pytest.fixture
def now() -> datetime:
    # Taken when the test starts: status reads the real clock, within a second of this.
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def database(tmp_path: Path, now: datetime) -> Path:
    path = tmp_path / "serialbot.sqlite3"
    store = await Store.open(path)
    await subscribe(store, 101, due=now + timedelta(hours=2), now=now, part=2)
    # Due half an hour ago and not yet posted.
    await subscribe(store, 102, due=now - timedelta(minutes=30), now=now, part=3)
    await subscribe(store, 103, due=now - timedelta(minutes=5), now=now)
    await subscribe(store, 104, due=now + timedelta(hours=1), now=now)
    await subscribe(store, 105, due=now + timedelta(hours=1), now=now)
    await store.pause(103, "the bot is missing Send Messages in #news", now)
    await store.pause(104, "holiday break", now)
    sub = await store.subscription(105)
    assert sub is not None
    await store.mark_completed(sub.id, now)
    await store.close()
    return path


def test_the_summary_counts_states_reasons_and_the_due_backlog(
    database: Path, now: datetime
) -> None:
    with read_only(database) as db:
        found = summary(db, now)
    assert found.serials == {"active": 2, "paused": 2, "finished": 1}
    assert found.paused == {"the bot is missing Send Messages in #news": 1, "holiday break": 1}
    # Paused and finished serials are not waiting, however overdue.
    assert found.due == 1
    assert found.oldest_due_seconds == pytest.approx(30 * 60, abs=1)


def test_status_lists_every_subscription_with_part_next_post_state_and_reason(
    database: Path, tmp_path: Path, now: datetime
) -> None:
    config = tmp_path / "serialbot.yaml"
    config.write_text(f"database: {database}\n", encoding="utf-8")
    out = io.StringIO()
    assert status.main(argparse.Namespace(config=config), out=out) == 0
    text = out.getvalue()
    assert (
        "5 subscriptions: 2 active, 2 paused, 1 finished · 1 due now (oldest waiting 30 min)"
        in text
    )
    rows = {line.split()[1]: line for line in text.splitlines() if line.startswith("7 ")}
    assert set(rows) == {"101", "102", "103", "104", "105"}
    assert "2 of 5" in rows["101"] and " active" in rows["101"]
    assert (now + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M") in rows["101"]
    assert "3 of 5" in rows["102"] and "(due)" in rows["102"]
    assert "paused" in rows["103"] and "missing Send Messages in #news" in rows["103"]
    assert "paused" in rows["104"] and "holiday break" in rows["104"]
    assert "finished" in rows["105"] and "done" in rows["105"]
