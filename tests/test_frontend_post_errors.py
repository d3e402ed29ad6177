"""What each Discord answer to a post means for the serial, on the wire: a refusal (a locked
thread, a forum that requires tags) pauses it with the reason, tells the server once and is never
repeated; an unknown channel (10003) means it is gone; any other 404 is a passing failure."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.discord_double import DiscordDouble
from tests.discord_double.rest import RequestRecord
from tests.frontend_harness import (
    Harness,
    lighthouse_paragraphs,
    running_bot,
    stories_folder,
    write_story,
)

REQUIRE_TAG = 1 << 4  # the forum flag


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = stories_folder(tmp_path)
    write_story(folder, "lighthouse", lighthouse_paragraphs(), title="The Lighthouse")
    return folder


def _refused(double: DiscordDouble, code: int) -> list[RequestRecord]:
    return [r for r in double.requests if 400 <= r.status < 500 and r.code == code]


async def _notices(harness: Harness) -> list[str]:
    return [m.content for m in harness.bot_messages(harness.double.system_channel_id)]


async def test_a_forum_that_requires_tags_pauses_the_serial_once_with_the_reason(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        forum = await discord_double.add_channel("tagged", "forum", tags=["new"])
        await harness.subscribe("lighthouse", channel_id=forum)
        # After subscribing, the forum's moderators turn on "Require tags".
        channel = discord_double.channel(forum)
        channel.flags |= REQUIRE_TAG
        await discord_double.gateway.dispatch(
            "CHANNEL_UPDATE",
            discord_double.world.channel_payload(channel),
            guild_id=channel.guild_id,
        )
        await harness.until_first_post()
        await harness.advance(timedelta(days=3))

        sub = await harness.bot.scheduler.subscription(forum)
        assert sub is not None and sub.paused
        assert sub.pause_reason is not None and "tag" in sub.pause_reason
        assert len(_refused(discord_double, 40067)) == 1  # never asked again
        notices = await _notices(harness)
        assert len(notices) == 1 and "tag" in notices[0] and "/serial resume" in notices[0]


async def test_a_locked_thread_pauses_the_serial_once_with_the_reason(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        forum = discord_double.channels["forum"]
        await harness.subscribe("lighthouse", channel_id=forum)
        # The post opens, its text fails (a 503 discord.py does not retry): a retry is due.
        discord_double.fail_next("POST", r"/channels/\d+/messages$", status=503)
        await harness.until_first_post()
        [post] = discord_double.threads(forum)
        post.locked = True  # a moderator locks the post before the retry
        await discord_double.actions.thread_updated(post)
        await harness.advance(timedelta(minutes=10))
        await harness.advance(timedelta(days=3))

        sub = await harness.bot.scheduler.subscription(forum)
        assert sub is not None and sub.paused
        assert sub.pause_reason is not None and "locked" in sub.pause_reason
        assert len(_refused(discord_double, 160005)) == 1
        notices = await _notices(harness)
        assert len(notices) == 1 and "locked" in notices[0]
        assert len(discord_double.threads(forum)) == 1  # no second post was opened


async def test_a_404_without_unknown_channel_is_a_passing_failure(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        discord_double.fail_next(
            "POST", rf"/channels/{harness.general}/messages$", status=404, code=0
        )
        await harness.until_first_post()
        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and not sub.paused and sub.retry_count == 1
        await harness.advance(timedelta(minutes=10))

        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and not sub.paused and sub.next_part == 2
        assert len(discord_double.threads(harness.general)) == 1
        assert discord_double.duplicate_messages() == []
        assert await _notices(harness) == []


async def test_a_404_unknown_channel_means_the_channel_is_gone(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        discord_double.fail_next(
            "POST", rf"/channels/{harness.general}/messages$", 50, status=404, code=10003
        )
        await harness.until_first_post()
        asked = len(_refused(discord_double, 10003))
        await harness.advance(timedelta(days=1))

        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and sub.paused
        assert sub.pause_reason is not None and "deleted" in sub.pause_reason
        # the post, and the notice trying the channel before the system channel; never again
        assert asked <= 2
        assert len(_refused(discord_double, 10003)) == asked
