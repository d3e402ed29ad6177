"""Reading together on the wire: the real bot, the Discord double, component interactions.

A public vote for the next part that others join with a button (one message, edited in place),
read receipts on each part, catch-up links, reminders by DM, paging through posted parts, and
all of it after a restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import NextSettings
from bot.frontend.together import STALE_BUTTON, UNKNOWN_BUTTON, message_link
from tests.discord_double import CallbackType, DiscordDouble, Message
from tests.frontend_harness import (
    Harness,
    lighthouse_paragraphs,
    running_bot,
    stories_folder,
    write_story,
)


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = stories_folder(tmp_path)
    write_story(folder, "lighthouse", lighthouse_paragraphs(), title="The Lighthouse")
    return folder


def _quorum(needed: int) -> dict[str, Any]:
    return {"next": NextSettings(cooldown_minutes=30, quorum=needed, quorum_window_minutes=30)}


async def _until(predicate: Callable[[], Any], within: float = 10.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.01)


def _custom_ids(message: Message) -> list[str]:
    return [c["custom_id"] for row in message.components for c in row["components"]]


def _with_button(harness: Harness, channel_id: int, prefix: str) -> list[Message]:
    return [
        m
        for m in harness.bot_messages(channel_id)
        if any(i.startswith(prefix) for i in _custom_ids(m)) or m.content.startswith(prefix)
    ]


def _vote_messages(harness: Harness) -> list[Message]:
    """The bot's vote messages in #general, open or ended (by their wording)."""
    return [
        m
        for m in harness.bot_messages(harness.general)
        if not m.interaction
        and (
            any(i.startswith("serial:vote:") for i in _custom_ids(m))
            or "vote for Part" in m.content
            or " is out" in m.content
        )
    ]


def _headers(harness: Harness, channel_id: int) -> list[Message]:
    """The first message of each part: the one carrying the Read button."""
    return [
        m
        for m in harness.bot_messages(channel_id)
        if any(i.startswith("serial:read:") for i in _custom_ids(m))
    ]


async def _ask_for_next(harness: Harness) -> Message:
    """The reader's ``/serial next``, answered, and the vote message it opens."""
    await (await harness.invoke("serial next")).reply()
    [vote] = await _until(lambda: _vote_messages(harness))
    return vote


async def _member(double: DiscordDouble, name: str) -> int:
    return await double.add_member(name)


async def _settle(harness: Harness) -> None:
    await harness.bot.scheduler.idle()
    await harness.bot.reading.settled()


# --- the vote ------------------------------------------------------------------------------------


async def test_three_readers_reach_the_quorum_through_one_edited_vote_message(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path, **_quorum(3)) as harness:
        await harness.subscribe("lighthouse")
        second = await _member(discord_double, "second")
        third = await _member(discord_double, "third")

        asked = await harness.invoke("serial next")
        answer = await asked.reply()
        assert answer.ephemeral
        assert "1 of 3 readers has asked" in answer.content
        [vote] = await _until(lambda: _vote_messages(harness))
        assert vote.content.startswith(f"<@{discord_double.reader_id}> wants Part 1 now · 1 of 3")
        assert not vote.would_ping
        [vote_id] = _custom_ids(vote)

        pressed = await discord_double.click(vote.id, vote_id, user_id=second)
        assert await pressed.response() is CallbackType.deferred_update_message
        await _until(lambda: "· 2 of 3" in discord_double.message(vote.id).content)

        pressed = await discord_double.click(vote.id, vote_id, user_id=third)
        assert await pressed.response() is CallbackType.deferred_update_message
        await _until(lambda: discord_double.message(vote.id).content.startswith("Part 1 is out"))
        await _settle(harness)

        [header] = _headers(harness, harness.general)
        assert header.content.startswith("**The Lighthouse**")
        assert [m.id for m in _vote_messages(harness)] == [vote.id]  # one message, edited
        final = discord_double.message(vote.id)
        assert final.content.startswith("Part 1 is out → ")
        assert message_link(discord_double.guild_id, harness.general, header.id) in final.content
        assert final.components == []
        assert (await harness.bot.scheduler.status(harness.general)).parts_posted == 1


