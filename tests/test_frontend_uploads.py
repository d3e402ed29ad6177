"""A server's own library on the wire: an admin attaches a file to ``/serial library add``, the
bot downloads it from the double's CDN, and the story can be chosen, subscribed and posted in that
server only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import CommandSettings
from tests.discord_double import DiscordDouble
from tests.discord_double.limits import MESSAGE_CONTENT_MAX, Permission
from tests.frontend_harness import (
    Harness,
    lighthouse_paragraphs,
    running_bot,
    stories_folder,
    write_story,
)

LIBRARY_COMMANDS = ("add", "preview", "edit", "replace", "remove")


def story_file(
    title: str = "The Tide Clock", *, rating: str | None = "teen", parts: int = 3
) -> bytes:
    front = f"---\ntitle: {title}\nauthor: M. Keeper\nwords_per_part: 60\n"
    if rating:
        front += f"rating: {rating}\n"
    paragraphs = [
        f"Evening {i} at the harbour began with the tide clock striking, and the keeper "
        f"counted each of the {200 + i} boats that came home against the wind."
        for i in range(1, 3 * parts + 1)
    ]
    return (front + "---\n\n" + "\n\n".join(paragraphs) + "\n").encode()


@pytest.fixture
async def harness(discord_double: DiscordDouble, tmp_path: Path) -> AsyncIterator[Harness]:
    write_story(
        stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="The Lighthouse"
    )
    async with running_bot(
        discord_double, tmp_path, commands=CommandSettings(sync_guild=None)
    ) as harness:
        yield harness


async def add(harness: Harness, filename: str, data: bytes, **options: object) -> str:
    hosted = harness.double.attachment(filename, data)
    record = await harness.invoke("serial library add", {"file": hosted, **options}, admin=True)
    text = await record.text(timeout=15)
    assert record.ephemeral
    assert all(len(m.content) <= MESSAGE_CONTENT_MAX for m in record.messages)
    return text


async def test_an_uploaded_story_is_offered_subscribed_and_posted(harness: Harness) -> None:
    text = await add(harness, "tide-clock.txt", story_file())
    entry = harness.bot.catalog.upload(harness.double.guild_id, "tide-clock")
    assert entry is not None
    assert "Added" in text and "The Tide Clock" in text
    assert f"{len(entry.serial.parts)} parts" in text
    choices = await harness.double.autocomplete(
        "serial subscribe", {"story": "tide"}, user_id=harness.double.admin_id
    )
    assert [c["value"] for c in choices] == ["tide-clock"]
    assert "this server" in choices[0]["name"]
    shared = await harness.double.autocomplete(
        "serial subscribe", {"story": "light"}, user_id=harness.double.admin_id
    )
    assert "shared" in shared[0]["name"]
    await harness.subscribe("tide-clock")
    await harness.until_first_post()
    posted = "\n".join(m.content for m in harness.bot_messages(harness.general))
    assert "Evening 1 at the harbour" in posted


async def test_stories_lists_own_uploads_marked_beside_the_shared_ones(harness: Harness) -> None:
    await add(harness, "tide-clock.txt", story_file())
    record = await harness.invoke("serial stories")
    text = await record.text()
    assert "The Tide Clock" in text and "The Lighthouse" in text
    assert "`tide-clock` · this server" in text
    assert "`lighthouse` · shared" in text


async def test_another_server_never_sees_an_upload(harness: Harness) -> None:
    double = harness.double
    await add(harness, "tide-clock.txt", story_file())
    other = await double.add_guild("Elsewhere", channels=("general",))
    role = await double.add_role("Mods", Permission.manage_channels, guild_id=other)
    mod = await double.add_member("mod", guild_id=other, roles=[role])
    channel = next(c.id for c in double.world.channels.values() if c.guild_id == other)
    choices = await double.autocomplete(
        "serial subscribe", {"story": ""}, user_id=mod, channel_id=channel
    )
    assert [c["value"] for c in choices] == ["lighthouse"]
    stories = await double.invoke("serial stories", channel_id=channel, user_id=mod)
    assert "Tide Clock" not in await stories.text()
    for typed in ("tide-clock", f"{double.guild_id}:tide-clock"):
        record = await double.invoke(
            "serial subscribe", {"story": typed}, channel_id=channel, user_id=mod
        )
        assert "There is no story" in await record.text()
    preview = await double.invoke(
        "serial library preview", {"story": "tide-clock"}, channel_id=channel, user_id=mod
    )
    assert "no story" in await preview.text()
    assert await harness.bot.store.guild_subscriptions(other) == []


async def test_readers_are_refused_every_library_command(harness: Harness) -> None:
    await add(harness, "tide-clock.txt", story_file())
    options = {
        "add": {"file": harness.double.attachment("x.txt", story_file("Other"))},
        "preview": {"story": "tide-clock"},
        "edit": {"story": "tide-clock", "rating": "general"},
        "replace": {
            "story": "tide-clock",
            "file": harness.double.attachment("y.txt", story_file()),
        },
        "remove": {"story": "tide-clock"},
    }
    for name in LIBRARY_COMMANDS:
        record = await harness.invoke(f"serial library {name}", options[name])
        text = await record.text()
        assert "Manage Channels" in text, name
        assert record.ephemeral
    for hosted in (options["add"]["file"], options["replace"]["file"]):
        assert hosted.requests == 0  # type: ignore[attr-defined]
    assert harness.bot.catalog.upload(harness.double.guild_id, "tide-clock") is not None
    choices = await harness.double.autocomplete("serial library remove", {"story": ""})
    assert choices == []
