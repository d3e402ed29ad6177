"""The bundled story edited, removed and put back while a channel follows it, on the wire: the
channel has received parts 1 and 2, the bot is stopped, the file changes, the bot starts again
and a reader asks for the next part. The channel gets exactly the text after the last word it
received, and one notice that says what changed."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from bot.config import CatchUpSettings
from bot.frontend.poster import is_installment_start
from bot.library import Library
from tests.crash_harness import installment_posts
from tests.discord_double import DiscordDouble, Message
from tests.frontend_harness import START, Harness, running_bot, stories_folder

SCENE_BREAK = "⁂"
BUNDLED = Path(__file__).resolve().parent.parent / "bot" / "defaults" / "stories"
STORY = "you-left.txt"
# Where part 3 of the bundled story begins: what a channel that received parts 1 and 2 reads
# next, whatever the edit did elsewhere.
PART_3_OPENS = "Derek ignored me, taking a step towards me. Chuckling quietly I backed away"
DELETED_IN_PART_2 = "The silence was echoing around my mind"
FIRST_OF_PART_1 = "Derek stood in front of the pack, frowning."


def _filler(label: str, paragraphs: int) -> list[str]:
    """Paragraphs of twenty words that share no run of words with the story."""
    return [
        f"{label} note {n}: the harbour lamps were lit one by one while gulls circled "
        "over boats coming home at dusk."
        for n in range(1, paragraphs + 1)
    ]


def _paragraphs(text: str) -> list[str]:
    return text.split("\n\n\n")


def insert_before_part_1(text: str) -> str:
    title, rest = text.split("\n\n", 1)
    return title + "\n\n" + "\n\n\n".join(_filler("Foreword", 20)) + "\n\n\n" + rest


def delete_a_paragraph_of_part_2(text: str) -> str:
    return "\n\n\n".join(p for p in _paragraphs(text) if not p.startswith(DELETED_IN_PART_2))


def append_at_the_end(text: str) -> str:
    return text.rstrip("\n") + "\n\n\n" + "\n\n\n".join(_filler("Afterword", 25)) + "\n"


def delete_the_first_paragraph(text: str) -> str:
    title, rest = text.split("\n\n", 1)
    first, rest = rest.split("\n\n\n", 1)
    assert first.startswith(FIRST_OF_PART_1)
    return title + "\n\n" + rest


def _bundled(tmp_path: Path) -> Path:
    folder = stories_folder(tmp_path)
    for name in (STORY, "you-left.yaml"):
        shutil.copy(BUNDLED / name, folder / name)
    return folder / STORY


def _after(double: DiscordDouble, channel_id: int, seen: int) -> list[Message]:
    return installment_posts(double, channel_id)[seen:]


def _notices(messages: list[Message]) -> list[str]:
    return [
        m.content
        for m in messages
        if not is_installment_start(m.content)
        and ("was edited" in m.content or "library" in m.content)
    ]


def _text_of_parts(messages: list[Message]) -> str:
    """The story text in ``messages``: what parts carried, without headers, notices or the
    marks shown between scenes."""
    notices = set(_notices(messages))
    return "\n\n".join(
        line
        for m in messages
        if not is_installment_start(m.content) and m.content not in notices
        for line in m.content.split("\n")
        if line.strip() != SCENE_BREAK
    )


async def _received_parts_1_and_2(double: DiscordDouble, tmp_path: Path) -> int:
    async with running_bot(double, tmp_path) as harness:
        await harness.subscribe("you-left")
        await harness.until_first_post()
        await harness.advance(timedelta(days=1))
        assert await harness.bot.scheduler.posted_part(harness.general, 2) is not None
        assert await harness.bot.scheduler.posted_part(harness.general, 3) is None
        return len(installment_posts(double, harness.general))


async def _next(harness: Harness) -> None:
    record = await harness.invoke("serial next")
    reply = await record.reply()
    assert "Part 3 is up" in reply.content, reply.content


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (
            insert_before_part_1,
            "“You Left” was edited: 400 words added before where this channel is; "
            "the rest is now part 3.",
        ),
        (
            delete_a_paragraph_of_part_2,
            "“You Left” was edited: 86 words removed before where this channel is; "
            "the rest is now part 3.",
        ),
        (
            append_at_the_end,
            "“You Left” was edited: 500 words added after it; the rest is now parts 3–5.",
        ),
        (
            delete_the_first_paragraph,
            "“You Left” was edited: 76 words removed before where this channel is; "
            "the rest is now part 3.",
        ),
    ],
    ids=[
        "400-words-before-part-1",
        "paragraph-of-part-2-deleted",
        "500-words-appended",
        "first-paragraph-deleted",
    ],
)
async def test_an_edited_story_continues_after_the_last_word_received(
    discord_double: DiscordDouble,
    tmp_path: Path,
    edit: Callable[[str], str],
    said: str,
) -> None:
    path = _bundled(tmp_path)
    seen = await _received_parts_1_and_2(discord_double, tmp_path)
    original = path.read_text(encoding="utf-8")
    path.write_text(edit(original), encoding="utf-8")

    async with running_bot(discord_double, tmp_path) as harness:
        # Told once, when the bot starts, before anything else is posted.
        assert _notices(_after(discord_double, harness.general, seen)) == [said]
        await _next(harness)
        first = _after(discord_double, harness.general, seen)
        header = next(m.content for m in first if is_installment_start(m.content))
        assert "Part 3 of" in header
        assert _text_of_parts(first).startswith(PART_3_OPENS)
        for _ in range(4):
            await harness.advance(timedelta(days=1))
        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and sub.completed
        posted = _after(discord_double, harness.general, seen)

    # Everything after the last word received, once, in order: nothing skipped or repeated.
    edited = Library.load(path.parent).get("you-left")
    assert edited is not None
    text = edited.story.text
    rest = text[text.index(PART_3_OPENS) :]
    assert _text_of_parts(posted).split() == rest.split()
    assert _notices(posted) == [said]


async def test_a_story_removed_at_start_up_is_said_at_once_and_continues_when_it_is_back(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    path = _bundled(tmp_path)
    seen = await _received_parts_1_and_2(discord_double, tmp_path)
    kept = path.read_text(encoding="utf-8")
    path.unlink()

    async with running_bot(discord_double, tmp_path) as harness:
        # At start-up, not at the next slot.
        assert _notices(_after(discord_double, harness.general, seen)) == [
            "The serial “you-left” is paused: its story file is no longer in the library. It "
            "continues by itself, where it left off, once the file is back."
        ]
        status = await (await harness.invoke("serial status")).reply()
        assert "Paused: the story “you-left” is no longer in the library" in status.content
        await harness.advance(timedelta(days=2))
        assert len(_after(discord_double, harness.general, seen)) == 1  # the notice, once

    path.write_text(kept, encoding="utf-8")
    async with running_bot(discord_double, tmp_path) as harness:
        later = _after(discord_double, harness.general, seen)
        assert _notices(later)[1:] == [
            "“You Left” is back in the library: this channel continues where it left off."
        ]
        status = await (await harness.invoke("serial status")).reply()
        assert "Paused" not in status.content and "Next: Part 3" in status.content
        # Each run's clock starts on the same Monday noon: on to the slot of part 3.
        await harness.advance(timedelta(days=2, hours=6, minutes=1))
        posted = _after(discord_double, harness.general, seen)
        assert _text_of_parts(posted).startswith(PART_3_OPENS)


async def test_a_changed_catch_up_policy_reaches_a_channel_subscribed_before(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    _bundled(tmp_path)
    own = discord_double.channels["system"]
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("you-left")
        await harness.subscribe("you-left", channel_id=own)
        # The second channel chooses its own policy: the configuration no longer applies to it.
        record = await harness.invoke(
            "serial schedule", {"catch_up": "skip", "channel": own}, admin=True
        )
        reply = await record.reply()
        assert "nothing missed is posted (chosen for this channel)" in reply.content
        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and (sub.catch_up, sub.catch_up_own) == ("one", False)

    # Offline from Monday noon to Thursday evening, four slots missed; the configuration now
    # says to post every missed part (up to 3), 5 minutes apart.
    back = START + timedelta(days=3, hours=6, minutes=1)
    async with running_bot(
        discord_double,
        tmp_path,
        start=back,
        catch_up=CatchUpSettings(policy="all", cap=3, spacing_minutes=5),
    ) as harness:
        await harness.bot.scheduler.idle()
        for _ in range(3):
            await harness.advance(timedelta(minutes=5))
        posted = await harness.store.deliveries(harness.general)
        assert [d.part for d in posted] == [1, 2, 3]
        times = [d.posted_at for d in posted]
        assert times[0] == back
        assert [b - a for a, b in pairwise(times)] == [timedelta(minutes=5)] * 2
        # The channel that chose "skip" waits for its next slot.
        assert await harness.store.deliveries(own) == []


async def test_status_before_the_first_part_says_when_it_arrives(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    _bundled(tmp_path)
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("you-left")
        status = await (await harness.invoke("serial status")).reply()
        first = START.replace(hour=18)
        assert f"Not started — Part 1 arrives <t:{int(first.timestamp())}:R>" in status.content
        assert "Part 0" not in status.content
