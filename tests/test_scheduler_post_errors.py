"""What the scheduler does with each kind of poster error: a refusal pauses with one notice and is
never repeated; a delay holds every channel (not only the one that met it) and costs no retry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.poster import PostDelayed, PostError, PostRefused
from bot.scheduler import SchedulerSettings
from tests.recording_poster import RecordingPoster
from tests.test_scheduler import START, Bench, FakeLibrary, make_serial

DUE = START.replace(hour=17)  # 18:00 in Berlin, where the bench subscribes


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    clock = ManualClock(START)
    made = Bench(
        tmp_path / "serial.sqlite3",
        clock,
        FakeLibrary(make_serial(parts=20)),
        RecordingPoster(clock),
        # One post at a time: the channels after the first meet the hold, not the poster.
        SchedulerSettings(concurrency=1),
    )
    await made.open()
    await made.scheduler.start()
    yield made
    await made.close()


async def _at(bench: Bench, seconds: float) -> None:
    bench.clock.set(DUE + timedelta(seconds=seconds))
    await bench.idle()


@pytest.mark.parametrize(
    "error",
    [
        PostRefused("a thread the part goes into in #forum is locked; unlock it"),
        PostRefused("#forum requires a tag on every post"),
        PostRefused("Discord rejected the post's content as invalid"),
    ],
)
async def test_a_refusal_pauses_with_the_reason_and_one_notice_and_is_not_repeated(
    bench: Bench, error: PostError
) -> None:
    await bench.subscribe()
    bench.poster.fail("part", 1, error, error, error)
    await bench.run_until(START + timedelta(days=5))

    assert bench.poster.parts(1) == []
    assert len(bench.poster.failures[("part", 1)]) == 2  # asked once, not again
    [notice] = bench.poster.of("notice", 1)
    assert error.reason in (notice.text or "")
    sub = await bench.scheduler.subscription(1)
    assert sub is not None and sub.paused and sub.pause_reason == error.reason


async def test_a_delay_holds_every_channel_until_it_ends_and_costs_no_retry(
    bench: Bench,
) -> None:
    for channel in (1, 2, 3):
        await bench.subscribe(channel)
    bench.poster.fail("part", 1, PostDelayed("delayed: Discord's global rate limit", 600.0))
    await _at(bench, 0)
    await _at(bench, 599)

    assert bench.poster.of("part") == []  # channel 1 met the limit; 2 and 3 waited too
    await _at(bench, 600)

    assert [bench.poster.parts(c) for c in (1, 2, 3)] == [[1], [1], [1]]
    assert bench.poster.of("notice") == []
    for channel in (1, 2, 3):
        sub = await bench.scheduler.subscription(channel)
        assert sub is not None and not sub.paused and sub.retry_count == 0


async def test_a_request_during_a_delay_says_the_bot_was_asked_to_wait(bench: Bench) -> None:
    await bench.subscribe(1)
    await bench.subscribe(2)
    bench.poster.fail("part", 1, PostDelayed("delayed: banned", 300.0))
    await _at(bench, 0)

    outcome = await bench.scheduler.request_next(2, member_id=5)
    assert outcome.posted is None
    assert outcome.refused is not None and "asked the bot to wait" in outcome.refused
    assert bench.poster.of("part") == []
