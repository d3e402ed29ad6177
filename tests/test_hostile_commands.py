"""Commands used against the bot, on the wire: readers spamming ``/serial next`` (the cooldown
holds, the quorum counts each member once), crafted option values Discord's client would never
send, and hostile text in options. Each is refused ephemerally, changes nothing and pings no one.
(Non-admins, DMs, unknown stories and bad subscribe options are covered by the refusal tests.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import NextSettings
from bot.schedule import EXAMPLES
from tests.discord_double import DiscordDouble, InvokedInteraction
from tests.discord_double.limits import MESSAGE_CONTENT_MAX
from tests.frontend_harness import (
    Harness,
    lighthouse_paragraphs,
    running_bot,
    stories_folder,
    write_story,
)

QUORUM = NextSettings(cooldown_minutes=30, quorum=2, quorum_window_minutes=30)


@pytest.fixture
async def harness(discord_double: DiscordDouble, tmp_path: Path) -> AsyncIterator[Harness]:
    folder = stories_folder(tmp_path)
    write_story(folder, "lighthouse", lighthouse_paragraphs(), title="The Lighthouse")
    async with running_bot(discord_double, tmp_path, next=QUORUM) as running:
        await running.subscribe("lighthouse")
        await running.until_first_post()
        yield running


def _threads(harness: Harness) -> int:
    return len(harness.double.threads(harness.general))


async def _answer(record: InvokedInteraction) -> tuple[str, bool]:
    reply = await record.reply()
    assert len(reply.content) <= MESSAGE_CONTENT_MAX
    assert not reply.would_ping
    return reply.content, record.ephemeral


async def test_one_reader_spamming_next_counts_once_towards_the_quorum(harness: Harness) -> None:
    for _ in range(10):
        text, ephemeral = await _answer(await harness.invoke("serial next"))
        assert ephemeral
        assert "2 readers" in text
    assert _threads(harness) == 1


async def test_a_crowd_spamming_next_at_once_gets_one_part_and_then_the_cooldown(
    harness: Harness,
) -> None:
    double = harness.double
    readers = [double.reader_id, *[await double.add_member(f"reader{n}") for n in range(4)]]

    records = await asyncio.gather(
        *(harness.invoke("serial next", user_id=reader) for reader in readers * 4)
    )
    answers = await asyncio.gather(*(_answer(record) for record in records))

    public = [text for text, ephemeral in answers if not ephemeral]
    assert len(public) == 1 and "Part 2 is up" in public[0]
    assert _threads(harness) == 2
    # Within the cooldown every further request is refused with the wait, however many ask.
    for reader in readers:
        text, ephemeral = await _answer(await harness.invoke("serial next", user_id=reader))
        assert ephemeral and "30 minutes" in text
    assert _threads(harness) == 2
    assert double.duplicate_messages() == []


BAD_SCHEDULES = ["every 0h", "daily 25:00", "every 9999h", "weekly funday 10:00", "x" * 500, " "]


@pytest.mark.parametrize("schedule", BAD_SCHEDULES, ids=range(len(BAD_SCHEDULES)))
async def test_a_bad_new_schedule_is_refused_with_an_example_and_changes_nothing(
    harness: Harness, schedule: str
) -> None:
    before = await harness.bot.scheduler.subscription(harness.general)
    text, ephemeral = await _answer(
        await harness.invoke("serial schedule", {"schedule": schedule}, admin=True)
    )
    assert ephemeral
    assert any(f'"{example}"' in text for example in EXAMPLES)
    assert await harness.bot.scheduler.subscription(harness.general) == before


@pytest.mark.parametrize("timezone", ["Mars/Olympus", "../../etc/passwd", "UTC\u200b", "+02:00"])
async def test_a_bad_timezone_for_the_schedule_is_refused_and_changes_nothing(
    harness: Harness, timezone: str
) -> None:
    before = await harness.bot.scheduler.subscription(harness.general)
    text, ephemeral = await _answer(
        await harness.invoke(
            "serial schedule", {"schedule": "daily 09:00", "timezone": timezone}, admin=True
        )
    )
    assert ephemeral and "Europe/Berlin" in text
    assert await harness.bot.scheduler.subscription(harness.general) == before


@pytest.mark.parametrize(
    ("path", "options"),
    [
        ("serial read", {"part": 0}),
        ("serial read", {"part": -3}),
        ("serial jump", {"part": 10**12}),
        ("serial subscribe", {"story": "lighthouse", "start_part": 0}),
    ],
    ids=["read-0", "read-negative", "jump-huge", "subscribe-0"],
)
async def test_part_options_declare_their_range_so_discord_refuses_nonsense_first(
    harness: Harness, path: str, options: dict[str, Any]
) -> None:
    # Discord checks an integer option against its declared bounds before any bot sees it;
    # within them, the bot answers parts it does not have (see the refusal tests).
    with pytest.raises(ValueError, match=r"outside 1\.\.100000"):
        await harness.invoke(path, options, admin=True)


async def test_hostile_text_in_options_is_answered_without_pinging_anyone(
    harness: Harness,
) -> None:
    double = harness.double
    slug = f"@everyone @here <@{double.reader_id}> <@&{double.admin_role_id}> *x* ||y||"
    channel = double.channels["announcements"]
    text, ephemeral = await _answer(
        await harness.invoke(
            "serial subscribe",
            {"story": slug, "schedule": "daily 18:00"},
            admin=True,
            channel_id=channel,
        )
    )
    assert ephemeral and "/serial stories" in text
    assert await harness.bot.scheduler.subscription(channel) is None

    reason = f"@everyone <@&{double.admin_role_id}> holiday"
    await _answer(await harness.invoke("serial pause", {"reason": reason}, admin=True))
    status, _ = await _answer(await harness.invoke("serial status"))
    assert "holiday" in status
    assert [m for m in double.messages(harness.general) if m.would_ping] == []


async def test_an_unknown_story_name_longer_than_a_message_is_still_answered_with_the_list(
    harness: Harness,
) -> None:
    # Discord allows string options of up to 6,000 characters.
    text, ephemeral = await _answer(
        await harness.invoke(
            "serial subscribe", {"story": "*x*" * 1000, "schedule": "daily 18:00"}, admin=True
        )
    )
    assert ephemeral and "/serial stories" in text
