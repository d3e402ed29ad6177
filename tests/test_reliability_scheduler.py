"""Delivery through failures, on the core alone (fake clock, recording poster): a part tried again
is resumed rather than posted afresh, a graceful stop never leaves a delivery half-recorded, an
edit that renumbers the parts is told to the channel, a lost channel is told once, and the store
counts attempts and upgrades older databases."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.poster import Delivered, Destination, PostTransient, ResumingPoster
from bot.scheduler import SchedulerSettings
from bot.store import SCHEMA_VERSION, Store
from bot.story import Part, Serial
from tests.recording_poster import RecordingPoster
from tests.test_scheduler import START, Bench, FakeLibrary, make_serial

# 18:00 in Berlin on the first day, when the first part of a "daily 18:00" serial goes out.
FIRST_POST = datetime(2024, 3, 25, 17, 0, tzinfo=UTC)


class ResumingRecorder(RecordingPoster):
    """Records which parts were asked to be resumed rather than posted."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        self.resumed: list[tuple[int, str]] = []

    async def resume_part(
        self, destination: Destination, serial: Serial, part: Part, *, nonce: str
    ) -> Delivered:
        self.resumed.append((part.index, nonce))
        return await self.post_part(destination, serial, part, nonce=nonce)


@pytest.fixture
async def bench(database: Path | str) -> AsyncIterator[Bench]:
    clock = ManualClock(START)
    made = Bench(
        database,
        clock,
        FakeLibrary(make_serial(parts=10, paragraphs=20)),
        ResumingRecorder(clock),
        SchedulerSettings(),
    )
    await made.open()
    await made.scheduler.start()
    yield made
    await made.close()


def _poster(bench: Bench) -> ResumingRecorder:
    assert isinstance(bench.poster, ResumingRecorder)
    return bench.poster


def test_the_discord_poster_is_a_resuming_poster() -> None:
    from bot.frontend.poster import DiscordPoster

    assert issubclass(DiscordPoster, ResumingPoster)
    assert not issubclass(RecordingPoster, ResumingPoster)


async def test_a_part_is_posted_on_its_first_attempt_and_resumed_on_the_next(
    bench: Bench,
) -> None:
    await bench.subscribe()
    bench.poster.fail("part", 1, PostTransient("503"), PostTransient("503"))
    await bench.run_until(FIRST_POST + timedelta(minutes=10))

    poster = _poster(bench)
    nonces = {p.nonce for p in poster.of("part", 1)}
    assert poster.parts(1) == [1]
    # Two failed attempts: the first went through post_part, the two after it were resumes.
    assert [number for number, _ in poster.resumed] == [1, 1]
    assert {nonce for _, nonce in poster.resumed} == nonces
    delivery = await bench.store.delivery(1, 1)
    assert delivery is not None and delivery.state == "posted" and delivery.attempts == 3


async def test_a_part_left_pending_by_a_crash_is_resumed_with_its_nonce(bench: Bench) -> None:
    sub = await bench.subscribe()
    await bench.close()
    await bench.open()
    await bench.store.begin_delivery(
        sub, part=1, nonce="left-by-crash", trigger="schedule", now=START
    )
    await bench.scheduler.start()
    await bench.idle()
    assert _poster(bench).resumed == [(1, "left-by-crash")]
    assert await bench.store.pending_deliveries() == []


async def test_stop_during_the_start_up_repair_lets_it_finish_and_records_it(
    bench: Bench,
) -> None:
    sub = await bench.subscribe()
    await bench.close()
    await bench.open()
    await bench.store.begin_delivery(
        sub, part=1, nonce="left-by-crash", trigger="schedule", now=START
    )
    poster = _poster(bench)
    poster.gate = asyncio.Event()
    starting = asyncio.ensure_future(bench.scheduler.start())
    while poster.active == 0:
        await asyncio.sleep(0.001)
    stopping = asyncio.ensure_future(bench.scheduler.stop())
    await asyncio.sleep(0.01)
    assert not stopping.done()  # waits for the repair under way
    poster.gate.set()
    await asyncio.wait_for(asyncio.gather(starting, stopping), 5)

    assert await bench.store.pending_deliveries() == []
    assert poster.parts(1) == [1]
    assert not bench.scheduler.running  # a stop during start-up is not undone by it


async def test_an_edit_that_changes_the_part_count_is_told_to_the_channel_once(
    bench: Bench,
) -> None:
    await bench.subscribe()
    await bench.run_until(datetime(2024, 3, 26, 20, tzinfo=UTC))
    assert bench.poster.parts(1) == [1, 2]  # paragraphs 1-4 of 20
    bench.library.serials["tale"] = make_serial(parts=20, paragraphs=20, revision="r2")
    await bench.run_until(datetime(2024, 3, 29, 20, tzinfo=UTC))

    # The two parts received keep their numbers; paragraphs 5-20 are cut anew into 3-18.
    assert bench.poster.parts(1) == [1, 2, 3, 4, 5]
    assert [p.text for p in bench.poster.of("part", 1)[2:]] == [
        f"Paragraph {n} of A Tale." for n in (5, 6, 7)
    ]
    [notice] = bench.poster.of("notice", 1)
    assert notice.text == "“A Tale” was edited: its words are the same; the rest is now parts 3–18."
    sub = await bench.scheduler.subscription(1)
    assert sub is not None and sub.part_count == 18


