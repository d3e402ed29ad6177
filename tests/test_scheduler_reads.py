"""What a delivery reads and writes: the row the due query read is used as it is, checked unchanged
when the delivery is recorded; the start-up check reads again only the channels that need
something; and on SQLite, how many trips to the database thread a delivery and a start cost."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.scheduler._delivery import Courier
from bot.store import Store, Subscription
from tests.test_scheduler import Bench, bench, make_serial, settings, until

__all__ = ["bench", "settings"]  # the scheduler bench's fixtures, on SQLite and PostgreSQL


@contextmanager
def counted_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every hand-off to aiosqlite's thread (one per awaited call on a connection), by the
    first words of its statement."""
    trips: list[str] = []
    handing_off = aiosqlite.Connection._execute

    async def counting(connection: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(" ".join(str(args[0]).split()[:3]) if args else getattr(fn, "__name__", ""))
        return await handing_off(connection, fn, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(aiosqlite.Connection, "_execute", counting)
        yield trips


async def by_hand(bench: Bench) -> Courier:
    """The bench's scheduler stopped, and a courier over the same store to drive by hand."""
    await bench.scheduler.stop()
    return Courier(bench.store, bench.library, bench.poster, bench.clock, bench.settings)


async def test_a_due_row_read_before_its_part_was_posted_does_not_post_it_again(
    bench: Bench,
) -> None:
    sub = await bench.subscribe()
    courier = await by_hand(bench)
    assert sub.next_due is not None
    bench.clock.set(sub.next_due)
    [stale] = await bench.store.due(bench.clock.now(), 10)
    first = await courier.deliver(1, "schedule", only_if_due=True, known=stale)
    assert (first.kind, first.part) == ("posted", 1)
    # The same row again, as a due query that ran just before the record would have read it.
    again = await courier.deliver(1, "schedule", only_if_due=True, known=stale)
    assert again.kind == "skipped"
    assert bench.poster.parts(1) == [1]
    current = await bench.store.subscription(1)
    assert current is not None and current.next_part == 2


async def test_a_due_row_of_a_channel_paused_since_is_read_again_and_not_posted(
    bench: Bench,
) -> None:
    sub = await bench.subscribe()
    courier = await by_hand(bench)
    assert sub.next_due is not None
    bench.clock.set(sub.next_due)
    [stale] = await bench.store.due(bench.clock.now(), 10)
    await bench.scheduler.pause(1, "a holiday")
    result = await courier.deliver(1, "schedule", only_if_due=True, known=stale)
    assert result.kind == "skipped"
    assert bench.poster.parts(1) == []
    assert await bench.store.pending_deliveries() == []


async def test_a_due_row_of_a_channel_that_jumped_since_posts_the_part_it_is_at_now(
    bench: Bench,
) -> None:
    sub = await bench.subscribe()
    courier = await by_hand(bench)
    assert sub.next_due is not None
    bench.clock.set(sub.next_due)
    [stale] = await bench.store.due(bench.clock.now(), 10)
    jumped = await bench.store.reset_progress(
        1,
        next_part=4,
        position=make_serial(parts=20).part(4).start,
        revision=sub.revision,
        slot_due=sub.next_due,
        next_due=sub.next_due,
        now=bench.clock.now(),
    )
    assert jumped is not None
    result = await courier.deliver(1, "schedule", only_if_due=True, known=stale)
    assert (result.kind, result.part) == ("posted", 4)
    assert bench.poster.parts(1) == [4]


async def test_start_up_reads_again_only_the_channels_that_need_something(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    settled = range(1, 31)
    for channel in settled:
        await bench.subscribe(channel)
    await bench.subscribe(40, slug="short")
    await bench.subscribe(41, slug="short")
    await bench.scheduler.pause(41, "a holiday")
    await bench.close()
    short = bench.library.serials.pop("short")  # its file is gone
    await bench.open()
    with counted_trips(monkeypatch) as trips:
        await bench.scheduler.start()
        await bench.idle()
    gone = await bench.store.subscription(40)
    assert gone is not None and gone.paused and gone.pause_cause == "story"
    for channel in settled:
        kept = await bench.store.subscription(channel)
        assert kept is not None and not kept.paused
    if isinstance(bench.store, Store):
        # Not one read per channel: the 30 that need nothing cost no trip of their own.
        assert len(trips) <= 12, trips

    bench.library.serials["short"] = short  # the file is back
    await bench.reopen()
    back = await bench.store.subscription(40)
    assert back is not None and not back.paused
    # A pause an admin made stays.
    held = await bench.store.subscription(41)
    assert held is not None and held.paused


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_a_scheduled_delivery_costs_about_three_trips_to_the_database_thread(
    database: Path | str, bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    channels = range(1, 21)
    for channel in channels:
        await bench.subscribe(channel)
    sub = await bench.store.subscription(1)
    assert sub is not None and sub.next_due is not None
    await bench.idle()
    with counted_trips(monkeypatch) as trips:
        bench.clock.set(sub.next_due)
        await bench.idle()
    assert bench.poster.parts(1) == [1]
    assert sum(len(bench.poster.parts(c)) for c in channels) == 20
    # Record (1), record posted (1), read the row back (1), and the due queries and looks at
    # what comes next, shared by the batch (about 19 a part before these were counted).
    assert len(trips) <= 4 * len(channels), trips
    assert trips.count("INSERT INTO deliveries") == len(channels)


async def test_a_post_finishing_while_due_channels_are_read_is_not_tried_again_from_that_read(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The due query can read a channel's row just before its post is recorded and return just
    # after: that row is out of date, and acting on it costs a refused recording and two reads.
    sub = await bench.subscribe(1)
    assert sub.next_due is not None
    await bench.idle()
    bench.poster.gate = asyncio.Event()
    bench.clock.set(sub.next_due)
    await until(lambda: bench.poster.active == 1)
    reading_due = bench.store.due

    async def due_outliving_the_post(*args: Any, **kwargs: Any) -> list[Subscription]:
        rows = await reading_due(*args, **kwargs)
        assert [r.channel_id for r in rows] == [1]  # read while the post was under way
        assert bench.poster.gate is not None
        bench.poster.gate.set()
        while (now := await bench.store.subscription(1)) is not None and now.next_part == 1:
            await asyncio.sleep(0)
        for _ in range(100):  # the post's task ends
            await asyncio.sleep(0)
        return rows

    recording = bench.store.begin_delivery
    recorded: list[Any] = []

    async def counted(*args: Any, **kwargs: Any) -> Any:
        recorded.append(result := await recording(*args, **kwargs))
        return result

    monkeypatch.setattr(bench.store, "begin_delivery", counted)
    monkeypatch.setattr(bench.store, "due", due_outliving_the_post)
    bench.scheduler.wake()
    await until(lambda: bench.poster.parts(1) == [1])
    monkeypatch.setattr(bench.store, "due", reading_due)
    await bench.idle()
    assert bench.poster.parts(1) == [1]
    assert recorded == []  # not even a refused attempt from the out-of-date row
