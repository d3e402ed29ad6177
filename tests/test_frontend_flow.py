"""The reader's journey on the wire: subscribe, a scheduled part with its thread, next, status,
read — the real bot against the Discord API double."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.render import render_part
from tests.discord_double import CallbackType, DiscordDouble
from tests.frontend_harness import (
    Harness,
    lighthouse_paragraphs,
    running_bot,
    stories_folder,
    write_story,
)


@pytest.fixture
async def harness(discord_double: DiscordDouble, tmp_path: Path) -> AsyncIterator[Harness]:
    write_story(
        stories_folder(tmp_path),
        "lighthouse",
        lighthouse_paragraphs(),
        title="The Lighthouse",
        content_notes=["storms"],
    )
    async with running_bot(discord_double, tmp_path) as harness:
        yield harness


async def test_subscribe_answers_publicly_with_first_part_and_finish_times(
    harness: Harness,
) -> None:
    record = await harness.subscribe("lighthouse")
    reply = await record.reply()
    assert not record.ephemeral
    assert "The Lighthouse" in reply.content
    assert "Part 1 arrives" in reply.content
    assert ":F>" in reply.content and ":R>" in reply.content
    assert "finishes" in reply.content


async def test_scheduled_part_is_posted_with_a_thread_on_its_first_message(
    harness: Harness,
) -> None:
    await harness.subscribe("lighthouse")
    assert not [m for m in harness.bot_messages(harness.general) if not m.interaction]
    await harness.until_first_post()

    serial = harness.library.get("lighthouse")
    assert serial is not None
    rendered = render_part(serial, serial.part(1))
    posted = [m for m in harness.bot_messages(harness.general) if not m.interaction]
    assert [m.content for m in posted] == [rendered.header, *rendered.messages]
    threads = harness.double.threads(harness.general)
    assert len(threads) == 1
    assert threads[0].name == rendered.thread_name
    assert threads[0].id == posted[0].id


async def test_next_posts_the_following_part_and_acknowledges_publicly(
    harness: Harness,
) -> None:
    await harness.subscribe("lighthouse")
    await harness.until_first_post()

    record = await harness.invoke("serial next")
    reply = await record.reply()
    assert not record.ephemeral
    assert "Part 2" in reply.content
    assert len(harness.double.threads(harness.general)) == 2
    names = [t.name for t in harness.double.threads(harness.general)]
    assert names[1].endswith("Part 2")


async def test_next_within_the_cooldown_is_refused_ephemerally_with_the_time_left(
    harness: Harness,
) -> None:
    await harness.subscribe("lighthouse")
    await harness.until_first_post()
    await (await harness.invoke("serial next")).reply()

    record = await harness.invoke("serial next", user_id=harness.double.admin_id)
    reply = await record.reply()
    assert record.ephemeral
    assert ":R>" in reply.content
    assert len(harness.double.threads(harness.general)) == 2


async def test_status_shows_progress_next_post_and_schedule(harness: Harness) -> None:
    await harness.subscribe("lighthouse")
    await harness.until_first_post()

    record = await harness.invoke("serial status")
    text = (await record.reply()).content
    assert record.ephemeral
    assert "The Lighthouse" in text
    serial = harness.library.get("lighthouse")
    assert serial is not None
    assert f"Part 1 of {len(serial.parts)}" in text
    assert ":R>" in text
    assert "daily 18:00" in text


async def test_read_replays_a_delivered_part_ephemerally(harness: Harness) -> None:
    await harness.subscribe("lighthouse")
    await harness.until_first_post()

    record = await harness.invoke("serial read", {"part": 1})
    text = await record.text()
    assert record.ephemeral
    assert all(m.ephemeral for m in record.messages)
    serial = harness.library.get("lighthouse")
    assert serial is not None
    for chunk in render_part(serial, serial.part(1)).messages:
        assert chunk in text
    [thread] = harness.double.threads(harness.general)
    assert f"<#{thread.id}>" in text


async def test_read_refuses_a_part_not_yet_posted_here(harness: Harness) -> None:
    await harness.subscribe("lighthouse")
    await harness.until_first_post()

    record = await harness.invoke("serial read", {"part": 2})
    reply = await record.reply()
    assert record.ephemeral
    assert "not been posted here yet" in reply.content
    assert "Night 4" not in reply.content


async def test_the_whole_story_ends_with_the_end(harness: Harness) -> None:
    await harness.subscribe("lighthouse")
    await harness.until_first_post()
    serial = harness.library.get("lighthouse")
    assert serial is not None
    for _ in range(len(serial.parts)):
        await harness.advance(timedelta(days=1))

    posted = [m.content for m in harness.bot_messages(harness.general) if not m.interaction]
    assert "The End" in posted[-1]
    assert len(harness.double.threads(harness.general)) == len(serial.parts)


async def test_every_answer_arrives_within_the_interaction_deadline(harness: Harness) -> None:
    record = await harness.subscribe("lighthouse")
    assert record.callback_type == CallbackType.channel_message
    assert record.latency is not None and record.latency < 3.0


async def test_pause_shows_its_reason_in_status_and_resume_continues(harness: Harness) -> None:
    await harness.subscribe("lighthouse")
    paused = await harness.invoke("serial pause", {"reason": "holiday break"}, admin=True)
    await paused.reply()
    assert not paused.ephemeral
    await harness.until_first_post()
    assert not harness.double.threads(harness.general)

    status = await (await harness.invoke("serial status")).reply()
    assert "holiday break" in status.content

    resumed = await harness.invoke("serial resume", admin=True)
    assert "Resumed" in (await resumed.reply()).content
    await harness.advance(timedelta(minutes=1))
    assert len(harness.double.threads(harness.general)) == 1


async def test_schedule_jump_restart_and_unsubscribe_answer_publicly(harness: Harness) -> None:
    await harness.subscribe("lighthouse")

    changed = await harness.invoke(
        "serial schedule", {"schedule": "weekdays 07:30", "timezone": "Europe/Berlin"}, admin=True
    )
    assert "weekdays 07:30" in (await changed.reply()).content
    assert "Europe/Berlin" in (await changed.reply()).content

    jumped = await harness.invoke("serial jump", {"part": 3}, admin=True)
    assert "Part 3" in (await jumped.reply()).content
    sub = await harness.bot.scheduler.subscription(harness.general)
    assert sub is not None and sub.next_part == 3

    restarted = await harness.invoke("serial restart", admin=True)
    assert "Part 1" in (await restarted.reply()).content

    gone = await harness.invoke("serial unsubscribe", admin=True)
    await gone.reply()
    assert not any(r.ephemeral for r in (changed, jumped, restarted, gone))
    assert await harness.bot.scheduler.subscription(harness.general) is None


async def test_commands_in_a_part_thread_act_on_its_channel(harness: Harness) -> None:
    await harness.subscribe("lighthouse")
    await harness.until_first_post()
    [thread] = harness.double.threads(harness.general)

    record = await harness.invoke("serial status", channel_id=thread.id)
    assert "Part 1 of" in (await record.reply()).content


@pytest.mark.discord_double(rate_limits=True, time_scale=0.5)
async def test_next_defers_when_posting_takes_longer_than_the_answer_window(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    # Eight messages against five per (scaled) 2.5 s: the post outlasts the 3-second window.
    paragraph = " ".join(
        f"Wave {i} broke on the rocks below the tower, loud and cold and white." for i in range(25)
    )
    write_story(
        stories_folder(tmp_path),
        "storm",
        [paragraph] * 16,
        title="The Storm",
        words_per_part=2400,
    )
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("storm")
        record = await harness.invoke("serial next")

        assert await record.response() == CallbackType.deferred_channel_message
        reply = await record.reply(timeout=15)
        assert "Part 1" in reply.content
        assert not record.ephemeral
        assert record.rejected == []
        assert len(harness.double.threads(harness.general)) == 1
