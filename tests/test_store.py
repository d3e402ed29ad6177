from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.shards import ShardSet
from bot.store import (
    SCHEMA_VERSION,
    Store,
    StoreError,
    Subscription,
    SubscriptionExists,
    sqlite_schema,
)
from tests.postgres_server import open_test_store

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def store(database: Path | str) -> Any:
    """The store under test, once on SQLite and once on PostgreSQL (``database`` fixture)."""
    opened = await open_test_store(database)
    try:
        yield opened
    finally:
        await opened.close()


async def add(store: Store, channel_id: int = 10, **changes: Any) -> Subscription:
    fields: dict[str, Any] = {
        "guild_id": 1,
        "channel_id": channel_id,
        "slug": "tale",
        "revision": "r1",
        "next_part": 1,
        "position": 0,
        "schedule": "daily 18:00",
        "timezone": "Europe/Berlin",
        "slot_due": NOW + timedelta(hours=4),
        "catch_up": "one",
        "subscribed_by": 99,
        "thread_archive_minutes": None,
        "now": NOW,
    }
    fields.update(changes)
    return await store.create_subscription(**fields)


def pragma(path: Path, name: str) -> Any:
    with sqlite3.connect(path) as db:
        return db.execute(f"PRAGMA {name}").fetchone()[0]


# --- opening and migrations ----------------------------------------------------------------------


async def test_open_creates_the_folder_and_migrates_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "serial.sqlite3"
    async with await Store.open(path) as store:
        assert await store.count_subscriptions() == 0
    assert path.exists()
    assert pragma(path, "user_version") == SCHEMA_VERSION
    assert pragma(path, "journal_mode") == "wal"


async def test_open_migrates_an_existing_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "serial.sqlite3"
    path.touch()
    async with await Store.open(path):
        pass
    assert pragma(path, "user_version") == SCHEMA_VERSION


async def test_reopening_keeps_data_and_does_not_migrate_again(tmp_path: Path) -> None:
    path = tmp_path / "serial.sqlite3"
    async with await Store.open(path) as store:
        await add(store)
    async with await Store.open(path) as store:
        assert (await store.subscription(10)) is not None
    assert pragma(path, "user_version") == SCHEMA_VERSION


async def test_foreign_keys_are_enforced(store: Store) -> None:
    sub = await add(store)
    await store.begin_delivery(sub, part=1, nonce="n1", trigger="schedule", now=NOW)
    await store.delete_subscription(10)
    assert await store.deliveries(10) == []


async def test_a_newer_schema_is_refused_naming_file_and_versions(tmp_path: Path) -> None:
    path = tmp_path / "serial.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError) as caught:
        await Store.open(path)
    message = str(caught.value)
    assert str(path) in message
    assert "99" in message
    assert f"up to {SCHEMA_VERSION}" in message
    assert pragma(path, "user_version") == 99


async def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "serial.sqlite3"
    path.write_bytes(b"this is not sqlite, just some text " * 100)
    with pytest.raises(StoreError, match="not a serialbot database"):
        await Store.open(path)


async def test_a_failing_migration_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "serial.sqlite3"
    async with await Store.open(path) as store:
        await add(store)
    broken = (
        "CREATE TABLE extra (id INTEGER PRIMARY KEY)",
        "ALTER TABLE no_such_table ADD COLUMN x INTEGER",
        f"PRAGMA user_version = {SCHEMA_VERSION + 1}",
    )
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", (*sqlite_schema.MIGRATIONS, broken))
    with pytest.raises(StoreError, match="nothing was changed"):
        await Store.open(path)
    assert pragma(path, "user_version") == SCHEMA_VERSION
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "extra" not in tables


async def test_every_migration_records_its_version() -> None:
    for number, statements in enumerate(sqlite_schema.MIGRATIONS, start=1):
        assert statements[-1] == f"PRAGMA user_version = {number}"


# --- subscriptions -------------------------------------------------------------------------------


async def test_subscription_round_trips_with_aware_utc_times(store: Store) -> None:
    created = await add(store, thread_archive_minutes=1440)
    loaded = await store.subscription(10)
    assert loaded == created
    assert loaded.next_due == NOW + timedelta(hours=4)
    assert loaded.slot_due == loaded.next_due
    assert loaded.next_due.tzinfo is not None
    assert loaded.created_at == NOW
    assert loaded.thread_archive_minutes == 1440
    assert (loaded.paused, loaded.completed, loaded.retry_count) == (False, False, 0)