async def test_pressing_twice_counts_once_and_bots_never_count(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path, **_quorum(2)) as harness:
        await harness.subscribe("lighthouse")
        vote = await _ask_for_next(harness)
        [vote_id] = _custom_ids(vote)

        again = await discord_double.click(vote.id, vote_id)  # the reader who opened it
        await again.wait_for(lambda: again.followups)
        assert "already asked" in (await again.followup()).content
        assert (await again.followup()).ephemeral
        robot = discord_double.world.add_user("robot", bot=True).id
        discord_double.world.add_member(discord_double.guild_id, robot)
        by_bot = await discord_double.click(vote.id, vote_id, user_id=robot)
        assert "Only members" in (await by_bot.reply()).content
        await _settle(harness)
        assert _headers(harness, harness.general) == []
        assert "· 1 of 2" in discord_double.message(vote.id).content


async def test_a_vote_lapses_when_its_window_ends(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path, **_quorum(3)) as harness:
        await harness.subscribe("lighthouse")
        vote = await _ask_for_next(harness)
        [vote_id] = _custom_ids(vote)

        await harness.advance(timedelta(minutes=31))
        lapsed = await _until(
            lambda: (
                "lapsed" in discord_double.message(vote.id).content
                and discord_double.message(vote.id)
            )
        )
        assert lapsed.content.startswith("The vote for Part 1 lapsed: 1 of 3 asked")
        assert lapsed.components == []
        assert _headers(harness, harness.general) == []
        # the old button, pressed anyway (a client that kept it), changes nothing
        late = await discord_double.click(vote.id, vote_id, forged=True)
        assert "has ended" in (await late.reply()).content
        # and a new request opens a new vote, counting from one again
        second = await _member(discord_double, "second")
        await (await harness.invoke("serial next", user_id=second)).reply()
        await _until(lambda: len(_vote_messages(harness)) == 2)
        assert "· 1 of 3" in _vote_messages(harness)[-1].content


async def test_a_deleted_vote_message_is_posted_again_once_and_the_vote_goes_on(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path, **_quorum(4)) as harness:
        await harness.subscribe("lighthouse")
        vote = await _ask_for_next(harness)
        await discord_double.delete_message(vote.id)

        second = await _member(discord_double, "second")
        await (await harness.invoke("serial next", user_id=second)).reply()
        [again] = await _until(lambda: _vote_messages(harness))
        assert again.id != vote.id
        assert "· 2 of 4" in again.content
        await discord_double.delete_message(again.id)
        third = await _member(discord_double, "third")
        await (await harness.invoke("serial next", user_id=third)).reply()
        await _settle(harness)
        assert _vote_messages(harness) == []  # posted again only once
        # the vote still counts
        fourth = await _member(discord_double, "fourth")
        await (await harness.invoke("serial next", user_id=fourth)).reply()
        await _settle(harness)
        assert len(_headers(harness, harness.general)) == 1


@pytest.mark.discord_double(rate_limits=True)
async def test_two_hundred_presses_in_a_second_post_one_part_and_are_all_answered_in_time(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path, **_quorum(100)) as harness:
        await harness.subscribe("lighthouse")
        members = [await _member(discord_double, f"m{i}") for i in range(200)]
        vote = await _ask_for_next(harness)
        [vote_id] = _custom_ids(vote)

        started = time.monotonic()
        presses = []
        for index, member in enumerate(members):
            # Clients still show the button for a moment after the part is out: forged=True
            # lets a press through even once the message no longer carries it.
            presses.append(
                await discord_double.click(vote.id, vote_id, user_id=member, forged=True)
            )
            if index % 20 == 19:
                await asyncio.sleep(0.1)  # 200 presses spread over about a second
        for press in presses:
            await press.response(timeout=10)
        await _until(
            lambda: discord_double.message(vote.id).content.startswith("Part 1 is out"), 20
        )
        await _settle(harness)
        elapsed = time.monotonic() - started

        assert len(_headers(harness, harness.general)) == 1
        latencies = [p.latency for p in presses]
        assert all(lat is not None and lat < 3.0 for lat in latencies), max(latencies)
        assert not any(p.rejected for p in presses)
        edits = discord_double.requests_to("PATCH", rf"^/channels/{harness.general}/messages/")
        assert 1 <= len(edits) <= elapsed + 2  # at most one a second, coalesced
        assert all(r.status == 200 for r in edits)
        assert not [r for r in discord_double.requests if r.status == 429]
        final = discord_double.message(vote.id)
        assert final.content.startswith("Part 1 is out")
        assert "100 readers asked for it" in final.content


# --- read receipts -------------------------------------------------------------------------------


