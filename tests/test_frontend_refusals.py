"""Refusals on the wire: each is an ephemeral answer that says what to do, and changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import CommandSettings
from tests.discord_double import DiscordDouble
from tests.frontend_harness import (
    Harness,
    lighthouse_paragraphs,
    running_bot,
    stories_folder,
    write_story,
)


def _write_library(tmp_path: Path) -> None:
    folder = stories_folder(tmp_path)
    write_story(folder, "lighthouse", lighthouse_paragraphs(), title="The Lighthouse")
    write_story(
        folder,
        "night-garden",
        lighthouse_paragraphs(),
        title="The Night Garden",
        rating="mature",
        content_notes=["violence"],
    )


@pytest.fixture
async def harness(discord_double: DiscordDouble, tmp_path: Path) -> AsyncIterator[Harness]:
    _write_library(tmp_path)
    async with running_bot(discord_double, tmp_path) as harness:
        yield harness


async def _ephemeral_text(harness: Harness, path: str, options: dict | None = None, **kw) -> str:
    record = await harness.invoke(path, options, **kw)
    reply = await record.reply()
    assert record.ephemeral, f"/{path} answered publicly: {reply.content!r}"
    return reply.content


async def test_a_reader_calling_subscribe_is_refused_and_nothing_is_subscribed(
    harness: Harness,
) -> None:
    text = await _ephemeral_text(
        harness, "serial subscribe", {"story": "lighthouse", "schedule": "daily 18:00"}
    )
    assert "Manage Channels" in text
    assert await harness.bot.scheduler.subscription(harness.general) is None


@pytest.mark.parametrize(
    ("path", "options"),
    [
        ("serial unsubscribe", None),
        ("serial pause", None),
        ("serial resume", None),
        ("serial schedule", {"schedule": "daily 09:00"}),
        ("serial jump", {"part": 2}),
        ("serial restart", None),
    ],
)
async def test_every_admin_subcommand_is_checked_when_it_runs(
    harness: Harness, path: str, options: dict | None
) -> None:
    await harness.subscribe("lighthouse")
    before = await harness.bot.scheduler.subscription(harness.general)

    text = await _ephemeral_text(harness, path, options)

    assert "Manage Channels" in text
    assert await harness.bot.scheduler.subscription(harness.general) == before


async def test_subscribe_names_the_permission_the_bot_lacks_in_the_channel(
    harness: Harness,
) -> None:
    await harness.double.revoke(harness.general, "create_public_threads")

    text = await _ephemeral_text(
        harness, "serial subscribe", {"story": "lighthouse", "schedule": "daily 18:00"}, admin=True
    )

    assert "Create Public Threads" in text
    assert "Send Messages" not in text
    assert await harness.bot.scheduler.subscription(harness.general) is None


async def test_a_mature_story_is_refused_outside_an_age_restricted_channel(
    harness: Harness,
) -> None:
    text = await _ephemeral_text(
        harness,
        "serial subscribe",
        {"story": "night-garden", "schedule": "daily 18:00"},
        admin=True,
    )
    assert "age-restricted" in text
    assert await harness.bot.scheduler.subscription(harness.general) is None


async def test_a_mature_story_is_accepted_in_an_age_restricted_channel(harness: Harness) -> None:
    mature = harness.double.channels["mature"]
    record = await harness.subscribe("night-garden", channel_id=mature)
    assert not record.ephemeral
    assert await harness.bot.scheduler.subscription(mature) is not None


async def test_a_bad_schedule_is_answered_with_an_example(harness: Harness) -> None:
    text = await _ephemeral_text(
        harness,
        "serial subscribe",
        {"story": "lighthouse", "schedule": "whenever you like"},
        admin=True,
    )
    assert "daily 18:00" in text
    assert await harness.bot.scheduler.subscription(harness.general) is None


async def test_a_bad_timezone_is_answered_with_examples(harness: Harness) -> None:
    text = await _ephemeral_text(
        harness,
        "serial subscribe",
        {"story": "lighthouse", "schedule": "daily 18:00", "timezone": "Mars/Olympus"},
        admin=True,
    )
    assert "Europe/Berlin" in text


async def test_an_unknown_story_points_to_the_list(harness: Harness) -> None:
    text = await _ephemeral_text(
        harness, "serial subscribe", {"story": "no-such-story"}, admin=True
    )
    assert "/serial stories" in text


async def test_a_start_part_beyond_the_story_gives_the_valid_range(harness: Harness) -> None:
    text = await _ephemeral_text(
        harness, "serial subscribe", {"story": "lighthouse", "start_part": 99}, admin=True
    )
    serial = harness.library.get("lighthouse")
    assert serial is not None
    assert f"1 to {len(serial.parts)}" in text


async def test_subscribing_twice_says_what_the_channel_follows_and_how_to_switch(
    harness: Harness,
) -> None:
    await harness.subscribe("lighthouse")
    text = await _ephemeral_text(harness, "serial subscribe", {"story": "lighthouse"}, admin=True)
    assert "already follows" in text
    assert "The Lighthouse" in text
    assert "/serial unsubscribe" in text


async def test_reader_commands_in_an_unsubscribed_channel_say_how_to_start(
    harness: Harness,
) -> None:
    for path in ("serial next", "serial status"):
        text = await _ephemeral_text(harness, path)
        assert "/serial subscribe" in text


async def test_a_part_number_out_of_range_for_jump_gives_the_valid_range(
    harness: Harness,
) -> None:
    await harness.subscribe("lighthouse")
    text = await _ephemeral_text(harness, "serial jump", {"part": 50}, admin=True)
    assert "no part 50" in text


async def test_commands_from_direct_messages_are_refused_before_they_run(
    discord_double: DiscordDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_library(tmp_path)
    # Globally synced: Discord's client hides the guild-only group in DMs; a crafted request
    # must still be refused by the bot.
    async with running_bot(discord_double, tmp_path, commands=CommandSettings()) as harness:
        asked: list[int] = []
        real_status = harness.bot.scheduler.status

        async def spy(channel_id: int):  # type: ignore[no-untyped-def]
            asked.append(channel_id)
            return await real_status(channel_id)

        monkeypatch.setattr(harness.bot.scheduler, "status", spy)
        record = await discord_double.invoke("serial status", dm=True, override=True)
        path = rf"/interactions/{record.id}/"
        async with asyncio.timeout(5):
            while not discord_double.requests_to("POST", path):
                await asyncio.sleep(0.01)
    # The double has no DM channel to show the answer in; the bot answered without running
    # the command.
    assert asked == []


async def test_subscribing_another_channel_checks_the_bots_permissions_there(
    harness: Harness,
) -> None:
    forum = harness.double.channels["forum"]
    await harness.double.revoke(forum, "send_messages_in_threads")

    text = await _ephemeral_text(
        harness, "serial subscribe", {"story": "lighthouse", "channel": forum}, admin=True
    )

    assert "Send Messages in Threads" in text
    assert await harness.bot.scheduler.subscription(forum) is None
