"""Uploaded stories in the database, on SQLite and on PostgreSQL alike: one row per story holding
the file, written whole or not at all, within the server's limits, one story per slug."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.pgstore import PG_MIGRATIONS, PostgresStore
from bot.store import Store, sqlite_schema
from bot.uploads import MEGABYTE, OverQuota, SlugTaken, Upload, UploadLimits, sha256_of
from tests.postgres_server import open_test_store
from tests.test_store import add as add_subscription

NOW = datetime(2030, 6, 3, 12, 0, tzinfo=UTC)
GUILD = 111_111_111_111_111_111
OTHER = 222_222_222_222_222_222
LIMITS = UploadLimits(stories_per_server=3, bytes_per_server=MEGABYTE)


@pytest.fixture
async def store(database: Path | str) -> Any:
    opened = await open_test_store(database)
    try:
        yield opened
    finally:
        await opened.close()


def upload(slug: str = "tide", *, guild: int = GUILD, data: bytes = b"The tide.\n") -> Upload:
    return Upload(
        guild_id=guild,
        slug=slug,
        filename=f"{slug}.txt",
        sha256=sha256_of(data),
        size=len(data),
        title=slug.title(),
        meta={"rating": "teen", "content_notes": ["storms"]},
        uploaded_by=42,
        uploaded_at=NOW,
        updated_at=NOW,
        data=data,
    )


async def subscribe(store: Any, channel_id: int, slug: str, guild: int = GUILD) -> None:
    await add_subscription(store, channel_id, guild_id=guild, slug=slug)


async def test_an_upload_keeps_its_file_uploader_time_hash_and_metadata(store: Any) -> None:
    data = "Ünïcode tide.\n".encode() * 1000
    await store.uploads().add(upload(data=data), LIMITS)
    got = await store.uploads().get(GUILD, "tide")
    assert got == upload(data=data)
    assert sha256_of(got.data) == got.sha256
    listed = await store.uploads().listed()
    assert [(u.guild_id, u.slug, u.data) for u in listed] == [(GUILD, "tide", b"")]


async def test_a_second_story_under_one_slug_is_refused_per_server(store: Any) -> None:
    await store.uploads().add(upload(), LIMITS)
    with pytest.raises(SlugTaken):
        await store.uploads().add(upload(data=b"Another text.\n"), LIMITS)
    await store.uploads().add(upload(guild=OTHER), LIMITS)  # another server's slugs are its own
    assert (await store.uploads().get(GUILD, "tide")).data == b"The tide.\n"


async def test_two_uploads_of_one_slug_at_once_store_exactly_one(store: Any) -> None:
    results = await asyncio.gather(
        store.uploads().add(upload(data=b"First.\n"), LIMITS),
        store.uploads().add(upload(data=b"Second.\n"), LIMITS),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["NoneType", "SlugTaken"]
    assert (await store.uploads().usage(GUILD)).stories == 1


async def test_the_story_count_limit_says_which_limit(store: Any) -> None:
    for slug in ("a", "b", "c"):
        await store.uploads().add(upload(slug), LIMITS)
    with pytest.raises(OverQuota, match="3 of its 3 stories"):
        await store.uploads().add(upload("d"), LIMITS)
    await store.uploads().add(upload("d", guild=OTHER), LIMITS)


async def test_the_size_limit_counts_every_file_and_a_replacement_once(store: Any) -> None:
    half = b"x" * (MEGABYTE // 2)
    await store.uploads().add(upload("a", data=half), LIMITS)
    await store.uploads().add(upload("b", data=half), LIMITS)
    with pytest.raises(OverQuota, match="1 MB"):
        await store.uploads().add(upload("c", data=b"more"), LIMITS)
    # Replacing a file frees its own size first.
    assert await store.uploads().replace(upload("a", data=b"short"), LIMITS)
    with pytest.raises(OverQuota):
        await store.uploads().replace(upload("a", data=b"x" * MEGABYTE), LIMITS)
    assert (await store.uploads().get(GUILD, "a")).data == b"short"


async def test_replace_and_edit_change_only_that_story(store: Any) -> None:
    await store.uploads().add(upload("a"), LIMITS)
    await store.uploads().add(upload("b"), LIMITS)
    later = NOW + timedelta(hours=1)
    new = dataclasses.replace(upload("a", data=b"New text.\n"), updated_at=later)
    assert await store.uploads().replace(new, LIMITS)
    assert not await store.uploads().replace(upload("zzz"), LIMITS)
    assert await store.uploads().set_meta(
        GUILD, "b", title="B!", meta={"rating": "mature"}, now=later
    )
    a, b = await store.uploads().get(GUILD, "a"), await store.uploads().get(GUILD, "b")
    assert (a.data, a.updated_at, a.uploaded_at) == (b"New text.\n", later, NOW)
    assert (b.title, dict(b.meta), b.data) == ("B!", {"rating": "mature"}, b"The tide.\n")


async def test_purging_a_server_removes_its_uploads_and_progress_only(store: Any) -> None:
    await store.uploads().add(upload("a"), LIMITS)
    await store.uploads().add(upload("a", guild=OTHER), LIMITS)
    await subscribe(store, 1, f"{GUILD}:a")
    await subscribe(store, 2, "shared-story")
    await subscribe(store, 3, f"{OTHER}:a", guild=OTHER)
    await store.save_text(f"{GUILD}:a", "r1", "The tide.\n", NOW)
    await store.uploads().guild_left(GUILD, NOW)
    purged = await store.uploads().purge_guild(GUILD)
    assert (purged.uploads, purged.subscriptions) == (1, 2)
    assert await store.uploads().get(GUILD, "a") is None
    assert await store.guild_subscriptions(GUILD) == []
    assert await store.story_text(f"{GUILD}:a", "r1") is None
    assert await store.uploads().departed_before(NOW + timedelta(days=999)) == []
    assert await store.uploads().get(OTHER, "a") is not None
    assert [s.channel_id for s in await store.guild_subscriptions(OTHER)] == [3]


async def test_departures_are_kept_until_the_server_is_back(store: Any) -> None:
    await store.uploads().guild_left(GUILD, NOW)
    await store.uploads().guild_left(GUILD, NOW + timedelta(days=5))  # the first time counts
    assert await store.uploads().departed_before(NOW - timedelta(seconds=1)) == []
    assert await store.uploads().departed_before(NOW) == [GUILD]
    await store.uploads().guild_back(GUILD)
    assert await store.uploads().departed_before(NOW + timedelta(days=99)) == []


async def test_a_reopened_database_keeps_every_upload(database: Path | str) -> None:
    first = await open_test_store(database)
    try:
        for slug in ("a", "b"):
            await first.uploads().add(upload(slug, data=slug.encode() * 5000), LIMITS)
    finally:
        await first.close()
    again = await open_test_store(database)
    try:
        got = [await again.uploads().get(GUILD, s) for s in ("a", "b")]
    finally:
        await again.close()
    assert [g.data for g in got] == [b"a" * 5000, b"b" * 5000]


async def test_a_version_4_sqlite_database_gains_uploads_and_keeps_its_channels(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        for statements in sqlite_schema.MIGRATIONS[:4]:
            for statement in statements:
                db.execute(statement)
        db.execute(
            "INSERT INTO subscriptions (guild_id, channel_id, slug, revision, next_part, "
            "position, schedule, timezone, catch_up, subscribed_by, created_at, updated_at) "
            "VALUES (1, 10, 'tale', 'r1', 3, 0, 'daily 18:00', 'UTC', 'one', 9, ?, ?)",
            (NOW.isoformat(), NOW.isoformat()),
        )
    async with await Store.open(path) as store:
        assert await store.schema_version() == 5
        sub = await store.subscription(10)
        assert sub is not None and sub.next_part == 3
        await store.uploads().add(upload(), LIMITS)
        assert (await store.uploads().usage(GUILD)).stories == 1


async def test_a_version_4_postgresql_database_gains_uploads(postgres_url: str) -> None:
    db = await asyncpg.connect(postgres_url)
    try:
        await db.execute("CREATE TABLE serialbot_schema (version BIGINT NOT NULL)")
        await db.execute("INSERT INTO serialbot_schema (version) VALUES (4)")
        for statements in PG_MIGRATIONS[:4]:
            for statement in statements:
                await db.execute(statement)
    finally:
        await db.close()
    async with await PostgresStore.open(postgres_url) as store:
        assert await store.schema_version() == 5
        await store.uploads().add(upload(), LIMITS)
        assert (await store.uploads().get(GUILD, "tide")) == upload()
