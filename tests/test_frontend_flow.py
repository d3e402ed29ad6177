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
