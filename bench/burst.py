"""A burst of interactions: 1,000 mixed commands injected within one second, every one to be
answered within Discord's 3 seconds.

The bot runs ``serialbot run`` in a process of its own (as in production), against the Discord
API double in this process with Discord's rate limits on. Channels are subscribed and have their
first part before the burst. The burst mixes ``/serial status`` (35 %), ``/serial read`` (25 %),
``/serial next`` (25 %: a quorum of three readers posts a part, so about one in three posts) and
``/serial stories`` (15 %) from many readers across the channels, injected at an even pace over
one second. The double stamps when it dispatched each interaction and when the first answer
(a reply or a deferral) arrived; an answer after 3 seconds is refused (10062) and counted late.
Deferred answers must then be completed. Nothing is projected: every interaction is waited for.

    python -m bench.burst [--quick] [--interactions N] [--channels N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import Figure, render_report
from bench._data import percentile
from bench.machine import describe
from tests.crash_harness import BotProcess, write_config
from tests.discord_double import DiscordDouble, InvokedInteraction
from tests.frontend_harness import write_story

NAME = "Burst"
TARGET_P99_S = 1.0
DEADLINE_S = 3.0
FULL_INTERACTIONS = 1000
QUICK_INTERACTIONS = 300
CHANNELS = 50
READERS = 100
WITHIN_S = 1.0
MIX = (
    ("serial status", 35),
    ("serial read", 25),
    ("serial next", 25),
    ("serial stories", 15),
)


@dataclass
class BurstRun:
    interactions: int
    injected_in: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    late: int = 0
    unanswered: int = 0
    deferred: int = 0
    deferred_completed: int = 0
    failed_answers: int = 0
    parts_posted: int = 0
    rate_limited: int = 0

    @property
    def all_latencies(self) -> list[float]:
        return [v for values in self.latencies.values() for v in values]


def _paragraphs() -> list[str]:
    return [
        f"Night {i} at the lighthouse began as every night did, with the keeper climbing the "
        f"stairs and counting each of the {100 + i} steps aloud to the wind."
        for i in range(1, 40)
    ]


async def _burst(interactions: int, channels: int, workdir: Path) -> BurstRun:
    run = BurstRun(interactions)
    rng = random.Random(13)
    double = DiscordDouble(rate_limits=True)
    await double.start()
    stories = workdir / "stories"
    stories.mkdir()
    write_story(stories, "lighthouse", _paragraphs(), title="The Lighthouse")
    config = write_config(
        workdir,
        double,
        schedule="weekly sun 03:00",
        next={"cooldown_minutes": 0, "quorum": 3},
        log_level="WARNING",
    )
    bot = BotProcess(double, config, workdir / "bot.log", speed=1.0)
    try:
        rooms = [await double.add_channel(f"reading-{n}") for n in range(channels)]
        readers = [await double.add_member(f"reader-{n}") for n in range(READERS)]
        await bot.start()
        await double.wait_until_connected(120)
        for room in rooms:
            record = await double.invoke(
                "serial subscribe",
                {"story": "lighthouse", "schedule": "weekly sun 03:00"},
                channel_id=room,
                user_id=double.admin_id,
            )
            await record.reply(30)
        # every channel has part 1 to re-read (three readers ask for it: the quorum)
        for room in rooms:
            firsts = [
                await double.invoke("serial next", channel_id=room, user_id=reader)
                for reader in readers[:3]
            ]
            for record in firsts:
                await record.reply(60)
        threads_before = sum(len(double.threads(r)) for r in rooms)
        requests_before = len(double.requests)

        commands = [c for c, weight in MIX for _ in range(weight)]
        plan = [
            (rng.choice(commands), rng.choice(rooms), rng.choice(readers))
            for _ in range(interactions)
        ]
        tasks: list[asyncio.Task[InvokedInteraction]] = []
        began = time.monotonic()
        for n, (command, room, reader) in enumerate(plan):
            await asyncio.sleep(max(0.0, began + n * WITHIN_S / interactions - time.monotonic()))
            options = {"part": 1} if command == "serial read" else {}
            tasks.append(
                asyncio.create_task(
                    double.invoke(command, options, channel_id=room, user_id=reader)
                )
            )
        records = await asyncio.gather(*tasks)
        run.injected_in = time.monotonic() - began

        for record in records:
            with contextlib.suppress(TimeoutError):
                await record.response(DEADLINE_S + 10)
            if record.rejected and any(code == 10062 for _, code in record.rejected):
                run.late += 1
            if record.latency is None:
                run.unanswered += 1
                continue
            run.latencies.setdefault(record.name, []).append(record.latency)
            if record.deferred:
                run.deferred += 1
        for record in records:
            if record.latency is None:
                continue
            try:
                text = await record.text(60)
            except TimeoutError:
                continue
            if record.deferred:
                run.deferred_completed += 1
            if "went wrong" in text:
                run.failed_answers += 1
        run.parts_posted = sum(len(double.threads(r)) for r in rooms) - threads_before
        run.rate_limited = sum(1 for r in double.requests[requests_before:] if r.status == 429)
        if double.internal_errors:
            raise RuntimeError(f"the double failed: {double.internal_errors[0]!r}")
        await bot.terminate(30)
    except BaseException:
        bot.kill_now()
        print(bot.output()[-5000:], file=sys.stderr)
        raise
    finally:
        await double.stop()
    return run


def measure(interactions: int = FULL_INTERACTIONS, *, channels: int = CHANNELS) -> BurstRun:
    with tempfile.TemporaryDirectory(prefix="serialbot-burst-") as tmp:
        return asyncio.run(_burst(interactions, channels, Path(tmp)))


def figures(run: BurstRun) -> list[Figure]:
    values = run.all_latencies
    p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
    worst = max(values) if values else float("nan")
    in_time = run.interactions - run.late - run.unanswered
    out = [
        Figure(
            NAME,
            f"{run.interactions:,} interactions injected in {run.injected_in:.2f} s: answered "
            f"within {DEADLINE_S:.0f} s",
            f"{in_time:,} ({run.late} late, {run.unanswered} unanswered)",
            "all",
            in_time == run.interactions,
        ),
        Figure(
            NAME,
            "first answer: p50 / p99 / worst",
            f"{p50:.3f} / {p99:.3f} / {worst:.3f} s",
            f"p99 < {TARGET_P99_S:.0f} s",
            p99 < TARGET_P99_S,
        ),
    ]
    for command, _ in MIX:
        own = run.latencies.get(command, [])
        out.append(
            Figure(
                NAME,
                f"/{command}: p99 ({len(own)} answered)",
                f"{percentile(own, 0.99):.3f} s",
            )
        )
    out.append(
        Figure(
            NAME,
            "deferred answers completed; answers saying something went wrong",
            f"{run.deferred_completed} of {run.deferred}; {run.failed_answers}",
            "all; 0",
            run.deferred_completed == run.deferred and run.failed_answers == 0,
        )
    )
    out.append(
        Figure(
            NAME,
            "parts posted by the burst; REST 429s meanwhile",
            f"{run.parts_posted}; {run.rate_limited}",
        )
    )
    return out


def run(interactions: int = FULL_INTERACTIONS, *, channels: int = CHANNELS) -> list[Figure]:
    return figures(measure(interactions, channels=channels))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.burst", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_INTERACTIONS} interactions")
    parser.add_argument("--interactions", type=int, help="how many in the burst")
    parser.add_argument("--channels", type=int, default=CHANNELS)
    options = parser.parse_args(argv)
    count = options.interactions or (QUICK_INTERACTIONS if options.quick else FULL_INTERACTIONS)
    found = figures(measure(count, channels=options.channels))
    print(
        render_report(found, machine=describe().line(), mode="quick" if options.quick else "full")
    )
    for figure in found:
        if figure.passed is False:
            print(f"MISSED: {figure.benchmark}: {figure.name}: {figure.value} ({figure.target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