async def test_naive_datetimes_are_rejected(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await add(store, now=datetime(2024, 5, 1, 12, 0))


async def test_one_running_subscription_per_channel(store: Store) -> None:
    await add(store)
    with pytest.raises(SubscriptionExists) as caught:
        await add(store, slug="other")
    assert caught.value.existing.slug == "tale"
    assert await store.count_subscriptions() == 1


async def test_a_finished_subscription_is_replaced_by_a_new_one(store: Store) -> None:
    old = await add(store)
    await store.mark_completed(old.id, NOW)
    new = await add(store, slug="other")
    assert new.id != old.id
    assert (await store.subscription(10)) == new


async def test_pause_guild_pauses_only_running_subscriptions_of_that_guild(store: Store) -> None:
    await add(store, 1, guild_id=7)
    await add(store, 2, guild_id=7)
    done = await add(store, 3, guild_id=7)
    await store.mark_completed(done.id, NOW)
    await add(store, 4, guild_id=8)
    assert await store.pause_guild(7, "removed", NOW) == 2
    paused = {c: (await store.subscription(c)).paused for c in (1, 2, 3)}
    assert paused == {1: True, 2: True, 3: False}
    assert not (await store.subscription(4)).paused


async def test_delete_removes_deliveries_and_votes(store: Store) -> None:
    sub = await add(store)
    await store.begin_delivery(sub, part=1, nonce="n", trigger="schedule", now=NOW)
    await store.add_vote(10, 5, now=NOW, since=NOW - timedelta(minutes=30))
    deleted = await store.delete_subscription(10)
    assert deleted is not None and deleted.id == sub.id
    assert await store.subscription(10) is None
    assert await store.deliveries(10) == []
    # Member 5's request went with the subscription: a new one is counted alone.
    assert await store.add_vote(10, 6, now=NOW, since=NOW - timedelta(minutes=30)) == 1
    assert await store.delete_subscription(10) is None


# --- due query -----------------------------------------------------------------------------------


async def test_due_returns_running_due_subscriptions_earliest_first(store: Store) -> None:
    await add(store, 1, slot_due=NOW + timedelta(minutes=3))
    await add(store, 2, slot_due=NOW + timedelta(minutes=1))
    await add(store, 3, slot_due=NOW + timedelta(hours=2))
    await add(store, 4, slot_due=NOW)
    await store.pause(4, "admin", NOW)
    done = await add(store, 5, slot_due=NOW)
    await store.mark_completed(done.id, NOW)
    due = await store.due(NOW + timedelta(minutes=5), 10)
    assert [s.channel_id for s in due] == [2, 1]
    assert await store.next_due_after(NOW + timedelta(minutes=5)) == NOW + timedelta(hours=2)
    [earliest] = await store.due(NOW + timedelta(days=365), 1)
    assert earliest.next_due == NOW + timedelta(minutes=1)


async def test_due_pages_by_keyset_without_repeats(store: Store) -> None:
    for channel in range(1, 8):
        await add(store, channel, slot_due=NOW)
    first = await store.due(NOW, 3)
    last = first[-1]
    second = await store.due(NOW, 3, after=(last.next_due, last.id))
    third = await store.due(NOW, 3, after=(second[-1].next_due, second[-1].id))
    seen = [s.channel_id for s in first + second + third]
    assert seen == list(range(1, 8))


async def test_due_work_is_kept_to_the_servers_of_the_given_shards(store: Store) -> None:
    # Guild ids whose shard (id >> 22) % 3 is 0, 1 and 2, one subscription each.
    for channel, guild in ((1, 3 << 22), (2, 4 << 22), (3, 5 << 22)):
        await add(store, channel, guild_id=guild, slot_due=NOW + timedelta(minutes=channel))
    later = NOW + timedelta(hours=1)
    mine = ShardSet.of(3, [0, 2])
    assert [s.channel_id for s in await store.due(later, 10, shards=mine)] == [1, 3]
    assert [s.channel_id for s in await store.due(later, 10)] == [1, 2, 3]
    assert await store.next_due_after(NOW, shards=ShardSet.of(3, [1])) == NOW + timedelta(minutes=2)
    [first] = await store.due(later, 1, shards=ShardSet.of(3, [2]))
    assert first.next_due == NOW + timedelta(minutes=3)
    for channel in (1, 2):
        sub = await store.subscription(channel)
        assert sub is not None
        await store.begin_delivery(sub, part=1, nonce=f"n{channel}", trigger="schedule", now=NOW)
    assert [d.channel_id for d in await store.pending_deliveries(shards=mine)] == [1]
    assert [d.channel_id for d in await store.pending_deliveries()] == [1, 2]


async def test_due_query_reads_the_partial_index(store: Store) -> None:
    plan = await store.explain_due(NOW)
    # A range search on the partial index: rows that are not due are never read.
    if isinstance(store, Store):
        assert plan == ["SEARCH subscriptions USING INDEX subscriptions_due (next_due<?)"]
    else:
        assert "Index Scan using subscriptions_due on subscriptions" in plan[1]
        assert plan[2].strip().startswith("Index Cond: (next_due <=")


# --- deliveries ----------------------------------------------------------------------------------


async def test_begin_delivery_is_idempotent_and_keeps_the_first_nonce(store: Store) -> None:
    sub = await add(store)
    first = await store.begin_delivery(sub, part=1, nonce="first", trigger="request", now=NOW)
    again = await store.begin_delivery(sub, part=1, nonce="second", trigger="schedule", now=NOW)
    assert again == first
    assert (again.state, again.nonce, again.trigger) == ("pending", "first", "request")
    assert await store.pending_deliveries() == [first]


async def test_begin_delivery_records_nothing_when_the_subscription_changed_since_read(
    store: Store,
) -> None:
    read = await add(store)
    await store.pause(10, "admin", NOW + timedelta(minutes=1))
    assert await store.begin_delivery(read, part=1, nonce="n", trigger="schedule", now=NOW) is None
    assert await store.pending_deliveries() == []
    await store.delete_subscription(10)
    assert await store.begin_delivery(read, part=1, nonce="n", trigger="schedule", now=NOW) is None


async def test_a_transaction_whose_caller_is_cancelled_is_done_whole_or_not_at_all(
    store: Store,
) -> None:
    sub = await add(store)
    delivery = await store.begin_delivery(sub, part=1, nonce="n", trigger="schedule", now=NOW)
    assert delivery is not None
    completing = asyncio.ensure_future(
        store.complete_delivery(
            delivery.id,
            subscription_id=sub.id,
            part=1,
            message_ids=(11,),
            thread_id=None,
            posted_at=NOW,
            next_part=2,
            position=120,
            slot_due=NOW + timedelta(days=1),
            next_due=NOW + timedelta(days=1),
        )
    )
    await asyncio.sleep(0)  # handed to the database thread
    completing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await completing
    # Reads have a connection of their own: first let the writer finish what it was handed.
    await store.schema_version()
    after = await store.subscription(10)
    posted = await store.delivery(10, 1)
    assert after is not None and posted is not None
    assert (after.next_part, posted.state) in {(1, "pending"), (2, "posted")}


async def test_a_transaction_cancelled_as_it_begins_leaves_the_store_writable(
    store: Store,
) -> None:
    await add(store)
    for turns in range(4):  # cancelled at BEGIN, at its first statement, ...
        moving = asyncio.ensure_future(
            store.reset_progress(
                10,
                next_part=2,
                position=5,
                revision="r1",
                slot_due=NOW,
                next_due=NOW,
                now=NOW,
            )
        )
        for _ in range(turns):
            await asyncio.sleep(0)
        moving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await moving
    # A transaction left open would swallow this change (never committed, never read back).
    paused = await store.pause(10, "still writable", NOW)
    assert paused is not None and paused.paused
    read = await store.subscription(10)
    assert read is not None and read.paused and read.pause_reason == "still writable"


async def test_complete_delivery_records_and_advances_in_one_step(store: Store) -> None:
    sub = await add(store)
    delivery = await store.begin_delivery(sub, part=1, nonce="n", trigger="schedule", now=NOW)
    later = NOW + timedelta(hours=5)
    updated = await store.complete_delivery(
        delivery.id,
        subscription_id=sub.id,
        part=1,
        message_ids=(11, 12),
        thread_id=11,
        posted_at=later,
        next_part=2,
        position=120,
        slot_due=later + timedelta(days=1),
        next_due=later + timedelta(days=1),
    )
    assert (updated.next_part, updated.position, updated.retry_count) == (2, 120, 0)
    posted = await store.delivery(10, 1)
    assert posted is not None
    assert (posted.state, posted.message_ids, posted.thread_id) == ("posted", (11, 12), 11)
    assert posted.posted_at == later
    assert await store.pending_deliveries() == []
    assert [d.state for d in await store.deliveries(10)] == ["posted"]


async def test_complete_delivery_rolls_back_when_progress_moved(store: Store) -> None:
    sub = await add(store)
    delivery = await store.begin_delivery(sub, part=1, nonce="n", trigger="schedule", now=NOW)
    with pytest.raises(StoreError, match="no longer at part 3"):
        await store.complete_delivery(
            delivery.id,
            subscription_id=sub.id,
            part=3,
            message_ids=(1,),
            thread_id=None,
            posted_at=NOW,
            next_part=4,
            position=0,
            slot_due=None,
            next_due=None,
        )
    assert (await store.delivery(10, 1)).state == "pending"
    assert (await store.subscription(10)).next_part == 1


async def test_a_part_cannot_be_recorded_posted_twice(store: Store) -> None:
    sub = await add(store)
    delivery = await store.begin_delivery(sub, part=1, nonce="n", trigger="schedule", now=NOW)
    kwargs: dict[str, Any] = {
        "subscription_id": sub.id,
        "part": 1,
        "message_ids": (1,),
        "thread_id": None,
        "posted_at": NOW,
        "next_part": 2,
        "position": 10,
        "slot_due": None,
        "next_due": None,
    }
    await store.complete_delivery(delivery.id, **kwargs)
    with pytest.raises(StoreError, match="not pending"):
        await store.complete_delivery(delivery.id, **kwargs)


async def test_last_request_post_counts_only_request_posts(store: Store) -> None:
    sub = await add(store)
    for part, trigger in ((1, "request"), (2, "schedule")):
        delivery = await store.begin_delivery(
            sub, part=part, nonce=f"n{part}", trigger=trigger, now=NOW
        )
        sub = await store.complete_delivery(
            delivery.id,
            subscription_id=sub.id,
            part=part,
            message_ids=(part,),
            thread_id=None,
            posted_at=NOW + timedelta(minutes=part),
            next_part=part + 1,
            position=part * 10,
            slot_due=None,
            next_due=None,
        )
    assert await store.last_request_post(10) == NOW + timedelta(minutes=1)


async def test_reset_progress_starts_a_new_run_and_forgets_parts_ahead(store: Store) -> None:
    sub = await add(store)
    for part in (1, 2, 3):
        delivery = await store.begin_delivery(
            sub, part=part, nonce=f"n{part}", trigger="schedule", now=NOW
        )
        sub = await store.complete_delivery(
            delivery.id,
            subscription_id=sub.id,
            part=part,
            message_ids=(part,),
            thread_id=None,
            posted_at=NOW,
            next_part=part + 1,
            position=part * 10,
            slot_due=NOW,
            next_due=NOW,
        )
    await store.begin_delivery(sub, part=4, nonce="n4", trigger="schedule", now=NOW)
    moved = await store.reset_progress(
        10, next_part=2, position=10, revision="r1", slot_due=NOW, next_due=NOW, now=NOW
    )
    assert moved is not None
    assert (moved.next_part, moved.position, moved.run) == (2, 10, sub.run + 1)
    assert [d.part for d in await store.deliveries(10)] == [1]


async def test_remap_revision_renumbers_a_pending_part_and_keeps_its_nonce(store: Store) -> None:
    sub = await add(store)
    for part in (1, 2):
        delivery = await store.begin_delivery(
            sub, part=part, nonce=f"n{part}", trigger="schedule", now=NOW
        )
        sub = await store.complete_delivery(
            delivery.id,
            subscription_id=sub.id,
            part=part,
            message_ids=(part,),
            thread_id=None,
            posted_at=NOW,
            next_part=part + 1,
            position=part * 10,
            slot_due=NOW,
            next_due=NOW,
        )
    await store.begin_delivery(sub, part=3, nonce="n3", trigger="schedule", now=NOW)
    remapped = await store.remap_revision(sub.id, revision="r2", next_part=2, now=NOW)
    assert remapped is not None
    assert (remapped.revision, remapped.next_part) == ("r2", 2)
    parts = {d.part: (d.state, d.nonce) for d in await store.deliveries(10)}
    assert parts == {1: ("posted", "n1"), 2: ("pending", "n3")}


# --- "next" requests -----------------------------------------------------------------------------


async def test_votes_count_distinct_members_within_the_window(store: Store) -> None:
    window = timedelta(minutes=30)
    await add(store)
    assert await store.add_vote(10, 1, now=NOW, since=NOW - window) == 1
    assert await store.add_vote(10, 1, now=NOW, since=NOW - window) == 1
    assert await store.add_vote(10, 2, now=NOW, since=NOW - window) == 2
    later = NOW + timedelta(minutes=31)
    assert await store.add_vote(10, 3, now=later, since=later - window) == 1
    await store.clear_votes(10)
    assert await store.add_vote(10, 1, now=later, since=later - window) == 1


async def test_votes_are_kept_per_channel(store: Store) -> None:
    window = NOW - timedelta(minutes=30)
    await store.add_vote(1, 5, now=NOW, since=window)
    assert await store.add_vote(2, 5, now=NOW, since=window) == 1


async def test_an_unusable_folder_is_reported_with_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match=re.escape(str(blocker / "serial.sqlite3"))):
        await Store.open(blocker / "serial.sqlite3")


