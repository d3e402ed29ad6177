"""What only the PostgreSQL store has to do: mirror SQLite's schema migration for migration, let
several processes open (and migrate) one database at once, and say so when the server cannot be
reached, then carry on once it can. Everything else runs against both stores in test_store.py
and the scheduler suites."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from bot.config import load_config
from bot.pgstore import PG_MIGRATIONS, PostgresStore, inspect, redact
from bot.storage import StoreUnavailable, describe_database, open_store
from bot.store import SCHEMA_VERSION, Store, StoreError
from tests.postgres_server import throwaway_server

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


async def _columns_pg(url: str) -> dict[str, set[str]]:
    db = await asyncpg.connect(url)
    try:
        rows = await db.fetch(
            """
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name NOT LIKE 'serialbot%'
            """
        )
    finally:
        await db.close()
    tables: dict[str, set[str]] = {}
    for row in rows:
        tables.setdefault(row["table_name"], set()).add(row["column_name"])
    return tables


def _columns_sqlite(path: Path) -> dict[str, set[str]]:
    with sqlite3.connect(path) as db:
        names = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {n: {r[1] for r in db.execute(f"PRAGMA table_info({n})")} for n in names}


async def test_both_dialects_have_the_same_numbered_migrations_and_columns(
    postgres_url: str, tmp_path: Path
) -> None:
    # A migration added to one dialect only fails here: every schema change needs both.
    assert len(PG_MIGRATIONS) == SCHEMA_VERSION
    async with await PostgresStore.open(postgres_url) as store:
        assert await store.schema_version() == SCHEMA_VERSION
    async with await Store.open(tmp_path / "s.sqlite3"):
        pass
    assert await _columns_pg(postgres_url) == _columns_sqlite(tmp_path / "s.sqlite3")


async def test_processes_opening_one_new_database_at_once_migrate_it_once(
    postgres_url: str,
) -> None:
    stores = await asyncio.gather(*(PostgresStore.open(postgres_url) for _ in range(4)))
    try:
        assert [await s.schema_version() for s in stores] == [SCHEMA_VERSION] * 4
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    assert await inspect(postgres_url) == SCHEMA_VERSION


async def test_a_newer_schema_is_refused(postgres_url: str) -> None:
    async with await PostgresStore.open(postgres_url):
        pass
    db = await asyncpg.connect(postgres_url)
    await db.execute("UPDATE serialbot_schema SET version = $1", SCHEMA_VERSION + 5)
    await db.close()
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 5}"):
        await PostgresStore.open(postgres_url)


async def test_an_unreachable_server_is_reported_without_the_password() -> None:
    with pytest.raises(StoreUnavailable) as caught:
        await PostgresStore.open("postgresql://bot:s3cret@127.0.0.1:1/serialbot")
    assert "s3cret" not in str(caught.value) and "127.0.0.1:1" in str(caught.value)
    with pytest.raises(StoreUnavailable):
        await inspect("postgresql://bot:s3cret@127.0.0.1:1/serialbot", connect_seconds=2)
    assert redact("postgresql://bot:s3cret@h/db") == "postgresql://bot:***@h/db"
    assert redact("postgresql://bot@h/db") == "postgresql://bot@h/db"


async def test_a_lost_connection_is_replaced(postgres_url: str, postgres_server: str) -> None:
    async with await PostgresStore.open(postgres_url) as store:
        assert await store.count_subscriptions() == 0
        admin = await asyncpg.connect(postgres_server)
        try:
            # What a server restart does to every open connection.
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
        finally:
            await admin.close()
        # The pool notices the dead connections: a call either works on a new one or says the
        # database is unavailable, and one soon works again.
        outcomes: list[int | None] = []
        for _ in range(50):
            try:
                outcomes.append(await store.count_subscriptions())
                break
            except StoreUnavailable:
                outcomes.append(None)
                await asyncio.sleep(0.05)
        assert outcomes[-1] == 0
        assert store.write_problem is None
        assert await store.due(NOW + timedelta(days=1), 10) == []


async def test_a_server_that_goes_away_makes_calls_fail_as_unavailable(
    postgres_server: str,
) -> None:
    with throwaway_server() as url:
        store = await PostgresStore.open(url)
        await store.count_subscriptions()
    try:
        with pytest.raises(StoreUnavailable):
            await store.count_subscriptions()
        assert store.write_problem is not None
        with pytest.raises(StoreUnavailable):
            await store.due(NOW, 10)
    finally:
        await asyncio.wait_for(store.close(), 10)


async def test_the_configuration_chooses_the_store(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None, environ={"SERIALBOT_DATABASE": postgres_url})
    store = await open_store(config)
    try:
        assert isinstance(store, PostgresStore)
    finally:
        await store.close()
    assert describe_database(config) == postgres_url
    config = load_config(None, environ={"SERIALBOT_DATABASE": "here.sqlite3"})
    store = await open_store(config)
    try:
        assert isinstance(store, Store)
    finally:
        await store.close()


@pytest.mark.parametrize("reachable", [True, False])
def test_check_reports_the_database_and_its_schema(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reachable: bool
) -> None:
    import argparse
    import io

    from bot import check

    (tmp_path / "stories").mkdir()
    (tmp_path / "stories" / "tale.txt").write_text("One. " * 300, encoding="utf-8")
    config = tmp_path / "serialbot.yaml"
    config.write_text(f"stories: {tmp_path / 'stories'}\n", encoding="utf-8")
    url = postgres_url if reachable else "postgresql://bot:pw@127.0.0.1:1/x"
    monkeypatch.setenv("SERIALBOT_DATABASE", url)
    out = io.StringIO()
    code = check.main(argparse.Namespace(config=config), out=out)
    text = out.getvalue()
    if reachable:
        assert code == 0, text
        assert "reachable, empty (tables are created on first run)" in text
    else:
        assert code == 1
        assert "not reachable" in text and ":pw@" not in text


# --- claims and the shared request budget ------------------------------------------------------


async def test_a_channel_is_claimed_by_one_process_until_its_claim_runs_out(
    postgres_url: str,
) -> None:
    async with await PostgresStore.open(postgres_url) as store:
        assert await store.claim(7, "a", now=100.0, until=160.0)
        assert await store.claim(7, "a", now=110.0, until=170.0)  # its own: renewed
        assert not await store.claim(7, "b", now=120.0, until=180.0)
        assert await store.claim_holder(7, now=120.0) == "a"
        # a stopped answering: once its claim has run out, b takes over, and a cannot renew
        assert await store.claim(7, "b", now=171.0, until=231.0)
        assert not await store.renew_claim(7, "a", until=240.0)
        await store.release_claim(7, "a")  # not a's to release
        assert await store.claim_holder(7, now=200.0) == "b"
        await store.release_claim(7, "b")
        assert await store.claim_holder(7, now=200.0) is None
        assert await store.claim(7, "c", now=200.0, until=260.0)


async def test_processes_racing_for_a_channel_get_it_once(postgres_url: str) -> None:
    stores = await asyncio.gather(*(PostgresStore.open(postgres_url) for _ in range(4)))
    try:
        for channel in range(20):
            won = await asyncio.gather(
                *(s.claim(channel, f"p{i}", now=1.0, until=100.0) for i, s in enumerate(stores))
            )
            assert sum(won) == 1, won
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_the_request_budget_spaces_every_process_slots_on_one_grid(
    postgres_url: str,
) -> None:
    stores = await asyncio.gather(*(PostgresStore.open(postgres_url) for _ in range(3)))
    interval = 0.02
    try:
        waits = await asyncio.gather(
            *(s.reserve_request(interval, now=1000.0) for s in stores for _ in range(50))
        )
        # idle time is not saved up: a reservation long after the last starts at "now"
        later = await stores[0].reserve_request(interval, now=5000.0)
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    ordered = sorted(waits)
    assert ordered[0] == 0.0 and len(set(ordered)) == 150
    assert all(b - a == pytest.approx(interval) for a, b in itertools.pairwise(ordered))
    assert later == 0.0
