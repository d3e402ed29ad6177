"""How parts reach Discord: plain channels, announcement channels, forums, long parts, mentions
that must not ping, repeats after a crash, and what each Discord failure turns into."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ThreadSettings
from bot.poster import ChannelGone, Destination, PostForbidden, PostTransient
from bot.render import render_part
from bot.story import Serial
from tests.discord_double import DiscordDouble
from tests.discord_double.limits import MESSAGE_CONTENT_MAX, ChannelType
from tests.frontend_harness import (
    Harness,
    destination_of,
    lighthouse_paragraphs,
    running_bot,
    stories_folder,
    write_story,
)


def _long_paragraph() -> str:
    """One paragraph of about 3,600 characters: more than a message can hold."""
    return " ".join(
        f"Sentence {i} of the long paragraph walks on and on along the cliff path."
        for i in range(50)
    )


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = stories_folder(tmp_path)
    write_story(folder, "lighthouse", lighthouse_paragraphs(), title="The Lighthouse")
    write_story(
        folder,
        "long",
        ["A short opening line.", _long_paragraph(), "A short closing line."],
        title="The Long Walk",
        words_per_part=2000,
    )
    write_story(
        folder,
        "shouting",
        [
            "The crier stood up and shouted @everyone and @here to the square.",
            "Then he wrote <@{reader}> and <@&{role}> on the board, and left.",
        ],
        title="The Town Crier",
        words_per_part=2000,
    )
    return folder


def _posts(harness: Harness, channel_id: int) -> list[str]:
    """What the bot posted in a channel, apart from its answers to commands."""
    return [m.content for m in harness.bot_messages(channel_id) if not m.interaction]


async def _lighthouse_in(harness: Harness, channel_id: int) -> tuple[Destination, Serial]:
    """Where the scheduler posts the lighthouse subscribed in ``channel_id``, and the story, for
    calling the poster directly."""
    sub = await harness.bot.scheduler.subscription(channel_id)
    assert sub is not None
    serial = harness.library.get("lighthouse")
    assert serial is not None
    return destination_of(sub), serial


async def test_a_forum_channel_gets_one_forum_post_per_part(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    forum = discord_double.channels["forum"]
    async with running_bot(discord_double, tmp_path) as harness:
        record = await harness.subscribe("lighthouse", channel=forum)
        assert not record.ephemeral
        await harness.until_first_post()
        await harness.advance(timedelta(days=1))

        posts = discord_double.threads(forum)
        serial = harness.library.get("lighthouse")
        assert serial is not None
        assert [p.name for p in posts] == [
            render_part(serial, serial.part(n)).thread_name for n in (1, 2)
        ]
        first = render_part(serial, serial.part(1))
        shown = [m.content for m in discord_double.messages(posts[0].id)]
        assert shown[: 1 + len(first.messages)] == [first.header, *first.messages]
        # then the post opens for talk, and hands over when the next part arrives
        assert shown[len(first.messages) + 1].startswith("**Part 1 of ")
        assert shown[len(first.messages) + 2].startswith("Part 2 is out → ")
        assert discord_double.messages(forum) == []


async def test_an_announcement_channel_gets_a_thread_per_part(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    news = discord_double.channels["announcements"]
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse", channel_id=news)
        await harness.until_first_post()

        [thread] = discord_double.threads(news)
        assert thread.type == ChannelType.news_thread
        assert thread.id == harness.bot_messages(news)[1].id  # the header, after the answer


async def test_a_part_longer_than_one_message_is_split_into_messages_within_the_limit(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("long")
        await harness.until_first_post()

        posted = _posts(harness, harness.general)
        text = [p for p in posted if "Sentence" in p]
        assert len(text) >= 2
        assert all(len(p) <= MESSAGE_CONTENT_MAX for p in posted)
        assert "Sentence 0 " in text[0] and "Sentence 49 " in text[-1]
        assert len(discord_double.threads(harness.general)) == 1


async def test_mentions_in_story_text_never_ping(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    path = library / "shouting.txt"
    path.write_text(
        path.read_text(encoding="utf-8").format(
            reader=discord_double.reader_id, role=discord_double.admin_role_id
        ),
        encoding="utf-8",
    )
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("shouting")
        await harness.until_first_post()

        posted = [m for m in harness.bot_messages(harness.general) if not m.interaction]
        assert any("@everyone" in m.content for m in posted)
        assert any(f"<@{discord_double.reader_id}>" in m.content for m in posted)
        for message in posted:
            assert not message.mention_everyone
            assert message.mentions == []
            assert message.mention_roles == []
            assert not message.would_ping


async def test_posting_a_part_again_with_the_same_nonce_does_not_duplicate_it(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        destination, serial = await _lighthouse_in(harness, harness.general)

        first = await harness.bot.poster.post_part(
            destination, serial, serial.part(1), nonce="n-part-1"
        )
        again = await harness.bot.poster.post_part(
            destination, serial, serial.part(1), nonce="n-part-1"
        )

        assert again == first
        assert len(discord_double.threads(harness.general)) == 1
        assert discord_double.duplicate_messages() == []


async def test_a_forum_post_repeated_soon_after_is_continued_not_duplicated(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    forum = discord_double.channels["forum"]
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse", channel=forum)
        destination, serial = await _lighthouse_in(harness, forum)

        first = await harness.bot.poster.post_part(
            destination, serial, serial.part(1), nonce="forum-1"
        )
        again = await harness.bot.poster.post_part(
            destination, serial, serial.part(1), nonce="forum-1"
        )

        assert again == first
        assert len(discord_double.threads(forum)) == 1


async def test_a_lost_permission_pauses_with_its_name_and_is_not_retried(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        await discord_double.revoke(harness.general, "send_messages")
        await harness.until_first_post()
        await harness.advance(timedelta(days=2))

        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and sub.paused
        assert "Send Messages" in (sub.pause_reason or "")
        refused = [
            r
            for r in discord_double.requests_to("POST", r"/channels/\d+/messages$")
            if r.status == 403 and str(harness.general) in r.path
        ]
        assert len(refused) <= 2  # the part once, and at most one notice

        status = await harness.invoke("serial status")
        assert "Send Messages" in (await status.reply()).content
        notices = harness.bot_messages(discord_double.system_channel_id)
        assert len(notices) == 1
        assert "/serial resume" in notices[0].content


async def test_the_poster_maps_a_missing_permission_to_post_forbidden(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        destination, serial = await _lighthouse_in(harness, harness.general)
        await discord_double.revoke(harness.general, "create_public_threads")

        with pytest.raises(PostForbidden, match="Create Public Threads"):
            await harness.bot.poster.post_part(destination, serial, serial.part(1), nonce="x")


async def test_the_poster_maps_a_deleted_channel_to_channel_gone(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        destination, serial = await _lighthouse_in(harness, harness.general)
        await discord_double.delete_channel(harness.general)

        with pytest.raises(ChannelGone):
            await harness.bot.poster.post_part(destination, serial, serial.part(1), nonce="x")


async def test_the_poster_maps_a_server_error_to_a_transient_failure(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        destination, serial = await _lighthouse_in(harness, harness.general)
        # 503 is one that discord.py does not retry itself.
        discord_double.fail_next("POST", rf"/channels/{harness.general}/messages$", status=503)

        with pytest.raises(PostTransient):
            await harness.bot.poster.post_part(destination, serial, serial.part(1), nonce="x")


async def test_a_server_error_is_retried_later_and_the_part_arrives_once(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        discord_double.fail_next(
            "POST", rf"/channels/{harness.general}/messages$", status=503, commit=True
        )
        await harness.until_first_post()
        await harness.advance(timedelta(minutes=5))

        assert len(discord_double.threads(harness.general)) == 1
        assert discord_double.duplicate_messages() == []
        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and sub.next_part == 2 and not sub.paused


async def test_deleting_the_channel_pauses_its_subscription(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        await discord_double.delete_channel(harness.general)
        await harness.until_first_post()

        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and sub.paused
        assert "deleted" in (sub.pause_reason or "")


async def test_removing_the_bot_from_the_server_pauses_its_subscriptions(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        await discord_double.remove_bot_from_guild(discord_double.guild_id)
        # The bot hears of it over the gateway: wait for that before the clock moves on.
        async with asyncio.timeout(5):
            while not (await harness.bot.scheduler.subscription(harness.general)).paused:  # type: ignore[union-attr]
                await asyncio.sleep(0.01)
        await harness.until_first_post()

        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and sub.paused
        assert "removed" in (sub.pause_reason or "")


async def test_read_of_a_long_part_comes_as_several_ephemeral_messages_within_the_limit(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("long")
        await harness.until_first_post()

        record = await harness.invoke("serial read", {"part": 1})
        await record.wait_for(lambda: any("Sentence 49 " in m.content for m in record.messages))
        assert len(record.messages) >= 2
        assert all(m.ephemeral for m in record.messages)
        assert all(len(m.content) <= MESSAGE_CONTENT_MAX for m in record.messages)
        text = "\n".join(m.content for m in record.messages)
        assert "Sentence 0 " in text and "Sentence 49 " in text


async def test_threads_can_be_turned_off_in_the_config(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(
        discord_double, tmp_path, threads=ThreadSettings(enabled=False)
    ) as harness:
        await harness.subscribe("lighthouse")
        await harness.until_first_post()

        assert _posts(harness, harness.general)
        assert discord_double.threads(harness.general) == []
        delivery = await harness.bot.scheduler.posted_part(harness.general, 1)
        assert delivery is not None and delivery.thread_id is None