async def test_an_edit_that_keeps_the_parts_says_nothing(bench: Bench) -> None:
    await bench.subscribe()
    await bench.run_until(datetime(2024, 3, 26, 20, tzinfo=UTC))
    bench.library.serials["tale"] = make_serial(parts=10, paragraphs=20, revision="typo-fixed")
    await bench.run_until(datetime(2024, 3, 28, 20, tzinfo=UTC))
    assert bench.poster.parts(1) == [1, 2, 3, 4]
    assert bench.poster.of("notice", 1) == []


async def test_an_edit_that_removes_the_unread_text_says_so_and_ends_the_serial(
    bench: Bench,
) -> None:
    await bench.subscribe()
    await bench.run_until(datetime(2024, 3, 26, 20, tzinfo=UTC))
    shorter = make_serial(parts=2, paragraphs=4, revision="cut")
    bench.library.serials["tale"] = shorter
    await bench.run_until(datetime(2024, 3, 28, 20, tzinfo=UTC))

    [notice] = bench.poster.of("notice", 1)
    assert notice.text == (
        "“A Tale” was edited: 80 words removed after it; this channel has received all of it."
    )
    assert len(bench.poster.of("end", 1)) == 1
    sub = await bench.scheduler.subscription(1)
    assert sub is not None and sub.completed


async def test_a_lost_channel_is_paused_with_its_reason_and_told_once(bench: Bench) -> None:
    await bench.subscribe()
    paused = await bench.scheduler.pause_unreachable(1, "#general was deleted")
    again = await bench.scheduler.pause_unreachable(1, "#general was deleted")
    await bench.run_until(FIRST_POST + timedelta(days=3))

    assert paused is not None and paused.paused
    assert paused.pause_reason == "#general was deleted"
    assert again is None
    [notice] = bench.poster.of("notice", 1)
    assert "#general was deleted" in (notice.text or "")
    assert bench.poster.parts(1) == []
    status = await bench.scheduler.status(1)
    assert status.subscription.pause_reason == "#general was deleted"


async def test_losing_a_channel_without_a_serial_does_nothing(bench: Bench) -> None:
    assert await bench.scheduler.pause_unreachable(99, "#elsewhere was deleted") is None
    assert bench.poster.posts == []


# --- the store -----------------------------------------------------------------------------------


async def test_each_begin_of_a_pending_delivery_counts_an_attempt(bench: Bench) -> None:
    sub = await bench.subscribe()
    store = bench.store
    first = await store.begin_delivery(sub, part=1, nonce="n", trigger="schedule", now=START)
    second = await store.begin_delivery(sub, part=1, nonce="m", trigger="request", now=START)
    assert (first.attempts, second.attempts) == (1, 2)
    assert second.nonce == "n"
    [pending] = await store.pending_deliveries()
    assert pending.attempts == 2


async def test_a_version_1_database_is_upgraded_with_its_pending_delivery_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        for statement in _version_1_schema():
            db.execute(statement)
        db.execute(
            """
            INSERT INTO subscriptions (guild_id, channel_id, slug, revision, next_part, position,
                schedule, timezone, slot_due, next_due, catch_up, subscribed_by, created_at,
                updated_at)
            VALUES (1, 10, 'tale', 'r1', 2, 40, 'daily 18:00', 'UTC', ?, ?, 'one', 7, ?, ?)
            """,
            (_ts(START),) * 4,
        )
        db.execute(
            """
            INSERT INTO deliveries (subscription_id, channel_id, slug, part, state, nonce,
                triggered_by, created_at)
            VALUES (1, 10, 'tale', 2, 'pending', 'old-nonce', 'schedule', ?)
            """,
            (_ts(START),),
        )

    async with await Store.open(path) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        sub = await store.subscription(10)
        assert sub is not None and sub.part_count is None and sub.next_part == 2
        [pending] = await store.pending_deliveries()
        assert (pending.nonce, pending.attempts) == ("old-nonce", 1)
        # The next begin is a repeat, so it is resumed, not posted blind.
        again = await store.begin_delivery(sub, part=2, nonce="new", trigger="schedule", now=START)
        assert (again.nonce, again.attempts) == ("old-nonce", 2)


def _version_1_schema() -> tuple[str, ...]:
    from bot.store import sqlite_schema

    return sqlite_schema.MIGRATIONS[0]


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


async def test_the_same_text_cut_anew_is_followed_by_position_too(bench: Bench) -> None:
    # Another part length (a changed words_per_part) renumbers the parts without changing the
    # text, so the revision stays the same.
    await bench.subscribe()
    await bench.run_until(datetime(2024, 3, 26, 20, tzinfo=UTC))
    bench.library.serials["tale"] = make_serial(parts=20, paragraphs=20, revision="r1")
    await bench.run_until(datetime(2024, 3, 27, 20, tzinfo=UTC))

    assert bench.poster.parts(1) == [1, 2, 3]
    assert bench.poster.of("part", 1)[-1].text == "Paragraph 5 of A Tale."
    [notice] = bench.poster.of("notice", 1)
    assert notice.text == "“A Tale” was edited: its words are the same; the rest is now parts 3–18."
    status = await bench.scheduler.status(1)
    assert (status.next_part, status.parts_total) == (4, 18)
