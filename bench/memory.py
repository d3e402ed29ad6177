"""Memory of a running bot: resident set size (RSS) of a fresh process that imports the bot
(discord.py included), loads a library of 500 stories, opens a database of 100k subscriptions and
starts the scheduler over it. Then a restart: a second fresh process does the same with the
library cache the first one left (no story changed), and the time until its library is ready is
the restart figure.

The stories are generated (seeded) with lengths drawn around a median of 8,000 words, so the
library holds a few long novels and many short stories; their total size is printed with the
figure. The scheduler gets a poster that posts nothing and a clock at which nothing is due; the
Discord connection is not made, so discord.py's cache of guilds and channels (which grows with
the servers the bot is in, not with subscriptions) is not counted.

    python -m bench.memory [--quick] [--subscriptions N] [--stories N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import Figure, render_report
from bench.machine import describe

NAME = "Memory"
TARGET_MB = 120.0
RESTART_TARGET_SECONDS = 0.5
FULL_SUBSCRIPTIONS = 100_000
QUICK_SUBSCRIPTIONS = 10_000
STORIES = 500
_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class MemoryRun:
    subscriptions: int
    stories: int
    library_bytes: int
    rss_imported: int
    rss_library: int
    rss_running: int
    peak: int
    load_seconds: float
    start_seconds: float
    restart_rss: int
    restart_load_seconds: float


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _rss() -> int:
    """Resident set size in bytes."""
    return _status_kib("VmRSS") * 1024


async def _child_run(database: Path, stories: Path, cache: Path) -> dict[str, float]:
    import bot.frontend.client  # noqa: F401  (a running bot has discord.py loaded)
    from bench._data import NoopPoster
    from bench.scheduling import T0
    from bot.clock import ManualClock
    from bot.library import Library
    from bot.scheduler import Scheduler, SchedulerSettings
    from bot.store import Store

    figures: dict[str, float] = {"rss_imported": _rss()}
    began = time.perf_counter()
    library = Library.load(stories, cache=cache)
    figures["load_seconds"] = time.perf_counter() - began
    figures["rss_library"] = _rss()
    figures["stories"] = len(library)
    began = time.perf_counter()
    store = await Store.open(database)
    scheduler = Scheduler(store, library, NoopPoster(), ManualClock(T0), SchedulerSettings())
    await scheduler.start()
    await scheduler.idle()
    figures["start_seconds"] = time.perf_counter() - began
    figures["subscriptions"] = await store.count_subscriptions()
    figures["rss_running"] = _rss()
    figures["peak"] = _status_kib("VmHWM") * 1024
    await scheduler.stop()
    await store.close()
    return figures


def _child(database: Path, stories: Path, cache: Path) -> int:
    print(json.dumps(asyncio.run(_child_run(database, stories, cache))))
    return 0


async def _build_database(path: Path, count: int) -> None:
    from bench._data import populate
    from bench.scheduling import DUE, T0, subscriptions
    from bot.store import Store

    store = await Store.open(path)
    try:
        await populate(store, subscriptions(0, count, level=0, due=DUE), revision="-", now=T0)
    finally:
        await store.close()


def measure(
    subscriptions: int = FULL_SUBSCRIPTIONS,
    *,
    stories: int = STORIES,
    database: Path | None = None,
) -> MemoryRun:
    """``database`` may be a copy of a database of ``subscriptions`` subscriptions made by the
    scheduling benchmark; otherwise one is built here."""
    from bench._data import write_library

    with tempfile.TemporaryDirectory(prefix="serialbot-bench-") as tmp:
        folder = Path(tmp)
        library_bytes = write_library(folder / "stories", stories)
        db = folder / "memory.sqlite3"
        if database is not None and database.is_file():
            db.write_bytes(database.read_bytes())
        else:
            asyncio.run(_build_database(db, subscriptions))
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")])),
        )
        cache = folder / "library-cache.sqlite3"
        command = [
            sys.executable,
            "-m",
            "bench.memory",
            "--child",
            str(db),
            str(folder / "stories"),
        ]
        runs = []
        for _ in ("first start", "restart"):
            done = subprocess.run(
                [*command, str(cache)],
                cwd=_ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f"the measured process failed:\n{done.stderr}")
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        found, again = runs
    return MemoryRun(
        subscriptions=int(found["subscriptions"]),
        stories=int(found["stories"]),
        library_bytes=library_bytes,
        rss_imported=int(found["rss_imported"]),
        rss_library=int(found["rss_library"]),
        rss_running=int(found["rss_running"]),
        peak=int(found["peak"]),
        load_seconds=found["load_seconds"],
        start_seconds=found["start_seconds"],
        restart_rss=int(again["rss_running"]),
        restart_load_seconds=again["load_seconds"],
    )


def run(
    subscriptions: int = FULL_SUBSCRIPTIONS,
    *,
    stories: int = STORIES,
    database: Path | None = None,
) -> list[Figure]:
    return figures(measure(subscriptions, stories=stories, database=database))


def _mb(n: int) -> str:
    return f"{n / 1e6:.0f} MB"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds * 1000:.0f} ms"


def _count(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def figures(r: MemoryRun) -> list[Figure]:
    label = f"{_count(r.subscriptions)} subs, {r.stories} stories ({r.library_bytes / 1e6:.0f} MB)"
    return [
        Figure(
            NAME,
            f"RSS, bot running: {label}",
            _mb(r.rss_running),
            f"< {TARGET_MB:.0f} MB",
            r.rss_running < TARGET_MB * 1e6,
        ),
        Figure(
            NAME,
            "RSS after imports → library loaded → scheduler started (peak)",
            f"{_mb(r.rss_imported)} → {_mb(r.rss_library)} → {_mb(r.rss_running)} ({_mb(r.peak)})",
        ),
        Figure(
            NAME,
            "library's cost per byte of story text (RSS growth ÷ text)",
            f"{(r.rss_library - r.rss_imported) / r.library_bytes:.1f} B",
        ),
        Figure(
            NAME,
            "library load (first start, cache built); store open + scheduler start",
            f"{r.load_seconds:.1f} s; {_duration(r.start_seconds)}",
        ),
        Figure(
            NAME,
            f"restart, {r.stories} unchanged stories: library ready",
            f"{r.restart_load_seconds:.3f} s",
            f"< {RESTART_TARGET_SECONDS} s",
            r.restart_load_seconds < RESTART_TARGET_SECONDS,
        ),
        Figure(
            NAME,
            f"RSS after the restart, bot running: {label}",
            _mb(r.restart_rss),
            f"< {TARGET_MB:.0f} MB",
            r.restart_rss < TARGET_MB * 1e6,
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--child"]:
        return _child(Path(args[1]), Path(args[2]), Path(args[3]))
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{_count(QUICK_SUBSCRIPTIONS)} subs")
    parser.add_argument("--subscriptions", type=int, help="subscriptions in the database")
    parser.add_argument("--stories", type=int, default=STORIES, help="stories in the library")
    options = parser.parse_args(args)
    count = options.subscriptions or (QUICK_SUBSCRIPTIONS if options.quick else FULL_SUBSCRIPTIONS)
    found = run(count, stories=options.stories)
    mode = "quick" if options.quick else "full"
    print(render_report(found, machine=describe().line(), mode=mode))
    for figure in found:
        if figure.passed is False:
            print(f"MISSED: {figure.name}: {figure.value} (target {figure.target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