async def test_read_receipts_count_each_member_once_in_status_and_the_thread(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        await harness.until_first_post()
        [header] = _headers(harness, harness.general)
        [read_id] = _custom_ids(header)
        [thread] = discord_double.threads(harness.general)
        opener = discord_double.messages(thread.id)[0]
        assert opener.content.startswith("**Part 1 of 4**")
        assert "no spoilers" in opener.content

        first = await discord_double.click(header.id, read_id)
        text = (await first.reply()).content
        assert (await first.reply()).ephemeral
        assert "Marked read: Part 1 (1 reader so far)" in text
        assert "Part 2 arrives <t:" in text
        again = await discord_double.click(header.id, read_id)
        assert "already marked Part 1 read" in (await again.reply()).content
        other = await discord_double.click(header.id, read_id, user_id=discord_double.admin_id)
        assert "(2 readers so far)" in (await other.reply()).content
        await _settle(harness)

        status = await harness.invoke("serial status")
        assert "2 read Part 1" in (await status.reply()).content
        assert "✓ 2 read Part 1" in discord_double.message(opener.id).content


async def test_the_next_part_opens_its_thread_with_a_link_back_and_hands_off_the_last_one(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        await harness.until_first_post()
        await harness.advance(timedelta(days=1))
        first, second = discord_double.threads(harness.general)
        headers = _headers(harness, harness.general)
        hand_off = discord_double.messages(first.id)[-1].content
        link = message_link(discord_double.guild_id, harness.general, headers[1].id)
        assert hand_off == f"Part 2 is out → {link}"
        opener = discord_double.messages(second.id)[0].content
        assert opener.startswith("**Part 2 of 4**")
        assert f"Part 1 is discussed in <#{first.id}>." in opener


async def test_forged_and_stale_buttons_are_answered_alone_and_change_nothing(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    other_channel = await discord_double.add_channel("elsewhere")
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        await harness.until_first_post()
        [header] = _headers(harness, harness.general)
        [read_id] = _custom_ids(header)

        for custom_id in ("serial:read:s0000000000000000000000000", "serial:vote:12345", "x" * 9):
            forged = await discord_double.click(header.id, custom_id, forged=True)
            reply = await forged.reply()
            assert reply.ephemeral
            assert reply.content in (STALE_BUTTON, UNKNOWN_BUTTON)
        # another channel's button, pressed where it does not belong
        await harness.subscribe("lighthouse", channel_id=other_channel)
        moved = await discord_double.post_as(discord_double.reader_id, other_channel, "hi")
        elsewhere = await discord_double.click(moved.id, read_id, forged=True)
        assert (await elsewhere.reply()).content == STALE_BUTTON
        # a part of a channel that has since unsubscribed
        await (await harness.invoke("serial unsubscribe", admin=True)).reply()
        stale = await discord_double.click(header.id, read_id)
        assert (await stale.reply()).content == STALE_BUTTON
        assert await harness.bot.reading.core.read_counts(harness.general) == {}


# --- catch-up and paging -------------------------------------------------------------------------


async def test_catchup_links_the_unread_parts_and_marks_them_all_read(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        await harness.until_first_post()
        await harness.advance(timedelta(days=1))
        first, second = _headers(harness, harness.general)
        threads = discord_double.threads(harness.general)
        await (await discord_double.click(first.id, _custom_ids(first)[0])).reply()

        catchup = await harness.invoke("serial catchup")
        answer = await catchup.reply()
        assert answer.ephemeral
        guild, channel = discord_double.guild_id, harness.general
        assert message_link(guild, channel, second.id) in answer.content
        assert f"<#{threads[1].id}>" in answer.content
        assert message_link(guild, channel, first.id) not in answer.content
        [mark_all] = _custom_ids(answer)
        pressed = await discord_double.click(answer.id, mark_all)
        assert await pressed.response() is CallbackType.update_message
        assert "Marked 1 part read, up to Part 2" in discord_double.message(answer.id).content

        done = await harness.invoke("serial catchup")
        assert "up to date" in (await done.reply()).content


async def test_next_part_button_pages_through_posted_parts_only(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        await harness.until_first_post()
        await harness.advance(timedelta(days=1))

        read = await harness.invoke("serial read", {"part": 1})
        await read.reply()
        last = await _until(lambda: [m for m in read.messages if _custom_ids(m)])
        [page] = _custom_ids(last[-1])
        assert page == f"serial:page:{harness.general}:2"
        pressed = await discord_double.click(last[-1].id, page)
        shown = await pressed.text()
        assert "Part 2 of 4" in shown
        assert not [m for m in pressed.messages if _custom_ids(m)]  # part 3 is not out yet
        future = await discord_double.click(
            last[-1].id, f"serial:page:{harness.general}:3", forged=True
        )
        assert "has not been posted here yet" in await future.text()


# --- reminders -----------------------------------------------------------------------------------


async def test_reminders_arrive_by_dm_once_per_part_and_a_closed_dm_is_told_once(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    closed = await _member(discord_double, "closed")
    discord_double.close_dms(closed)
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        for member in (discord_double.reader_id, closed):
            on = await harness.invoke("serial remind", {"setting": "on"}, user_id=member)
            assert "I will DM you" in (await on.reply()).content
        await harness.until_first_post()
        await harness.advance(timedelta(days=1))

        dms = discord_double.dms(discord_double.reader_id)
        headers = _headers(harness, harness.general)
        guild, channel = discord_double.guild_id, harness.general
        assert [m.content for m in dms] == [
            f"Part {n} of “The Lighthouse” is out in #general: "
            + message_link(guild, channel, headers[n - 1].id)
            for n in (1, 2)
        ]
        # a closed DM was tried once, then no more
        assert discord_double.dms(closed) == []
        refused = [
            r
            for r in discord_double.requests
            if r.method == "POST" and r.path.startswith("/channels/") and r.status == 403
        ]
        assert len(refused) == 1
        told = await harness.invoke("serial status", user_id=closed)
        notice = await told.followup()
        assert notice.ephemeral and "could not DM you" in notice.content
        quiet = await harness.invoke("serial status", user_id=closed)
        await quiet.reply()
        await _settle(harness)
        assert len(quiet.messages) == 1  # told once

        off = await harness.invoke("serial remind", {"setting": "off"})
        assert "No more DMs" in (await off.reply()).content
        await harness.advance(timedelta(days=1))
        assert len(discord_double.dms(discord_double.reader_id)) == 2


async def test_a_member_who_left_loses_their_reminders(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    leaving = await _member(discord_double, "leaving")
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        await (await harness.invoke("serial remind", {"setting": "on"}, user_id=leaving)).reply()
        await discord_double.remove_member(leaving)
        await harness.until_first_post()
        assert await harness.store.reminders_on(harness.general) == []


# --- after a restart -----------------------------------------------------------------------------


async def test_buttons_from_before_a_restart_still_work(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path, **_quorum(2)) as harness:
        await harness.subscribe("lighthouse")
        await harness.until_first_post()
        vote = await _ask_for_next(harness)
        [header] = _headers(harness, harness.general)
    async with running_bot(discord_double, tmp_path, **_quorum(2)) as harness:
        read = await discord_double.click(header.id, _custom_ids(header)[0])
        assert "Marked read: Part 1" in (await read.reply()).content
        pressed = await discord_double.click(
            vote.id, _custom_ids(vote)[0], user_id=discord_double.admin_id
        )
        assert await pressed.response() is CallbackType.deferred_update_message
        await _until(lambda: discord_double.message(vote.id).content.startswith("Part 2 is out"))
        await _settle(harness)
        assert len(_headers(harness, harness.general)) == 2


async def test_in_a_forum_the_vote_is_shown_in_the_latest_part_post(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    forum = discord_double.channels["forum"]
    async with running_bot(discord_double, tmp_path, **_quorum(2)) as harness:
        await harness.subscribe("lighthouse", channel=forum)
        await harness.until_first_post()
        [post] = discord_double.threads(forum)
        asked = await harness.invoke("serial next", channel_id=post.id)
        await asked.reply()
        vote = await _until(
            lambda: [m for m in harness.bot_messages(post.id) if "wants Part 2" in m.content]
        )
        [vote_id] = _custom_ids(vote[0])
        pressed = await discord_double.click(vote[0].id, vote_id, user_id=discord_double.admin_id)
        assert await pressed.response() is CallbackType.deferred_update_message
        await _until(lambda: discord_double.message(vote[0].id).content.startswith("Part 2 is out"))
        _, second = discord_double.threads(forum)
        link = message_link(discord_double.guild_id, second.id, second.id)  # the post's opening
        assert link in discord_double.message(vote[0].id).content
