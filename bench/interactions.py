"""Interaction handling: the time from an injected ``/serial status`` or ``/serial next`` to the
bot's answer on the wire.

The real bot runs against the Discord API double with Discord's rate limits on. A reader invokes
each command in turn across subscribed channels; the double stamps the moment it dispatches the
interaction and the moment the bot's first answer arrives. ``/serial next`` posts a whole part
(header, text and thread: three requests) before it answers, with the channel cooldown set to zero
so every request posts. Commands are paced (one pair per ``interval``) so posting stays under the
global limit: this measures the bot's handling, not queueing behind a 429. Double and bot share
one process and event loop, so the double's own handling is in the figures too.

    python -m bench.interactions [--quick] [--samples N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bench import Figure, render_report
from bench._data import percentile
from bench._wire import DUE_AT, bot_on_double
from bench.machine import describe
from tests.discord_double import CallbackType

NAME = "Interactions"
TARGET_P99_MS = 50.0
FULL_SAMPLES = 200
QUICK_SAMPLES = 40
CHANNELS = 40
# One status and one next per interval: three posting requests, well under 50 per second, and
# at most a message per second in any one channel.
INTERVAL = 0.08
COMMANDS = ("serial status", "serial next")


@dataclass
class Latencies:
    samples: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in COMMANDS})
    answers: dict[str, dict[str, int]] = field(default_factory=dict)
    # parts the double received threads for: each /serial next must have posted one
    parts_posted: int = 0


async def _measure(samples: int, channels: int, workdir: Path) -> Latencies:
    result = Latencies()
    async with bot_on_double(
        workdir,
        channels=channels,
        rate_limits=True,
        clock_start=DUE_AT - timedelta(hours=6),
        parts=max(10, samples // channels + 5),
        cooldown_minutes=0,
        main_guild=True,
    ) as wired:
        double = wired.double
        for i in range(samples):
            began = time.monotonic()
            channel = wired.channels[i % len(wired.channels)]
            for command in COMMANDS:
                record = await double.invoke(command, channel_id=channel, user_id=double.reader_id)
                kind = await record.response(timeout=5.0)
                latency = record.latency
                assert latency is not None
                result.samples[command].append(latency)
                counts = result.answers.setdefault(command, {})
                name = CallbackType(kind).name
                counts[name] = counts.get(name, 0) + 1
            await asyncio.sleep(max(0.0, INTERVAL - (time.monotonic() - began)))
        result.parts_posted = len(
            double.requests_to("POST", r"^/channels/\d+/messages/\d+/threads$")
        )
        if double.internal_errors:
            raise RuntimeError(f"the double failed: {double.internal_errors[0]!r}")
    return result


def measure(samples: int = FULL_SAMPLES, *, channels: int = CHANNELS) -> Latencies:
    with tempfile.TemporaryDirectory(prefix="serialbot-bench-") as tmp:
        return asyncio.run(_measure(samples, min(channels, samples), Path(tmp)))


def run(samples: int = FULL_SAMPLES, *, channels: int = CHANNELS) -> list[Figure]:
    return figures(measure(samples, channels=channels))


def figures(latencies: Latencies) -> list[Figure]:
    out: list[Figure] = []
    for command in COMMANDS:
        values = latencies.samples[command]
        p50 = percentile(values, 0.5) * 1000
        p99 = percentile(values, 0.99) * 1000
        answers = ", ".join(f"{n} {k}" for k, n in latencies.answers.get(command, {}).items())
        if command == "serial next":
            answers += f"; {latencies.parts_posted} parts posted"
        out.append(
            Figure(
                NAME,
                f"/{command}: p50 / p99 ({len(values)} runs; {answers})",
                f"{p50:.1f} / {p99:.1f} ms",
                f"p99 < {TARGET_P99_MS:.0f} ms",
                p99 < TARGET_P99_MS,
            )
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.interactions", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SAMPLES} runs per command")
    parser.add_argument("--samples", type=int, help="runs per command")
    options = parser.parse_args(argv)
    samples = options.samples or (QUICK_SAMPLES if options.quick else FULL_SAMPLES)
    found = run(samples)
    mode = "quick" if options.quick else "full"
    print(render_report(found, machine=describe().line(), mode=mode))
    return 0


if __name__ == "__main__":
    sys.exit(main())
