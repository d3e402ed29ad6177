"""The store's own work per delivery on PostgreSQL against SQLite: the real scheduler, a poster
that posts nothing and a ``ManualClock``, over 10,000 subscriptions, ``DUE`` of them due in each
round. Per delivery: this process's CPU time, the wall time, and for PostgreSQL also the CPU time
of the server's processes (the work SQLite does inside the bot's process, PostgreSQL does in its
own). Medians over the rounds. The target is the scheduler's own: under 1 ms of this process's
CPU per delivery.

    python -m bench.stores [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import Figure, render_report
from bench._data import NoopPoster, OneSerial, bench_serial
from bench.machine import describe
from bot.clock import ManualClock
from bot.scheduler import Scheduler, SchedulerSettings
from tests.postgres_server import DATA_FOLDERS, fresh_schema, open_test_store, throwaway_server

NAME = "Stores"
SIZE = 10_000
QUICK_SIZE = 2_000
DUE = 200
ROUNDS = 5
T0 = datetime(2030, 6, 3, 12, tzinfo=UTC)
TARGET_DELIVERY_MS = 1.0


@dataclass(frozen=True, slots=True)
class StoreRun:
    backend: str
    size: int
    cpu: float
    wall: float
    server_cpu: float | None
    delivered: int


def _server_cpu(data_folder: Path | None) -> float:
    """CPU seconds used so far by the PostgreSQL server's processes (postmaster and children)."""
    if data_folder is None:
        return 0.0
    pid = int((data_folder / "postmaster.pid").read_text().split()[0])
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


async def _run(backend: str, location: Path | str, size: int, workdir: Path, data: Path | None):
    serial = bench_serial(workdir / "stories", parts=ROUNDS + 2)
    store = await open_test_store(location)
    clock = ManualClock(T0)
    poster = NoopPoster()
    try:
        for i in range(size):
            due = (
                T0 + timedelta(minutes=1 + i % ROUNDS)
                if i < DUE * ROUNDS
                else T0 + timedelta(days=2)
            )
            await store.create_subscription(
                guild_id=(1_000_000 + i) // 500 << 22,
                channel_id=1_000_000 + i,
                slug=serial.slug,
                revision=serial.story.revision,
                next_part=1,
                position=0,
                schedule=f"daily {due:%H:%M}",
                timezone="UTC",
                slot_due=due,
                catch_up="one",
                subscribed_by=1,
                thread_archive_minutes=None,
                now=T0,
                part_count=len(serial.parts),
            )
        scheduler = Scheduler(store, OneSerial(serial), poster, clock, SchedulerSettings())
        await scheduler.start()
        cpu: list[float] = []
        wall: list[float] = []
        server: list[float] = []
        delivered = 0
        for r in range(ROUNDS):
            before = poster.parts
            clock.set(T0 + timedelta(minutes=1 + r))
            cpu0, wall0, server0 = time.process_time(), time.perf_counter(), _server_cpu(data)
            await scheduler.idle()
            posted = poster.parts - before
            delivered += posted
            cpu.append((time.process_time() - cpu0) / posted)
            wall.append((time.perf_counter() - wall0) / posted)
            server.append((_server_cpu(data) - server0) / posted)
        await scheduler.stop()
    finally:
        await store.close()
    return StoreRun(
        backend,
        size,
        statistics.median(cpu),
        statistics.median(wall),
        statistics.median(server) if data is not None else None,
        delivered,
    )


def measure(size: int) -> list[StoreRun]:
    runs = []
    with tempfile.TemporaryDirectory(prefix="serialbot-stores-") as tmp:
        folder = Path(tmp)
        runs.append(asyncio.run(_run("SQLite", folder / "s.sqlite3", size, folder, None)))
        with throwaway_server() as server:
            data = DATA_FOLDERS[server]
            runs.append(asyncio.run(_run("PostgreSQL", fresh_schema(server), size, folder, data)))
    return runs


def figures(runs: Sequence[StoreRun]) -> list[Figure]:
    out = []
    for r in runs:
        value = f"{r.cpu * 1000:.2f} ms CPU ({r.wall * 1000:.2f} ms wall)"
        if r.server_cpu is not None:
            value += f" + {r.server_cpu * 1000:.2f} ms CPU in the server"
        out.append(
            Figure(
                NAME,
                f"{r.backend}, {r.size:,} subs: own work per delivery ({r.delivered} delivered)",
                value,
                f"< {TARGET_DELIVERY_MS:.0f} ms CPU here",
                r.cpu * 1000 < TARGET_DELIVERY_MS,
            )
        )
    return out


def run(size: int = SIZE) -> list[Figure]:
    return figures(measure(size))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stores", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SIZE:,} subscriptions")
    options = parser.parse_args(argv)
    found = run(QUICK_SIZE if options.quick else SIZE)
    mode = "quick" if options.quick else "full"
    print(render_report(found, machine=describe().line(), mode=mode))
    return 0


if __name__ == "__main__":
    sys.exit(main())
