"""``serialbot check`` and ``serialbot status`` read the servers' uploads from the database, on
SQLite and on PostgreSQL, without changing it: ``check`` reads every upload again through the
loaders and checks it met when it was uploaded (one that no longer loads is a problem, and the
others are still read), ``status`` says what each server keeps and how many channels follow
each story."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hashlib
import io
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import check, status
from bot.config import load_config
from bot.defaults import stories_folder
from bot.storage import open_store
from bot.uploads import Upload, UploadLimits, load_upload, sha256_of, size_of
from tests.story_formats import Work
from tests.test_frontend_uploads import story_file

GUILD = 412345678901234567
OTHER = 412345678901234999
NOW = datetime(2030, 6, 3, 12, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(guild_id: int, slug: str, data: bytes, **meta: object) -> Upload:
    return Upload(
        guild_id=guild_id,
        slug=slug,
        filename=f"{slug}.txt",
        sha256=sha256_of(data),
        size=len(data),
        title=str(meta.get("title", slug)),
        meta=meta,
        uploaded_by=1,
        uploaded_at=NOW,
        updated_at=NOW,
        data=data,
    )


@pytest.fixture
def config(tmp_path: Path, database: Path | str) -> Path:
    """A configuration with the bundled story in its folder and ``database`` holding three
    uploads of one server (the middle one no longer loads) and one of another, with channels
    following two of them and the folder's story."""
    folder = tmp_path / "stories"
    folder.mkdir()
    for name in ("you-left.txt", "you-left.yaml"):
        shutil.copy(stories_folder() / name, folder / name)
    path = tmp_path / "serialbot.yaml"
    path.write_text(f"stories: {folder}\ndatabase: {database}\n", encoding="utf-8")
    asyncio.run(_fill(path))
    return path


async def _fill(path: Path) -> None:
    store = await open_store(load_config(path))
    try:
        uploads = store.uploads()
        limits = UploadLimits()
        await uploads.add(upload(GUILD, "a-tide", story_file("The Tide Clock")), limits)
        await uploads.add(upload(GUILD, "b-broken", PNG, title="Was Fine Once"), limits)
        await uploads.add(upload(GUILD, "c-quiet", story_file("Quiet", rating=None)), limits)
        await uploads.add(upload(OTHER, "a-tide", story_file("Elsewhere", parts=2)), limits)
        for channel, slug in [(11, f"{GUILD}:a-tide"), (12, f"{GUILD}:a-tide"), (13, "you-left")]:
            await store.create_subscription(
                guild_id=GUILD,
                channel_id=channel,
                slug=slug,
                revision="r1",
                next_part=1,
                position=0,
                schedule="daily 18:00",
                timezone="UTC",
                slot_due=NOW + timedelta(hours=6),
                catch_up="one",
                subscribed_by=1,
                thread_archive_minutes=None,
                now=NOW,
                part_count=3,
            )
    finally:
        await store.close()


def run(main: object, config: Path) -> tuple[int, str]:
    out = io.StringIO()
    code = main(argparse.Namespace(config=config), out=out)  # type: ignore[operator]
    return code, out.getvalue()


def rows(text: str, first: str) -> dict[str, str]:
    """Table lines starting with ``first``, by their second column."""
    return {line.split()[1]: line for line in text.splitlines() if line.startswith(first + " ")}


def test_check_loads_every_upload_and_names_the_one_that_no_longer_loads(
    config: Path, database: Path | str
) -> None:
    before = _fingerprint(database)
    code, text = run(check.main, config)
    assert code == check.EXIT_PROBLEMS, text
    assert "Uploads: 4 stories of 2 servers in the database, 1 that no longer loads" in text
    mine = rows(text, str(GUILD))
    assert set(mine) == {"a-tide", "b-broken", "c-quiet"}
    assert "The Tide Clock" in mine["a-tide"] and "teen" in mine["a-tide"]
    # Cut as at upload time: the file's own words_per_part, the configuration's tolerance.
    expected = load_upload(f"{GUILD}:a-tide", "a-tide.txt", story_file("The Tide Clock"), {})
    cells = mine["a-tide"].split()
    assert str(len(expected.serial.parts)) in cells and f"{expected.serial.story.words:,}" in cells
    assert f"{-(-len(story_file('The Tide Clock')) // 1024)} kB" in mine["a-tide"]
    # Read after the broken one: one broken upload never stops the others.
    assert "Quiet" in mine["c-quiet"] and "unrated" in mine["c-quiet"]
    assert "Was Fine Once" in mine["b-broken"] and "PNG" in mine["b-broken"]
    theirs = rows(text, str(OTHER))
    other = load_upload(f"{OTHER}:a-tide", "a-tide.txt", story_file("Elsewhere", parts=2), {})
    assert "Elsewhere" in theirs["a-tide"]
    assert str(len(other.serial.parts)) in theirs["a-tide"].split()
    assert len(other.serial.parts) != len(expected.serial.parts)
    problems = text.split("Problems (1):", 1)[1]
    assert f"upload b-broken of server {GUILD} (b-broken.txt) no longer loads" in problems
    assert "a PNG image" in problems and "/serial library replace story:b-broken" in problems
    assert _fingerprint(database) == before


