"""The scheduler at scale: 1k, 10k and 100k subscriptions in a temporary SQLite file, with a poster
that posts nothing and a ``ManualClock``, so every figure is the bot's own work.

One database grows through the sizes. At each size a fixed number of subscriptions (``due``) come
due at the moment measured and in each of the next few minutes (one round each), and the same
number again an hour later; every other subscription is due days ahead. At each size:

- start: open the store and start a scheduler (nothing overdue) until its loop waits;
- due query: the store's query for what is due now, with ``due`` rows due (median and fastest of
  repeated runs; flatness is judged on the fastest, which other load on the machine cannot
  inflate), and SQLite's plan for it;
- own work per delivery: time moves to each round's minute and the scheduler posts its ``due``
  parts (store reads and writes, nonce, schedule maths). The process's CPU time (both of its
  threads: the event loop and aiosqlite's SQLite thread) divided by the parts posted is the bot's
  own work; wall time is shown beside it; both are medians over the rounds. Every statement hands
  work to the SQLite thread and back, so the cost depends on where the two threads run: the
  rounds are measured with both pinned to one core, then with each on its own core (left alone,
  the OS picks either, run by run). The target is judged on the two-core figure, the dearer;
- resume after restart: the scheduler stops and the store closes; after an hour and ten minutes of
  downtime a new store and scheduler start over the same file and apply the catch-up policy to the
  ``due`` overdue subscriptions (which then post, and are checked).

    python -m bench.scheduling [--quick] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import Figure, render_report
from bench._data import (
    NewSubscription,
    NoopPoster,
    OneSerial,
    bench_serial,
    populate,
    story_slug,
)
from bench.machine import describe
from bot.clock import ManualClock
from bot.scheduler import Scheduler, SchedulerSettings
from bot.store import Store

NAME = "Scheduler"
FULL_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
DUE = 100
ONE_CORE = "one core"
TWO_CORES = "two cores"
PLACEMENTS = (ONE_CORE, TWO_CORES)
ROUNDS = 4  # per placement
TARGET_DELIVERY_MS = 1.0
# "Flat": the due query at the largest size may take at most this many times as long as at the
# smallest, with the same number of rows due.
FLAT_FACTOR = 2.0
QUERY_REPEATS = 40
LIBRARY_STORIES = 500
CHANNELS_PER_GUILD = 500
FIRST_CHANNEL = 1_000_000

# A Monday. Size number k is measured at T0 + 1 h + 3 h·k; subscriptions not being measured are
# due from two days on, so no downtime in the benchmark makes them overdue.
T0 = datetime(2030, 6, 3, tzinfo=UTC)
_LATER = timedelta(days=2)
_RESUME_DOWNTIME = timedelta(hours=1, minutes=10)


def measured_at(level: int) -> datetime:
    return T0 + timedelta(hours=1 + 3 * level)


def _daily(moment: datetime) -> str:
    return f"daily {moment:%H:%M}"


def subscriptions(
    start: int, stop: int, *, level: int, due: int, rounds: int = ROUNDS * len(PLACEMENTS)
) -> Iterator[NewSubscription]:
    """Subscriptions number ``start`` to ``stop - 1``. Round r's ``due`` come due r minutes
    after the level's moment, the next ``due`` an hour after it, the rest from two days on."""
    moment = measured_at(level)
    for i in range(start, stop):
        offset = i - start
        if offset < rounds * due:
            slot = moment + timedelta(minutes=offset // due)
        elif offset < (rounds + 1) * due:
            slot = moment + timedelta(hours=1)
        else:
            slot = T0 + _LATER + timedelta(minutes=i % 1440)
        channel = FIRST_CHANNEL + i
        yield NewSubscription(
            guild_id=channel // CHANNELS_PER_GUILD,
            channel_id=channel,
            slug=story_slug(i % LIBRARY_STORIES),
            schedule=_daily(slot),
            slot_due=slot,
        )


@dataclass
class SizeRun:
    size: int
    subscribe_seconds: float = 0.0
    subscribed: int = 0
    start_seconds: float = 0.0
    due_query_seconds: float = 0.0
    due_query_fastest: float = 0.0
    due_rows: int = 0
    due_plan: str = ""
    # placement -> (CPU, wall) seconds per delivery, medians over the rounds; ``delivered`` is
    # the fewest parts posted in a round
    delivery: dict[str, tuple[float, float]] = field(default_factory=dict)
    delivered: int = 0
    resume_seconds: float = 0.0
    caught_up: int = 0
    profile: str = ""


@dataclass
class ScaleRun:
    due: int
    sizes: list[SizeRun] = field(default_factory=list)


async def _started(
    path: Path, clock: ManualClock, source: OneSerial, poster: NoopPoster
) -> tuple[Store, Scheduler, list[int]]:
    """The store, a started scheduler, and the native ids of the threads the store started (the
    SQLite connection's own thread)."""
    before = {t.native_id for t in threading.enumerate()}
    store = await Store.open(path)
    workers = [
        t.native_id
        for t in threading.enumerate()
        if t.native_id is not None and t.native_id not in before
    ]
    scheduler = Scheduler(store, source, poster, clock, SchedulerSettings())
    await scheduler.start()
    return store, scheduler, workers


@contextlib.contextmanager
def _placed(placement: str, workers: Sequence[int]) -> Iterator[bool]:
    """Pin the event loop's thread and the store's threads to one core, or to two different
    cores; yields False where that cannot be done (no affinity calls, one core only)."""
    if not hasattr(os, "sched_setaffinity") or not workers:
        yield False
        return
    allowed = os.sched_getaffinity(0)
    cpus = sorted(allowed)
    if placement == ONE_CORE:
        loop_cpu = worker_cpu = cpus[0]
    elif len(cpus) >= 2:
        loop_cpu, worker_cpu = cpus[0], cpus[1]
    else:
        yield False
        return
    # On Linux, pid 0 is the calling thread only: the loop's, not the store's.
    os.sched_setaffinity(0, {loop_cpu})
    for worker in workers:
        os.sched_setaffinity(worker, {worker_cpu})
    try:
        yield True
    finally:
        os.sched_setaffinity(0, allowed)
        for worker in workers:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(worker, allowed)


async def _measure_size(
    path: Path,
    level: int,
    size: int,
    previous: int,
    due: int,
    source: OneSerial,
    *,
    profile: bool,
) -> SizeRun:
    result = SizeRun(size)
    least = (ROUNDS * len(PLACEMENTS) + 1) * due
    if size - previous < least:
        raise ValueError(f"each size must add at least {least} subscriptions")
    moment = measured_at(level)
    store = await Store.open(path)
    try:
        added = await populate(
            store,
            subscriptions(previous, size, level=level, due=due),
            revision=source.serial.story.revision,
            now=T0,
            part_count=len(source.serial.parts),
        )
    finally:
        await store.close()
    result.subscribe_seconds, result.subscribed = added.seconds, added.count

    poster = NoopPoster()
    clock = ManualClock(moment - timedelta(minutes=10))
    began = time.perf_counter()
    store, scheduler, workers = await _started(path, clock, source, poster)
    await scheduler.idle()
    result.start_seconds = time.perf_counter() - began
    try:
        timings = []
        for _ in range(QUERY_REPEATS):
            began = time.perf_counter()
            rows = await store.due(moment, 200)
            timings.append(time.perf_counter() - began)
        result.due_query_seconds = statistics.median(timings)
        result.due_query_fastest = min(timings)
        result.due_rows = len(rows)
        result.due_plan = "; ".join(await store.explain_due(moment))

        profiler = cProfile.Profile() if profile else None
        for p, placement in enumerate(PLACEMENTS):
            cpu_per_round: list[float] = []
            wall_per_round: list[float] = []
            with _placed(placement, workers) as placed:
                if not placed:
                    continue
                for r in range(ROUNDS):
                    before = poster.parts
                    clock.set(moment + timedelta(minutes=p * ROUNDS + r))
                    cpu_began = time.process_time()
                    began = time.perf_counter()
                    if profiler is not None:
                        profiler.enable()
                    await scheduler.idle()
                    if profiler is not None:
                        profiler.disable()
                    elapsed = time.perf_counter() - began
                    cpu = time.process_time() - cpu_began
                    posted = poster.parts - before
                    wall_per_round.append(elapsed / posted if posted else float("inf"))
                    cpu_per_round.append(cpu / posted if posted else float("inf"))
                    result.delivered = min(result.delivered or posted, posted)
            result.delivery[placement] = (
                statistics.median(cpu_per_round),
                statistics.median(wall_per_round),
            )
        if profiler is not None:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
            result.profile = out.getvalue()
    finally:
        await scheduler.stop()
        await store.close()

    clock.set(moment + _RESUME_DOWNTIME)
    before = poster.parts
    began = time.perf_counter()
    store, scheduler, _ = await _started(path, clock, source, poster)
    result.resume_seconds = time.perf_counter() - began
    try:
        await scheduler.idle()
        result.caught_up = poster.parts - before
    finally:
        await scheduler.stop()
        await store.close()
    return result


async def _run(
    sizes: Sequence[int], due: int, workdir: Path, keep: Path | None, profile: bool
) -> ScaleRun:
    serial = bench_serial(workdir / "stories")
    source = OneSerial(serial)
    path = workdir / "scale.sqlite3"
    run = ScaleRun(due)
    previous = 0
    for level, size in enumerate(sizes):
        run.sizes.append(
            await _measure_size(
                path,
                level,
                size,
                previous,
                due,
                source,
                profile=profile and size == sizes[-1],
            )
        )
        previous = size
    if keep is not None:
        # Closed stores leave no WAL behind, so the main file is the whole database.
        shutil.copyfile(path, keep)
    return run


def measure(
    sizes: Sequence[int] = FULL_SIZES,
    *,
    due: int = DUE,
    keep_database: Path | None = None,
    profile: bool = False,
) -> ScaleRun:
    """Grow one database through ``sizes``; ``keep_database`` receives a copy of the largest."""
    with tempfile.TemporaryDirectory(prefix="serialbot-bench-") as tmp:
        return asyncio.run(_run(sizes, due, Path(tmp), keep_database, profile))


def run(
    sizes: Sequence[int] = FULL_SIZES,
    *,
    due: int = DUE,
    keep_database: Path | None = None,
) -> list[Figure]:
    return figures(measure(sizes, due=due, keep_database=keep_database))


def _count(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"


def figures(run: ScaleRun) -> list[Figure]:
    out: list[Figure] = []
    sizes = run.sizes
    subscribed = sum(s.subscribed for s in sizes)
    seconds = sum(s.subscribe_seconds for s in sizes)
    out.append(
        Figure(
            NAME,
            "subscribe (store.create_subscription, one transaction each)",
            f"{subscribed / seconds:,.0f} /s ({_count(subscribed)} in {seconds:.0f} s)",
        )
    )
    for s in sizes:
        out.append(
            Figure(NAME, f"{_count(s.size)} subs: start (nothing overdue)", _ms(s.start_seconds))
        )
    for s in sizes:
        out.append(
            Figure(
                NAME,
                f"{_count(s.size)} subs: due query ({s.due_rows} due), median (fastest)",
                f"{_ms(s.due_query_seconds)} ({_ms(s.due_query_fastest)})",
            )
        )
    largest = sizes[-1]
    indexed = "USING INDEX subscriptions_due" in largest.due_plan
    out.append(
        Figure(
            NAME,
            f"{_count(largest.size)} subs: due query plan",
            largest.due_plan,
            "partial due index",
            indexed,
        )
    )
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        factor = large.due_query_fastest / small.due_query_fastest
        out.append(
            Figure(
                NAME,
                f"due query {_count(large.size)} ÷ {_count(small.size)}, fastest "
                "(O(due), not O(subs))",
                f"{factor:.2f}×",
                f"≤ {FLAT_FACTOR:.0f}× (flat)",
                factor <= FLAT_FACTOR and large.due_rows == small.due_rows == run.due,
            )
        )
    for s in sizes:
        largest = s is sizes[-1]
        shown = "; ".join(
            f"{p} {_ms(s.delivery[p][0])} ({_ms(s.delivery[p][1])})"
            if p in s.delivery
            else f"{p} n/a"
            for p in PLACEMENTS
        )
        # Judged where the store's thread runs on another core than the event loop: the dearer
        # placement, and the one a multi-core machine often picks.
        judged = s.delivery.get(TWO_CORES) or s.delivery.get(ONE_CORE)
        out.append(
            Figure(
                NAME,
                f"{_count(s.size)} subs: own work per delivery, CPU (wall); loop and SQLite "
                f"thread on one core or two ({ROUNDS} rounds of {s.delivered})",
                shown,
                f"< {TARGET_DELIVERY_MS:.0f} ms" if largest else "",
                (
                    judged is not None
                    and judged[0] < TARGET_DELIVERY_MS / 1000
                    and s.delivered == run.due
                )
                if largest
                else None,
            )
        )
    for s in sizes:
        out.append(
            Figure(
                NAME,
                f"{_count(s.size)} subs: resume after restart ({s.caught_up} overdue caught up)",
                _ms(s.resume_seconds),
            )
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scheduling", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1k and 10k subscriptions only")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print a profile of the deliveries at the largest size",
    )
    options = parser.parse_args(argv)
    sizes = QUICK_SIZES if options.quick else FULL_SIZES
    result = measure(sizes, profile=options.profile)
    mode = "quick" if options.quick else "full"
    print(render_report(figures(result), machine=describe().line(), mode=mode))
    if options.profile:
        print(result.sizes[-1].profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
