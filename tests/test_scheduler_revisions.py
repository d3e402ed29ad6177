"""The scheduler following a story through edits it cannot place a channel in, and the channel's
own parts afterwards (re-reading, jumping, starting over)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.library import make_serial, story_from_text
from bot.story import Serial
from tests.test_scheduler import Bench, bench, settings

__all__ = ["bench", "settings"]  # the scheduler bench's fixtures, on SQLite and PostgreSQL


def _serial(paragraphs: list[str], revision_text: str = "") -> Serial:
    story = story_from_text("\n\n".join(paragraphs) + revision_text, path=Path("tale.txt"))
    return make_serial(story, 4)


def _tale(count: int = 12) -> list[str]:
    """Paragraphs of four words: a part each, at the bench's four words a part."""
    return [f"Rain fell, day {n}." for n in range(1, count + 1)]


def _other(count: int) -> list[str]:
    return [f"Moons rise, count {n}!" for n in range(1, count + 1)]


async def test_a_story_replaced_by_another_text_pauses_and_asks_an_admin(bench: Bench) -> None:
    bench.library.serials["tale"] = _serial(_tale())
    await bench.subscribe()
    await bench.run_until(datetime(2024, 3, 26, 20, tzinfo=UTC))
    assert bench.poster.parts(1) == [1, 2]
    bench.library.serials["tale"] = _serial(_other(14))
    await bench.run_until(datetime(2024, 3, 28, 20, tzinfo=UTC))

    assert bench.poster.parts(1) == [1, 2]  # nothing posted on a guess
    sub = await bench.scheduler.subscription(1)
    assert sub is not None and sub.paused and sub.pause_cause == "edit"
    assert sub.pause_reason is not None
    assert sub.pause_reason.startswith("it was edited and ")
    assert sub.pause_reason.endswith(
        "of the text it was following was replaced, so its place cannot be found"
    )
    [notice] = bench.poster.of("notice", 1)
    assert "An admin can choose the part to continue from with /serial jump." in (notice.text or "")

    await bench.scheduler.jump(1, 3)
    await bench.scheduler.resume(1)
    await bench.run_until(datetime(2024, 3, 29, 20, tzinfo=UTC))
    assert bench.poster.parts(1)[-1] == 3
    assert bench.poster.of("part", 1)[-1].text == "Moons rise, count 3!"


async def test_the_channels_own_parts_are_what_status_and_reads_show(bench: Bench) -> None:
    bench.library.serials["tale"] = _serial(_tale())
    await bench.subscribe()
    await bench.run_until(datetime(2024, 3, 26, 20, tzinfo=UTC))
    before = bench.library.serials["tale"]
    # Two paragraphs added before part 1: the channel keeps parts 1-2 and continues with
    # paragraph 3, now part 3 of 12.
    bench.library.serials["tale"] = _serial(["A new foreword.", "Another one.", *_tale()])
    await bench.run_until(datetime(2024, 3, 27, 20, tzinfo=UTC))
    status = await bench.scheduler.status(1)
    assert (status.parts_posted, status.next_part, status.parts_total) == (3, 4, 12)
    assert status.serial is not None
    # Parts 1 and 2 as the channel received them, in the new text.
    assert status.serial.part(1).paragraphs == before.part(1).paragraphs
    assert status.serial.part(3).paragraphs == ("Rain fell, day 3.",)
    [notice] = bench.poster.of("notice", 1)
    assert notice.text == (
        "“Tale” was edited: 5 words added before where this channel is; the rest is now parts 3–12."
    )
