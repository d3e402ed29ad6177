"""Finishing a part that an earlier attempt left half-posted, after Discord's nonce window: what
the poster takes from the channel's history, and what it must not mistake for its own earlier
attempt (a story started again, readers' messages, notices)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.frontend.poster import is_installment_start
from bot.poster import Destination, PostTransient
from bot.render import render_end, render_part
from bot.story import Serial
from tests.crash_harness import installment_posts
from tests.discord_double import DiscordDouble
from tests.discord_double.limits import NONCE_WINDOW_SECONDS
from tests.frontend_harness import (
    Harness,
    destination_of,
    lighthouse_paragraphs,
    running_bot,
    stories_folder,
    write_story,
)

LONG_AGO = NONCE_WINDOW_SECONDS + 60


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = stories_folder(tmp_path)
    write_story(folder, "lighthouse", lighthouse_paragraphs(), title="The Lighthouse")
    return folder


async def _subscribed(
    harness: Harness, channel_id: int | None = None
) -> tuple[Destination, Serial]:
    await harness.subscribe("lighthouse", channel_id=channel_id)
    sub = await harness.bot.scheduler.subscription(channel_id or harness.general)
    serial = harness.library.get("lighthouse")
    assert sub is not None and serial is not None
    return destination_of(sub), serial


def test_installment_openings_are_told_from_text_and_notices(tmp_path: Path, library: Path) -> None:
    from bot.library import Library

    serial = Library.load(library).get("lighthouse")
    assert serial is not None
    for part in serial.parts:
        rendered = render_part(serial, part)
        assert is_installment_start(rendered.header)
        assert not any(is_installment_start(m) for m in rendered.messages)
    assert is_installment_start(render_end(serial))
    # Story text is escaped, so text made to look like a header is not one.
    from bot.render import escape_text

    assert not is_installment_start(escape_text("**The End**\nor is it?"))
    assert not is_installment_start("The serial “The Lighthouse” is paused: reasons.")


async def test_a_thread_that_failed_is_opened_later_without_posting_the_text_again(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        to, serial = await _subscribed(harness)
        poster = harness.bot.poster
        discord_double.fail_next("POST", r"/messages/\d+/threads$", status=503)
        with pytest.raises(PostTransient):
            await poster.post_part(to, serial, serial.part(1), nonce="p1")
        sent = [m.id for m in installment_posts(discord_double, harness.general)]
        # Meanwhile readers talk and the bot says something else in the channel.
        await discord_double.post_as(discord_double.reader_id, harness.general, "Is that all?")
        await poster.post_notice(to, "A notice from the bot in between.")
        discord_double.advance_clock(LONG_AGO)

        delivered = await poster.resume_part(to, serial, serial.part(1), nonce="p1")

        assert list(delivered.message_ids) == sent
        [thread] = discord_double.threads(harness.general)
        assert delivered.thread_id == thread.id == sent[0]
        assert len(installment_posts(discord_double, harness.general)) == len(sent) + 1


async def test_a_part_posted_in_an_earlier_reading_is_posted_again_when_the_story_restarts(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        _, serial = await _subscribed(harness)
        await harness.until_first_post()
        for _ in serial.parts[1:]:
            await harness.advance(timedelta(days=1))
        first_reading = installment_posts(discord_double, harness.general)
        assert first_reading[-1].content == render_end(serial)

        await (await harness.invoke("serial restart", admin=True)).reply()
        # The first try of part 1 fails, so the second looks at the channel before posting.
        discord_double.fail_next("POST", rf"^/channels/{harness.general}/messages$", status=503)
        discord_double.advance_clock(LONG_AGO)
        await harness.advance(timedelta(days=1))
        await harness.advance(timedelta(minutes=2))

        delivery = await harness.bot.scheduler.posted_part(harness.general, 1)
        assert delivery is not None and delivery.attempts == 2
        again = installment_posts(discord_double, harness.general)[len(first_reading) :]
        rendered = render_part(serial, serial.part(1))
        assert [m.content for m in again] == [rendered.header, *rendered.messages]
        assert len(discord_double.threads(harness.general)) == len(serial.parts) + 1


async def test_the_closing_message_is_posted_once_however_long_apart_the_attempts(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        to, serial = await _subscribed(harness)
        poster = harness.bot.poster
        await poster.post_end(to, serial, nonce="end")
        discord_double.advance_clock(LONG_AGO)
        await discord_double.post_as(discord_double.reader_id, harness.general, "Bravo!")
        await poster.post_end(to, serial, nonce="end")

        ends = [
            m
            for m in installment_posts(discord_double, harness.general)
            if m.content == render_end(serial)
        ]
        assert len(ends) == 1


async def test_a_forum_post_half_made_is_continued_from_discord_when_the_cache_is_empty(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    forum = discord_double.channels["forum"]
    async with running_bot(discord_double, tmp_path) as harness:
        to, serial = await _subscribed(harness, forum)
        poster = harness.bot.poster
        # The post is made; the text after its opening message is made but its answer is lost.
        discord_double.fail_next("POST", r"^/channels/\d+/messages$", status=503, commit=True)
        with pytest.raises(PostTransient):
            await poster.post_part(to, serial, serial.part(1), nonce="f1")
        [post] = discord_double.threads(forum)
        made = [m.id for m in discord_double.messages(post.id)]
        # As at start-up, before the gateway has told the bot about any thread.
        for guild in harness.bot.guilds:
            guild._threads.clear()
        discord_double.advance_clock(LONG_AGO)

        delivered = await poster.resume_part(to, serial, serial.part(1), nonce="f1")

        assert discord_double.threads(forum) == [post]
        assert list(delivered.message_ids) == made
        assert delivered.thread_id == post.id
