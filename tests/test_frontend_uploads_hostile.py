"""Hostile uploads on the wire: every bad file, option or download gets an ephemeral answer
within Discord's limits saying what is wrong and what to do; nothing is half-stored and the
server's other stories are untouched."""

from __future__ import annotations

import asyncio
import dataclasses
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import CommandSettings
from tests.discord_double import DiscordDouble, InvokedInteraction
from tests.discord_double.attachments import HostedFile
from tests.discord_double.limits import INTERACTION_DEADLINE_SECONDS, MESSAGE_CONTENT_MAX
from tests.frontend_harness import Harness, running_bot
from tests.shared_texts import TEXTS
from tests.story_formats import write_epub
from tests.test_frontend_uploads import story_file

MIB = 1024 * 1024


@pytest.fixture
async def harness(discord_double: DiscordDouble, tmp_path: Path) -> AsyncIterator[Harness]:
    (tmp_path / "stories").mkdir()
    async with running_bot(
        discord_double, tmp_path, commands=CommandSettings(sync_guild=None)
    ) as harness:
        kept = await attach(harness, "kept.txt", story_file("Kept Safe"))
        assert "Added" in await kept.text(timeout=15)
        yield harness


async def attach(
    harness: Harness, filename: str, data: bytes, *, forged: bool = False, **options: Any
) -> InvokedInteraction:
    hosted = options.pop("hosted", None) or harness.double.attachment(filename, data)
    return await harness.double.invoke(
        "serial library add",
        {"file": hosted, **options},
        channel_id=harness.general,
        user_id=harness.double.admin_id,
        forged=forged,
    )


async def refused(harness: Harness, record: InvokedInteraction, *fragments: str) -> str:
    text = await record.text(timeout=15)
    assert record.ephemeral
    assert record.latency is not None and record.latency < INTERACTION_DEADLINE_SECONDS
    assert all(len(m.content) <= MESSAGE_CONTENT_MAX for m in record.messages)
    assert "Added" not in text
    for fragment in fragments:
        assert fragment in text
    # Nothing half-stored; the other story untouched.
    guild = harness.double.guild_id
    assert [e.slug for e in harness.bot.catalog.uploads(guild)] == ["kept"]
    listed = await harness.bot.store.uploads().listed(guild)
    assert [u.slug for u in listed] == ["kept"]
    return text


def bomb(tmp_path: Path) -> bytes:
    path = write_epub(tmp_path / "bomb.epub", title="B", author="A", pages=[("c", "C", "<p>x</p>")])
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("OEBPS/c.xhtml", b"<p>" + b"a " * 20_000_000 + b"</p>")
    return path.read_bytes()


