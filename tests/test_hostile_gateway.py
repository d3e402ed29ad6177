"""Gateway events Discord has started to send differently: a field missing, or of another type.
discord.py raises while parsing them; the bot logs it, connects again after a wait, and the
scheduler goes on: the next part is posted once, on time."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.discord_double import DiscordDouble
from tests.frontend_harness import (
    Harness,
    lighthouse_paragraphs,
    running_bot,
    stories_folder,
    write_story,
)

TIMESTAMP = "2030-06-03T12:00:00.000000+00:00"


def _message_without_author_id(double: DiscordDouble) -> dict[str, Any]:
    return {
        "id": str(double.world.new_id()),
        "channel_id": str(double.channels["general"]),
        "guild_id": str(double.guild_id),
        # discord.py skips a missing key here, but not an id that is null
        "author": {"id": None, "username": "ghost", "discriminator": "0", "global_name": None},
        "content": "hello",
        "timestamp": TIMESTAMP,
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
        "components": [],
    }


def _member_with_roles_as_objects(double: DiscordDouble) -> dict[str, Any]:
    # The bot's own member: the one member a bot without the members intent always has cached.
    return {
        "guild_id": str(double.guild_id),
        "user": double.world.users[double.bot_id].to_dict(),
        "roles": [{"id": str(double.bot_role_id), "name": "Serialbot"}],
        "nick": None,
        "avatar": None,
        "joined_at": TIMESTAMP,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
    }


def _channel_without_position(double: DiscordDouble) -> dict[str, Any]:
    return {
        "id": str(double.world.new_id()),
        "type": 0,
        "guild_id": str(double.guild_id),
        "name": "new-channel",
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
    }


MALFORMED: list[tuple[str, Callable[[DiscordDouble], dict[str, Any]]]] = [
    ("MESSAGE_CREATE", _message_without_author_id),
    ("GUILD_MEMBER_UPDATE", _member_with_roles_as_objects),
    ("CHANNEL_CREATE", _channel_without_position),
]


@pytest.mark.parametrize(("event", "payload"), MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_an_event_discord_py_cannot_parse_is_logged_and_the_next_part_still_posts_once(
    discord_double: DiscordDouble,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    event: str,
    payload: Callable[[DiscordDouble], dict[str, Any]],
) -> None:
    caplog.set_level(logging.INFO)
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="T")
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        identified = discord_double.gateway.identifies

        assert await discord_double.send_event(event, payload(discord_double)) == 1
        await discord_double.wait_until_connected(timeout=15, identified_after=identified)

        assert "could not read" in caplog.text
        await _first_part_posted_once(harness)
        # still connected and answering
        record = await harness.invoke("serial status")
        assert "Part 1 of" in (await record.reply()).content


async def _first_part_posted_once(harness: Harness) -> None:
    await harness.until_first_post()
    await harness.advance(timedelta(minutes=1))
    assert len(harness.double.threads(harness.general)) == 1
    assert harness.double.duplicate_messages() == []
    assert harness.bot.scheduler.running


async def test_a_burst_of_bad_events_reconnects_once_and_the_waits_grow(
    discord_double: DiscordDouble, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="T")
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        identified = discord_double.gateway.identifies
        for _ in range(5):
            await discord_double.send_event(
                "CHANNEL_CREATE", _channel_without_position(discord_double)
            )
        await discord_double.wait_until_connected(timeout=30, identified_after=identified)
        await asyncio.sleep(0.5)
        # one new session for the lot, not one per bad event
        assert discord_double.gateway.identifies == identified + 1
        waits = [float(w) for w in re.findall(r"connecting again in (\d+) s", caplog.text)]
        assert waits == [1, 2, 4, 8, 16]
        await _first_part_posted_once(harness)
