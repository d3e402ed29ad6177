"""``serialbot migrate --to postgresql://…`` copies an SQLite install into PostgreSQL, every
table and row, and the bot then carries on there as it would have on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import cli
from bot.pgstore import PostgresStore
from bot.store import Store

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


async def _install(path: Path) -> None:
    """An SQLite install in use: a running serial with parts posted and one pending, a paused
    one, a finished one, and votes."""
    async with await Store.open(path) as store:
        for channel in (10, 11, 12):
            sub = await store.create_subscription(
                guild_id=channel * 1_000_000_000_000,
                channel_id=channel,
                slug="tale",
                revision="r1",
                next_part=1,
                position=0,
                schedule="daily 18:00",
                timezone="Europe/Berlin",
                slot_due=NOW,
                catch_up="one",
                subscribed_by=99,
                thread_archive_minutes=1440,
                now=NOW,
                part_count=3,
            )
            for part in (1, 2):
                delivery = await store.begin_delivery(
                    sub, part=part, nonce=f"n{channel}-{part}", trigger="schedule", now=NOW
                )
                assert delivery is not None
                sub = await store.complete_delivery(
                    delivery.id,
                    subscription_id=sub.id,
                    part=part,
                    message_ids=(channel * 100 + part, channel * 100 + part + 50),
                    thread_id=channel * 100 + part,
                    posted_at=NOW + timedelta(days=part),
                    next_part=part + 1,
                    position=part * 100,
                    slot_due=NOW + timedelta(days=part + 1),
                    next_due=NOW + timedelta(days=part + 1),
                )
        await store.begin_delivery(sub, part=3, nonce="pending", trigger="request", now=NOW)
        await store.pause(11, "holiday", NOW)
        finished = await store.subscription(10)
        assert finished is not None
        await store.mark_completed(finished.id, NOW)
        await store.add_vote(11, 5, now=NOW, since=NOW - timedelta(hours=1))
        await store.add_vote(11, 6, now=NOW, since=NOW - timedelta(hours=1))


async def test_migrate_copies_every_record_and_the_bot_carries_on_there(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "serialbot.sqlite3"
    await _install(path)
    code = await _run(["migrate", "--from", str(path), "--to", postgres_url])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "subscriptions: 3 rows copied, 3 found in PostgreSQL" in out
    assert "deliveries: 7 rows copied, 7 found in PostgreSQL" in out
    assert "next_requests: 2 rows copied" in out

    async with await Store.open(path) as old, await PostgresStore.open(postgres_url) as new:
        for channel in (10, 11, 12):
            assert await new.subscription(channel) == await old.subscription(channel)
            assert await new.deliveries(channel) == await old.deliveries(channel)
            assert [d.attempts for d in await new.deliveries(channel)] == [
                d.attempts for d in await old.deliveries(channel)
            ]
        assert await new.count_votes(11, since=NOW - timedelta(hours=1)) == 2
        assert await new.pending_deliveries() == await old.pending_deliveries()
        # New rows continue after the copied ids.
        sub = await new.create_subscription(
            guild_id=1,
            channel_id=99,
            slug="tale",
            revision="r1",
            next_part=1,
            position=0,
            schedule="daily 18:00",
            timezone="UTC",
            slot_due=NOW,
            catch_up="one",
            subscribed_by=1,
            thread_archive_minutes=None,
            now=NOW,
        )
        assert sub.id == 4


async def test_migrate_refuses_a_database_that_holds_data_and_a_bad_target(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "serialbot.sqlite3"
    await _install(path)
    assert await _run(["migrate", "--from", str(path), "--to", postgres_url]) == 0
    capsys.readouterr()
    assert await _run(["migrate", "--from", str(path), "--to", postgres_url]) == 1
    assert "already holds subscriptions" in capsys.readouterr().err
    assert await _run(["migrate", "--from", str(path), "--to", str(tmp_path / "x.db")]) == 1
    assert "--to must be a postgresql:// URL" in capsys.readouterr().err
    missing = ["migrate", "--from", str(tmp_path / "none.sqlite3"), "--to", postgres_url]
    assert await _run(missing) == 1
    assert "there is no SQLite database" in capsys.readouterr().err
    unreachable = ["migrate", "--from", str(path), "--to", "postgresql://u:pw@127.0.0.1:1/x"]
    assert await _run(unreachable) == 1
    err = capsys.readouterr().err
    assert "cannot reach" in err.lower() and ":pw@" not in err


async def _run(argv: list[str]) -> int:
    """The command line, run on a thread of its own (it runs its own event loop)."""
    import asyncio

    return await asyncio.to_thread(cli.main, argv)
