"""Answers whatever the story's metadata and whatever a request carries, on the wire: a title
longer than a message still gets every command answered within Discord's limits, option values
outside their declared bounds (a forged request) are refused and change nothing, and every admin
command can act on another channel with its ``channel`` option."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.discord_double import DiscordDouble, InvokedInteraction
from tests.discord_double.limits import MESSAGE_CONTENT_MAX
from tests.frontend_harness import (
    Harness,
    lighthouse_paragraphs,
    running_bot,
    stories_folder,
    write_story,
)

LONG_TITLE = ("The Lighthouse at the End of the Longest Title " * 50)[:2100]
LONG_AUTHOR = "A. Writer-" * 60
WENT_WRONG = "something went wrong"

# (embed part, Discord's limit)
EMBED_LIMITS = {"title": 256, "description": 4096, "name": 256, "value": 1024, "footer": 2048}


def _embed_sizes(embeds: list[dict[str, Any]]) -> tuple[int, list[tuple[str, int]]]:
    total = 0
    over: list[tuple[str, int]] = []
    for embed in embeds:
        pieces = [("title", embed.get("title") or ""), ("description", embed.get("description"))]
        pieces.append(("footer", (embed.get("footer") or {}).get("text")))
        for embed_field in embed.get("fields") or []:
            pieces += [("name", embed_field.get("name")), ("value", embed_field.get("value"))]
        for key, text in pieces:
            size = len(text or "")
            total += size
            if size > EMBED_LIMITS[key]:
                over.append((key, size))
    return total, over


async def _shown(record: InvokedInteraction) -> str:
    """Everything the member was shown, after checking each message against Discord's limits
    (the double refuses a message over them: the bot would then have shown nothing)."""
    text = await record.text()
    assert record.rejected == []
    for message in record.messages:
        assert len(message.content) <= MESSAGE_CONTENT_MAX
        total, over = _embed_sizes(message.embeds)
        assert total <= 6000 and over == []
        assert not message.would_ping
    assert WENT_WRONG not in text
    return text


@pytest.fixture
async def long_titled(discord_double: DiscordDouble, tmp_path: Path) -> AsyncIterator[Harness]:
    write_story(
        stories_folder(tmp_path),
        "lighthouse",
        lighthouse_paragraphs(),
        title=LONG_TITLE,
        author=LONG_AUTHOR,
        content_notes=["peril " * 100],
    )
    async with running_bot(discord_double, tmp_path) as running:
        yield running


async def test_a_title_longer_than_a_message_leaves_every_answer_within_discords_limits(
    long_titled: Harness,
) -> None:
    harness = long_titled
    subscribed = await harness.subscribe("lighthouse")
    assert "The Lighthouse at the End" in await _shown(subscribed)
    assert await harness.bot.scheduler.subscription(harness.general) is not None

    again = await harness.invoke(
        "serial subscribe", {"story": "lighthouse", "schedule": "daily 18:00"}, admin=True
    )
    assert "already follows" in await _shown(again)
    for path, options in [
        ("serial status", {}),
        ("serial stories", {}),
        ("serial schedule", {"schedule": "daily 19:00"}),
        ("serial jump", {"part": 2}),
        ("serial jump", {"part": 40}),
        ("serial pause", {}),
        ("serial next", {}),
        ("serial status", {}),
        ("serial resume", {}),
        ("serial restart", {}),
    ]:
        text = await _shown(await harness.invoke(path, options, admin=True))
        assert text, path
    choices = await harness.double.autocomplete("serial subscribe", {"story": "light"})
    assert choices and all(len(c["name"]) <= 100 for c in choices)

    await harness.advance(timedelta(days=1))
    assert "Lighthouse" in await _shown(await harness.invoke("serial read", {"part": 1}))
    assert "Part 2 is up" in await _shown(await harness.invoke("serial next"))


async def test_a_status_paused_with_an_old_over_long_reason_is_still_shown(
    long_titled: Harness,
) -> None:
    harness = long_titled
    await harness.subscribe("lighthouse")
    # A reason stored before its length was checked, as an older version let through.
    await harness.bot.scheduler.pause(harness.general, "holiday " * 1250)
    text = await _shown(await harness.invoke("serial status"))
    assert "Paused: holiday" in text


@pytest.fixture
async def subscribed(discord_double: DiscordDouble, tmp_path: Path) -> AsyncIterator[Harness]:
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="T")
    async with running_bot(discord_double, tmp_path) as running:
        await running.subscribe("lighthouse")
        yield running


async def test_a_forged_pause_reason_over_its_declared_length_is_refused_and_changes_nothing(
    subscribed: Harness,
) -> None:
    harness = subscribed
    before = await harness.bot.scheduler.subscription(harness.general)
    record = await harness.double.invoke(
        "serial pause",
        {"reason": "x" * 10_000},
        channel_id=harness.general,
        user_id=harness.double.admin_id,
        forged=True,
    )
    text = await _shown(record)
    assert record.ephemeral and "200 characters" in text
    assert await harness.bot.scheduler.subscription(harness.general) == before
    assert "Not started — Part 1 arrives" in await _shown(await harness.invoke("serial status"))


@pytest.mark.parametrize(
    ("path", "options"),
    [
        ("serial read", {"part": 2**63}),
        ("serial read", {"part": 0}),
        ("serial jump", {"part": 2**64 + 5}),
        ("serial jump", {"part": -1}),
        ("serial subscribe", {"story": "lighthouse", "start_part": 2**63, "channel": "forum"}),
    ],
    ids=["read-2^63", "read-0", "jump-2^64", "jump-negative", "subscribe-2^63"],
)
async def test_a_forged_part_number_outside_its_range_is_no_such_part(
    subscribed: Harness, path: str, options: dict[str, Any]
) -> None:
    harness = subscribed
    if options.get("channel") == "forum":
        options = {**options, "channel": harness.double.channels["forum"]}
    before = await harness.bot.scheduler.subscription(harness.general)
    record = await harness.double.invoke(
        path, options, channel_id=harness.general, user_id=harness.double.admin_id, forged=True
    )
    text = await _shown(record)
    assert record.ephemeral and "There is no part" in text
    assert await harness.bot.scheduler.subscription(harness.general) == before
    assert await harness.bot.scheduler.subscription(harness.double.channels["forum"]) is None


ADMIN_COMMANDS = [
    ("serial pause", {"reason": "spring cleaning"}, "Paused: spring cleaning"),
    ("serial jump", {"part": 3}, "Next: Part 3"),
    ("serial schedule", {"schedule": "daily 07:00"}, "daily 07:00"),
    ("serial restart", {}, "Not started — Part 1 arrives"),
]


@pytest.mark.parametrize(("path", "options", "shown"), ADMIN_COMMANDS, ids=lambda v: str(v)[:14])
async def test_admin_commands_act_on_the_channel_they_name(
    discord_double: DiscordDouble, tmp_path: Path, path: str, options: dict[str, Any], shown: str
) -> None:
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="T")
    async with running_bot(discord_double, tmp_path) as harness:
        announcements = discord_double.channels["announcements"]
        await harness.subscribe("lighthouse", channel_id=announcements)
        await _shown(await harness.invoke(path, {**options, "channel": announcements}, admin=True))
        status = await _shown(await harness.invoke("serial status", channel_id=announcements))
        assert shown in status
        # the channel the command was typed in follows nothing and was not touched
        assert await harness.bot.scheduler.subscription(harness.general) is None


async def test_a_forum_paused_before_its_first_post_is_resumed_from_another_channel(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="T")
    async with running_bot(discord_double, tmp_path) as harness:
        forum = discord_double.channels["forum"]
        await harness.subscribe("lighthouse", channel=forum)
        await _shown(await harness.invoke("serial pause", {"channel": forum}, admin=True))
        await harness.until_first_post()
        assert discord_double.threads(forum) == []

        resumed = await harness.invoke("serial resume", {"channel": forum}, admin=True)
        assert "Resumed" in await _shown(resumed)
        await harness.advance(timedelta(days=1))
        assert len(discord_double.threads(forum)) == 1


async def test_naming_a_channel_the_member_cannot_manage_is_refused(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="T")
    async with running_bot(discord_double, tmp_path) as harness:
        announcements = discord_double.channels["announcements"]
        await harness.subscribe("lighthouse", channel_id=announcements)
        await discord_double.revoke(
            announcements, "manage_channels", user_id=discord_double.admin_id
        )
        record = await harness.invoke("serial pause", {"channel": announcements}, admin=True)
        assert "Manage Channels" in await _shown(record)
        sub = await harness.bot.scheduler.subscription(announcements)
        assert sub is not None and not sub.paused