# --- following edits -----------------------------------------------------------------------------


async def test_story_texts_are_kept_once_and_dropped_when_no_channel_follows_them(
    store: Store,
) -> None:
    text = "A story of some length. " * 2000
    await add(store, 10, revision="r1")
    assert await store.save_text("tale", "r1", text, NOW)
    assert not await store.save_text("tale", "r1", "other", NOW)  # the first is kept
    assert await store.save_text("tale", "r0", "older", NOW)
    assert await store.story_text("tale", "r1") == text
    assert await store.story_text("tale", "r9") is None

    assert await store.forget_texts() == 1  # r0: no channel follows it
    assert await store.story_text("tale", "r0") is None
    assert await store.story_text("tale", "r1") == text


async def test_remap_revision_records_the_place_and_the_channels_own_parts(store: Store) -> None:
    sub = await add(store, 10, next_part=3, position=500)
    remapped = await store.remap_revision(
        sub.id, revision="r2", next_part=3, now=NOW, part_count=5, position=900, cuts=(0, 420, 900)
    )
    assert remapped is not None
    assert (remapped.revision, remapped.position, remapped.cuts) == ("r2", 900, (0, 420, 900))
    restarted = await store.reset_progress(
        10, next_part=1, position=0, revision="r2", slot_due=NOW, next_due=NOW, now=NOW
    )
    assert restarted is not None and restarted.cuts is None