def test_check_passes_when_every_upload_loads(config: Path, database: Path | str) -> None:
    asyncio.run(_remove(config, GUILD, "b-broken"))
    code, text = run(check.main, config)
    assert code == check.EXIT_OK, text
    assert "Uploads: 3 stories of 2 servers in the database, 0 that no longer load" in text


async def _remove(config: Path, guild_id: int, slug: str) -> None:
    store = await open_store(load_config(config))
    try:
        assert await store.uploads().remove(guild_id, slug)
    finally:
        await store.close()


def test_status_shows_each_servers_uploads_and_who_follows_each_story(
    config: Path, database: Path | str
) -> None:
    before = _fingerprint(database)
    code, text = run(status.main, config)
    assert code == status.EXIT_OK, text
    assert "3 subscriptions: 3 active, 0 paused, 0 finished" in text
    assert "Stories: 1 in the stories folder" in text and "4 uploaded by 2 servers" in text
    kept = len(story_file("The Tide Clock")) + len(PNG) + len(story_file("Quiet", rating=None))
    assert f"  server {GUILD}: 3 of 25 stories, {size_of(kept)} of 50 MB" in text
    assert f"  server {OTHER}: 1 of 25 stories" in text
    table = text.split("Stories:", 1)[1].split("\n\n", 1)[1]
    stories = [line.split() for line in table.splitlines()[2:]]
    followed = {(cells[0], cells[1]): int(cells[-1]) for cells in stories}
    assert followed == {
        ("you-left", "shared"): 1,
        ("a-tide", str(GUILD)): 2,
        ("b-broken", str(GUILD)): 0,
        ("c-quiet", str(GUILD)): 0,
        ("a-tide", str(OTHER)): 0,
    }
    assert _fingerprint(database) == before


def _fingerprint(database: Path | str) -> str:
    """What the database holds, to tell that reading it changed nothing."""
    if isinstance(database, Path):
        return hashlib.sha256(database.read_bytes()).hexdigest()
    return asyncio.run(_pg_fingerprint(database))


async def _pg_fingerprint(url: str) -> str:
    import asyncpg

    db = await asyncpg.connect(url)
    try:
        tables = await db.fetch(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() ORDER BY 1"
        )
        found = []
        for (name,) in tables:
            digest = await db.fetchval(
                f"SELECT md5(string_agg(t::text, chr(10) ORDER BY t::text)) FROM {name} t"
            )
            found.append(f"{name}:{digest}")
        return "\n".join(found)
    finally:
        await db.close()


def test_a_damaged_file_in_the_database_is_named_and_the_rest_still_read(
    config: Path, database: Path | str
) -> None:
    _execute(database, f"UPDATE uploads SET data = {_BYTE} WHERE slug = 'a-tide'")
    code, text = run(check.main, config)
    assert code == check.EXIT_PROBLEMS
    assert "Uploads: 4 stories of 2 servers in the database, 3 that no longer load" in text
    problems = text.split("Problems (3):", 1)[1]
    for guild_id in (GUILD, OTHER):
        assert f"upload a-tide of server {guild_id} (a-tide.txt) no longer loads" in problems
    assert problems.count("is damaged") == 2
    assert "Quiet" in rows(text, str(GUILD))["c-quiet"]


_BYTE = "X'00'"


def _execute(database: Path | str, sql: str) -> None:
    if isinstance(database, Path):
        with contextlib.closing(sqlite3.connect(database)) as db, db:
            db.execute(sql)
        return

    async def execute() -> None:
        import asyncpg

        db = await asyncpg.connect(database)
        try:
            await db.execute(sql.replace(_BYTE, "'\\x00'::bytea"))
        finally:
            await db.close()

    asyncio.run(execute())


def test_check_warns_of_what_a_reader_would_notice_in_an_upload(
    config: Path, database: Path | str
) -> None:
    work = Work(rating="Not Rated", chapters=[("One", ["The fog lay thick."] * 5)])
    data = work.html_download().encode()
    notrated = dataclasses.replace(upload(OTHER, "fog", data), filename="fog.html")
    asyncio.run(_add(config, notrated))
    _, text = run(check.main, config)
    assert "mature" in rows(text, str(OTHER))["fog"]
    warnings = text.split("Warnings (", 1)[1].split("Problems", 1)[0]
    assert f"server {OTHER}: fog.html: " in warnings and "Not Rated" in warnings


async def _add(config: Path, new: Upload) -> None:
    store = await open_store(load_config(config))
    try:
        await store.uploads().add(new, UploadLimits())
    finally:
        await store.close()
