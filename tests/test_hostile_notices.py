"""Telling someone when posting stops: a forum serial paused before its first post in a server
without a system channel reaches the admin who subscribed it by direct message, and a database
that stops taking writes while the bot runs shows in ``/serial status`` and is told to the
server once (not once an hour), then posting goes on when it can write again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.discord_double import DiscordDouble
from tests.frontend_harness import (
    Harness,
    lighthouse_paragraphs,
    running_bot,
    stories_folder,
    write_story,
)


async def test_a_forum_paused_before_its_first_post_tells_the_admin_who_subscribed_it(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    double = discord_double
    # a server whose system channel was turned off
    double.world.guild(double.guild_id).system_channel_id = None
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="T")
    async with running_bot(double, tmp_path) as harness:
        forum = double.channels["forum"]
        await harness.subscribe("lighthouse", channel=forum)
        await double.revoke(forum, "send_messages")
        await harness.until_first_post()
        assert double.threads(forum) == []
        sub = await harness.bot.scheduler.subscription(forum)
        assert sub is not None and sub.paused

        dm = double.world.dm_channel(double.admin_id).id
        [told] = double.messages(dm)
        assert f"<#{forum}>" in told.content and "paused" in told.content
        assert not told.would_ping

        await double.grant(forum, "send_messages")
        resumed = await harness.invoke("serial resume", {"channel": forum}, admin=True)
        assert "Resumed" in (await resumed.reply()).content
        await harness.advance(timedelta(days=1))
        assert len(double.threads(forum)) == 1


async def _stop_writes(harness: Harness, stopped: bool) -> None:
    # What a disk remounted read-only looks like to the bot: SQLite refuses every write on its
    # open connection ("attempt to write a readonly database"), reads go on.
    await harness.store._db.execute(f"PRAGMA query_only = {'ON' if stopped else 'OFF'}")


async def test_a_database_that_stops_taking_writes_is_shown_and_told_once(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    double = discord_double
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="T")
    async with running_bot(double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        told_before = len(harness.bot_messages(harness.general))
        await _stop_writes(harness, True)

        for _ in range(3):
            await harness.advance(timedelta(days=1))
        assert double.threads(harness.general) == []
        notices = [
            m for m in harness.bot_messages(harness.general)[told_before:] if m.interaction is None
        ]
        assert len(notices) == 1 and "cannot be written" in notices[0].content

        status = await (await harness.invoke("serial status")).reply()
        assert "database cannot be written" in status.content
        paused = await harness.invoke("serial pause", admin=True)
        answer = (await paused.reply()).content
        assert "database cannot be written" in answer and "went wrong" not in answer

        await _stop_writes(harness, False)
        await harness.advance(timedelta(days=1))
        assert len(double.threads(harness.general)) == 1
        status = await (await harness.invoke("serial status")).reply()
        assert "cannot be written" not in status.content