async def test_a_catch_up_policy_of_its_own_and_back_to_the_configured_one(store: Store) -> None:
    sub = await add(store, 10)
    assert not sub.catch_up_own
    own = await store.set_catch_up(10, "skip", NOW)
    assert own is not None and (own.catch_up, own.catch_up_own) == ("skip", True)
    back = await store.set_catch_up(10, None, NOW)
    assert back is not None and not back.catch_up_own


async def test_a_pause_for_a_missing_story_is_told_apart_and_resume_clears_it(
    store: Store,
) -> None:
    await add(store, 10)
    paused = await store.pause(10, "the story is gone", NOW, cause="story")
    assert paused is not None and paused.pause_cause == "story"
    resumed = await store.resume(10, slot_due=NOW, next_due=NOW, now=NOW)
    assert resumed is not None and (resumed.paused, resumed.pause_cause) == (False, None)
    by_admin = await store.pause(10, "holiday", NOW)
    assert by_admin is not None and by_admin.pause_cause is None


async def test_subscriptions_from_before_follow_the_configured_catch_up_policy(
    tmp_path: Path,
) -> None:
    path = tmp_path / "serial.sqlite3"
    with sqlite3.connect(path) as db:
        for migration in sqlite_schema.MIGRATIONS[:2]:
            for statement in migration:
                db.execute(statement)
        db.execute(
            """
            INSERT INTO subscriptions (guild_id, channel_id, slug, revision, next_part, position,
                schedule, timezone, catch_up, subscribed_by, created_at, updated_at)
            VALUES (1, 10, 'tale', 'r1', 2, 40, 'daily 18:00', 'UTC', 'all', 5, ?, ?)
            """,
            (NOW.isoformat(), NOW.isoformat()),
        )
    async with await Store.open(path) as store:
        sub = await store.subscription(10)
    assert sub is not None
    assert (sub.catch_up, sub.catch_up_own, sub.cuts, sub.pause_cause) == ("all", False, None, None)
