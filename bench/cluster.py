"""One process against three on the same channels: the real bot in processes of its own (``serialbot
run`` pointed at the double), six shards, one PostgreSQL database, against the Discord API double
in this process with Discord's rate limits on (50 requests/s for the whole bot, whatever the number
of processes). Every channel is due at once; the run lasts until every channel has its part.

Figures, over the posting window (first to last posting request):

- requests/s of the whole cluster, as a fraction of the global limit (target ≥ 95 %, and never
  over it: the processes share one request budget through PostgreSQL);
- 429 answers as a share of the requests (target ≤ 1 %);
- duplicates (must be 0) and channels posted.

Nothing is projected: each run posts to every channel.

    python -m bench.cluster [--quick] [--channels N] [--processes 1 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import yaml

from bench import Figure, render_report
from bench._data import short_story_text
from bench.machine import describe
from bot.library import Library
from bot.pgstore import PostgresStore
from tests.discord_double import DiscordDouble
from tests.discord_double.limits import GLOBAL_RATE_LIMIT
from tests.postgres_server import fresh_schema, throwaway_server

NAME = "Cluster"
TARGET_FRACTION = 0.95
TARGET_429_SHARE = 0.01
FULL_CHANNELS = 10_000
QUICK_CHANNELS = 600
SHARDS = 6
SLUG = "bench-story"
ROOT = Path(__file__).resolve().parent.parent
_THREAD = "POST /channels/{channel_id}/messages/{message_id}/threads"
_STALL = 60.0


@dataclass(frozen=True, slots=True)
class ClusterRun:
    processes: int
    channels: int
    delivered: int
    admitted: int
    window: float
    rate_limited: int
    requests: int
    duplicates: int
    seconds: float

    @property
    def rate(self) -> float:
        return (self.admitted - 1) / self.window if self.window > 0 else 0.0

    @property
    def fraction(self) -> float:
        return self.rate / GLOBAL_RATE_LIMIT

    @property
    def share_429(self) -> float:
        return self.rate_limited / self.requests if self.requests else 0.0


def _shard_sets(processes: int) -> list[list[int] | None]:
    if processes == 1:
        return [None]
    per = SHARDS // processes
    return [list(range(i * per, (i + 1) * per)) for i in range(processes)]


async def _run(processes: int, channels: int, server: str, workdir: Path) -> ClusterRun:
    stories = workdir / "stories"
    stories.mkdir(parents=True, exist_ok=True)
    (stories / f"{SLUG}.txt").write_text(short_story_text(2, words_per_part=80), encoding="utf-8")
    serial = Library.load(stories, words_per_part=80).get(SLUG)
    assert serial is not None
    database = fresh_schema(server)
    async with await PostgresStore.open(database):
        pass
    double = DiscordDouble(rate_limits=True)
    ids = await double.populate(channels)
    discord_log = logging.getLogger("discord")
    discord_log.setLevel(logging.ERROR)
    bots: list[asyncio.subprocess.Process] = []
    async with double:
        env = {**os.environ, "DISCORD_TOKEN": double.token, "PYTHONUNBUFFERED": "1"}
        env.pop("SERIALBOT_DATABASE", None)
        for n, shard_ids in enumerate(_shard_sets(processes)):
            config = workdir / f"bot{n}.yaml"
            config.write_text(
                yaml.safe_dump(
                    {
                        "stories": str(stories),
                        "database": database,
                        "words_per_part": 80,
                        "shards": {"count": SHARDS, "ids": shard_ids},
                        "cluster": {"poll_seconds": 1},
                        "log_level": "WARNING",
                    }
                ),
                encoding="utf-8",
            )
            with (workdir / f"bot{n}.log").open("wb") as out:
                bots.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "tests.discord_double.launch",
                        "--api",
                        double.api_base,
                        "--gateway",
                        str(double.gateway_url),
                        "--",
                        "run",
                        "--config",
                        str(config),
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=out,
                    )
                )
        try:
            await double.wait_until_connected(60)
            async with asyncio.timeout(120):
                while len(double.gateway.connected_sessions()) < SHARDS:
                    await asyncio.sleep(0.2)
            # Every channel due a moment from now: the processes find them on their next look.
            due = datetime.now(UTC) + timedelta(seconds=3)
            await _subscribe(database, double, ids, serial.story.revision, due)
            mark = len(double.requests)
            started = time.monotonic()
            delivered, last_progress = 0, started
            while delivered < channels:
                await asyncio.sleep(0.5)
                done = len(
                    {
                        r.path
                        for r in double.requests[mark:]
                        if r.route == _THREAD and 200 <= r.status < 300
                    }
                )
                if done > delivered:
                    delivered, last_progress = done, time.monotonic()
                if time.monotonic() - last_progress > _STALL:
                    raise RuntimeError(f"posting stalled at {delivered} of {channels} channels")
                if any(b.returncode is not None for b in bots):
                    raise RuntimeError(f"a bot process exited; see {workdir}")
            seconds = time.monotonic() - started
        finally:
            for bot in bots:
                with contextlib.suppress(ProcessLookupError):
                    bot.terminate()
            for bot in bots:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(bot.wait(), 30)
    records = [r for r in double.requests[mark:] if r.route and "/interactions/" not in r.route]
    admitted = [r for r in records if r.status != 429]
    posting = [r for r in admitted if r.route.startswith("POST /channels/")]
    window = (posting[-1].at - posting[0].at) if len(posting) > 1 else 0.0
    in_window = [r for r in admitted if posting and posting[0].at <= r.at <= posting[-1].at]
    threads = Counter(r.path for r in records if r.route == _THREAD and 200 <= r.status < 300)
    duplicates = len(double.duplicate_messages()) + sum(n - 1 for n in threads.values())
    return ClusterRun(
        processes=processes,
        channels=channels,
        delivered=len(threads),
        admitted=len(in_window),
        window=window,
        rate_limited=sum(1 for r in records if r.status == 429),
        requests=len(records),
        duplicates=duplicates,
        seconds=seconds,
    )


async def _subscribe(
    database: str, double: DiscordDouble, ids: Sequence[int], revision: str, due: datetime
) -> None:
    stamp = due.isoformat(timespec="microseconds")
    rows = [
        (
            double.channel(c).guild_id,
            c,
            SLUG,
            revision,
            1,
            0,
            "daily 18:00",
            "UTC",
            stamp,
            stamp,
            "one",
            1,
            stamp,
            stamp,
        )
        for c in ids
    ]
    db = await asyncpg.connect(database)
    try:
        await db.executemany(
            """
            INSERT INTO subscriptions (guild_id, channel_id, slug, revision, next_part, position,
                schedule, timezone, slot_due, next_due, catch_up, subscribed_by, created_at,
                updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
            """,
            rows,
        )
    finally:
        await db.close()


def measure(channels: int, processes: Sequence[int]) -> list[ClusterRun]:
    runs = []
    with throwaway_server() as server:
        for count in processes:
            with tempfile.TemporaryDirectory(prefix="serialbot-cluster-") as tmp:
                runs.append(asyncio.run(_run(count, channels, server, Path(tmp))))
    return runs


def figures(runs: Sequence[ClusterRun]) -> list[Figure]:
    out: list[Figure] = []
    for r in runs:
        label = f"{r.channels:,} channels, {r.processes} process{'es' if r.processes > 1 else ''}"
        out.append(
            Figure(
                NAME,
                f"{label}: requests/s ÷ global limit",
                f"{r.fraction:.1%} ({r.rate:.1f}/s over {r.window:.0f} s)",
                f"≥ {TARGET_FRACTION:.0%}, ≤ 100 %",
                TARGET_FRACTION <= r.fraction <= 1.0,
            )
        )
        out.append(
            Figure(
                NAME,
                f"{label}: 429 answers",
                f"{r.rate_limited} of {r.requests:,} ({r.share_429:.2%})",
                f"≤ {TARGET_429_SHARE:.0%}",
                r.share_429 <= TARGET_429_SHARE,
            )
        )
        out.append(
            Figure(
                NAME,
                f"{label}: duplicates; channels posted",
                f"{r.duplicates}; {r.delivered:,} of {r.channels:,} in {r.seconds:.0f} s",
                "0; all",
                r.duplicates == 0 and r.delivered == r.channels,
            )
        )
    return out


def run(channels: int = FULL_CHANNELS, processes: Sequence[int] = (1, 3)) -> list[Figure]:
    return figures(measure(channels, processes))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CHANNELS} channels")
    parser.add_argument("--channels", type=int, default=None)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 3])
    options = parser.parse_args(argv)
    channels = options.channels or (QUICK_CHANNELS if options.quick else FULL_CHANNELS)
    found = run(channels, options.processes)
    report = render_report(
        found, machine=describe().line(), mode="quick" if options.quick else "full"
    )
    print(report)
    if any(f.passed is False for f in found):
        print("MISSED: at least one target above was not met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