CASES: dict[str, tuple[str, bytes, tuple[str, ...]]] = {
    "word document": ("story.docx", b"PK\x03\x04junk", ("`.docx` files cannot", ".txt")),
    "no suffix": ("story", b"text", ("without a suffix", ".epub")),
    "zip named txt": ("story.txt", b"PK\x03\x04" + b"\x00" * 50, ("zip archive", "rename it")),
    "text named epub": ("story.epub", b"Just words.\n", ("not an EPUB", "rename it to .txt")),
    "png named txt": ("story.txt", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, ("a PNG image",)),
    "nul bytes": ("story.txt", b"words\x00\x01\x02" * 20, ("binary data", "cannot be used")),
    "html named txt": ("story.txt", b"<!DOCTYPE html><html><p>x</p>", ("holds an HTML page",)),
    "white space": ("story.txt", b" \n\n\t \n", ("empty",)),
    "utf-16": ("story.txt", "Hello there.\n".encode("utf-16"), ("UTF-16", "save it as UTF-8")),
    "undecidable encoding": (
        "story.txt",
        bytes(range(0x80, 0x100)) * 8,
        ("not UTF-8", "save it as UTF-8"),
    ),
    "front matter only": ("story.md", b"---\ntitle: X\n---\n", ("no story text",)),
    "unknown field": ("story.md", b"---\nfoo: 1\n---\n\nText.\n", ("unknown field 'foo'",)),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_bad_file_is_refused_saying_what_is_wrong(harness: Harness, case: str) -> None:
    filename, data, fragments = CASES[case]
    await refused(harness, await attach(harness, filename, data), *fragments)


@pytest.mark.filterwarnings("ignore:Duplicate name")
async def test_an_epub_zip_bomb_is_refused(harness: Harness, tmp_path: Path) -> None:
    record = await attach(harness, "bomb.epub", bomb(tmp_path))
    await refused(harness, record, "zip bomb")


async def test_an_empty_file_is_refused_before_download(harness: Harness) -> None:
    hosted = harness.double.attachment("empty.txt", b"")
    await refused(harness, await attach(harness, "", b"", hosted=hosted), "empty")
    assert hosted.requests == 0


async def test_a_200_mb_file_is_refused_from_its_declared_size(harness: Harness) -> None:
    hosted = harness.double.attachment("huge.txt", b"small", size=200 * MIB)
    text = await refused(harness, await attach(harness, "", b"", hosted=hosted), "200 MB", "8 MB")
    assert "shorter" in text
    assert hosted.requests == 0


@pytest.mark.parametrize(
    ("serve", "fragment"),
    [("fail", "HTTP 500"), ("truncate", "Upload the file again"), ("hang", "took longer than")],
)
async def test_a_download_that_fails_or_hangs_is_answered(
    harness: Harness, serve: Any, fragment: str
) -> None:
    harness.bot.upload_limits = dataclasses.replace(harness.bot.upload_limits, download_seconds=1)
    hosted: HostedFile = harness.double.attachment("tide.txt", story_file(), serve=serve)
    text = await refused(harness, await attach(harness, "", b"", hosted=hosted), fragment)
    assert "Upload the file again" in text
    assert hosted.requests == 1


async def test_a_size_that_lied_is_caught(harness: Harness) -> None:
    hosted = harness.double.attachment("tide.txt", story_file(), size=100)
    await refused(harness, await attach(harness, "", b"", hosted=hosted), "instead of 100")


@pytest.mark.parametrize(
    ("slug", "fragment"),
    [
        ("../../etc/passwd", "no spaces, dots, slashes or colons"),
        ("a/b", "lowercase letters, digits and hyphens"),
        ("C:\\story", "lowercase letters, digits and hyphens"),
        ("two words", "lowercase letters, digits and hyphens"),
        ("x" * 65, "1 to 64 characters"),
    ],
)
async def test_a_slug_with_path_characters_is_refused(
    harness: Harness, slug: str, fragment: str
) -> None:
    record = await attach(harness, "tide.txt", story_file(), slug=slug, forged=True)
    await refused(harness, record, fragment)


async def test_a_title_with_a_mention_is_refused(harness: Harness) -> None:
    record = await attach(harness, "tide.txt", story_file(), title="Hi @everyone")
    await refused(harness, record, "mention", "without it")
    mention_in_file = story_file("<@123456789012345678> and friends")
    record = await attach(harness, "tide.txt", mention_in_file)
    await refused(harness, record, "file's title holds a mention", "`title` option")


async def test_a_5000_character_title_is_refused(harness: Harness) -> None:
    record = await attach(harness, "tide.txt", story_file(), title="T" * 5000, forged=True)
    await refused(harness, record, "5,000 characters")
    record = await attach(harness, "tide.txt", story_file("L" * 5000))
    await refused(harness, record, "5,000 characters long", "`title` option")


async def test_two_admins_uploading_one_slug_at_once_store_one(harness: Harness) -> None:
    double = harness.double
    second_admin = await double.add_member("admin2", roles=[double.admin_role_id])
    records = await asyncio.gather(
        attach(harness, "tide.txt", story_file("First")),
        double.invoke(
            "serial library add",
            {"file": double.attachment("tide.txt", story_file("Second"))},
            channel_id=harness.general,
            user_id=second_admin,
        ),
    )
    texts = [await r.text(timeout=15) for r in records]
    assert sum("Added" in t for t in texts) == 1
    assert sum("already has a story `tide`" in t for t in texts) == 1
    listed = await harness.bot.store.uploads().listed(double.guild_id)
    assert sorted(u.slug for u in listed) == ["kept", "tide"]
    stored = await harness.bot.store.uploads().get(double.guild_id, "tide")
    entry = harness.bot.catalog.upload(double.guild_id, "tide")
    assert entry is not None and stored is not None
    assert entry.serial.story.title == stored.title


async def test_a_server_over_its_limits_is_told_which_before_any_download(
    harness: Harness,
) -> None:
    limits = harness.bot.upload_limits
    harness.bot.upload_limits = dataclasses.replace(limits, stories_per_server=1)
    hosted = harness.double.attachment("tide.txt", story_file())
    text = await refused(harness, await attach(harness, "", b"", hosted=hosted), "1 of its 1")
    assert "stories" in text and hosted.requests == 0
    harness.bot.upload_limits = dataclasses.replace(limits, bytes_per_server=2000)
    hosted = harness.double.attachment("tide.txt", story_file())
    await refused(harness, await attach(harness, "", b"", hosted=hosted), "of its 0.0 MB")


async def test_an_unrated_story_is_kept_but_cannot_be_subscribed_until_rated(
    harness: Harness,
) -> None:
    record = await attach(harness, "quiet.txt", story_file("Quiet", rating=None))
    text = await record.text(timeout=15)
    assert "Added" in text and "unrated" in text
    refusal = await harness.invoke(
        "serial subscribe", {"story": "quiet", "schedule": "daily 18:00"}, admin=True
    )
    assert "has no rating yet" in await refusal.text()
    assert await harness.bot.store.subscription(harness.general) is None
    edit = await harness.invoke(
        "serial library edit", {"story": "quiet", "rating": "general"}, admin=True
    )
    assert "rating: general" in await edit.text(timeout=15)
    await harness.subscribe("quiet")
    assert await harness.bot.store.subscription(harness.general) is not None


async def test_a_file_read_as_windows_1252_says_so(harness: Harness) -> None:
    assert TEXTS is not None, "the Project Gutenberg test texts are missing"
    data = (TEXTS / "jekyll-hyde_43-0_cp1252.txt").read_bytes()
    record = await attach(harness, "jekyll.txt", data, rating="teen")
    text = await record.text(timeout=30)
    assert "Added" in text
    assert "Windows-1252" in text and "save the file as UTF-8" in text
