"""Posting throughput on the wire: channels all due in the same minute, posted by the real bot
(scheduler, ``DiscordPoster``, discord.py) to the Discord API double with Discord's rate limits on
(50 requests/s global, 5 messages per 5 s per channel).

Each delivery of the benchmark story is three requests: the part's header, its text (one message)
and the discussion thread. Figures, over the posting window (first to last request after the due
minute):

- delivered requests per second, as a fraction of the global limit;
- duplicates: messages or threads beyond one delivery per channel (must be 0);
- spread between the first and the last channel's first post;
- 429 answers (discord.py has no proactive global throttle: it learns the limit by meeting it).

10,000 channels take over ten minutes at 50 requests/s, so a run may stop after ``seconds``; the
figures then cover the channels posted so far, and the full spread is projected from the rate.

    python -m bench.posting [--quick] [--channels N ...] [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench import Figure, render_report
from bench._wire import DUE_AT, bot_on_double
from bench.machine import describe
from bot.render import render_part
from tests.discord_double.limits import GLOBAL_RATE_LIMIT, MessageType

NAME = "Posting"
TARGET_FRACTION = 0.95
FULL_CHANNELS = (1_000, 10_000)
QUICK_CHANNELS = (200,)
# Stop a run after this long (10k channels would take over ten minutes).
FULL_SECONDS = 150.0
_MESSAGES = "POST /channels/{channel_id}/messages"
_THREAD_FROM_MESSAGE = "POST /channels/{channel_id}/messages/{message_id}/threads"
_POLL = 0.25
# Give up when nothing was posted for this long (something is wrong, not slow).
_STALL = 30.0


@dataclass(frozen=True, slots=True)
class PostingRun:
    channels: int
    capped: bool
    seconds: float
    delivered: int
    requests_per_delivery: int
    admitted: int
    window: float
    rate_limited: int
    rate_limited_global: int
    duplicates: int
    spread: float
    concurrency: int
    connect_seconds: float

    @property
    def rate(self) -> float:
        return (self.admitted - 1) / self.window if self.window > 0 else 0.0

    @property
    def fraction(self) -> float:
        return self.rate / GLOBAL_RATE_LIMIT

    @property
    def projected_spread(self) -> float:
        """The spread for every channel at the measured rate (for a capped run)."""
        if self.rate <= 0:
            return float("inf")
        return self.channels * self.requests_per_delivery / self.rate


async def _post(channels: int, seconds: float | None, workdir: Path) -> PostingRun:
    before_due = DUE_AT - timedelta(minutes=1)
    began = time.perf_counter()
    async with bot_on_double(
        workdir, channels=channels, rate_limits=True, clock_start=before_due
    ) as wired:
        connect_seconds = time.perf_counter() - began
        double = wired.double
        part = wired.serial.part(1)
        expected_messages = 1 + len(render_part(wired.serial, part).messages)
        per_delivery = expected_messages + 1  # and the thread
        mark = len(double.requests)
        started = time.monotonic()
        wired.clock.set(DUE_AT)
        delivered = 0
        last_progress = started
        capped = False
        while delivered < channels:
            await asyncio.sleep(_POLL)
            now = time.monotonic()
            done = sum(
                1
                for r in double.requests[mark:]
                if r.route == _THREAD_FROM_MESSAGE and 200 <= r.status < 300
            )
            if done > delivered:
                delivered, last_progress = done, now
            if seconds is not None and now - started >= seconds:
                capped = delivered < channels
                break
            if now - last_progress > _STALL:
                raise RuntimeError(f"posting stalled after {delivered} of {channels} channels")
        elapsed = time.monotonic() - started
        # Stop the scheduler now: posts under way finish, nothing new starts.
        await wired.bot.scheduler.stop()
        concurrency = wired.bot.scheduler.settings.concurrency

    records = [r for r in double.requests[mark:] if r.route and "/interactions/" not in r.route]
    admitted = [r for r in records if r.status != 429]
    window = (admitted[-1].at - admitted[0].at) if len(admitted) > 1 else 0.0
    limited = [r for r in records if r.status == 429]
    created = [r for r in records if r.route == _MESSAGES and 200 <= r.status < 300]
    threads = [r for r in records if r.route == _THREAD_FROM_MESSAGE and 200 <= r.status < 300]
    threads_per_channel = Counter(r.path.split("/")[2] for r in threads)
    # A retried create that Discord answered from its nonce is no second message; count what
    # the channels hold, beyond one delivery each.
    held = Counter(
        m.channel_id
        for c in wired.channels
        for m in double.bot_messages(c)
        if m.type == MessageType.default
    )
    excess = sum(max(0, n - expected_messages) for n in held.values()) + sum(
        max(0, n - 1) for n in threads_per_channel.values()
    )
    duplicates = max(excess, len(double.duplicate_messages()))
    firsts: dict[str, float] = {}
    for r in created:
        firsts.setdefault(r.path.split("/")[2], r.at)
    spread = (max(firsts.values()) - min(firsts.values())) if firsts else 0.0
    if double.internal_errors:
        raise RuntimeError(f"the double failed: {double.internal_errors[0]!r}")
    return PostingRun(
        channels=channels,
        capped=capped,
        seconds=elapsed,
        delivered=len(threads_per_channel),
        requests_per_delivery=per_delivery,
        admitted=len(admitted),
        window=window,
        rate_limited=len(limited),
        rate_limited_global=sum(1 for r in limited if r.is_global),
        duplicates=duplicates,
        spread=spread,
        concurrency=concurrency,
        connect_seconds=connect_seconds,
    )


def measure(channel_counts: Sequence[int], *, seconds: float | None) -> list[PostingRun]:
    runs = []
    for channels in channel_counts:
        with tempfile.TemporaryDirectory(prefix="serialbot-bench-") as tmp:
            runs.append(asyncio.run(_post(channels, seconds, Path(tmp))))
    return runs


def run(
    channel_counts: Sequence[int] = FULL_CHANNELS, *, seconds: float | None = FULL_SECONDS
) -> list[Figure]:
    return figures(measure(channel_counts, seconds=seconds))


def _count(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def figures(runs: Sequence[PostingRun]) -> list[Figure]:
    out: list[Figure] = []
    for r in runs:
        label = f"{_count(r.channels)} channels"
        if r.capped:
            label += f" (stopped after {r.seconds:.0f} s: {r.delivered:,} posted)"
        out.append(
            Figure(
                NAME,
                f"{label}: requests/s ÷ global limit",
                f"{r.fraction:.1%} ({r.rate:.1f}/s over {r.window:.0f} s)",
                f"≥ {TARGET_FRACTION:.0%}",
                r.fraction >= TARGET_FRACTION,
            )
        )
        out.append(
            Figure(
                NAME,
                f"{_count(r.channels)} channels: duplicates",
                f"{r.duplicates}",
                "0",
                r.duplicates == 0 and r.delivered > 0,
            )
        )
        spread = f"{r.spread:.0f} s"
        if r.capped:
            spread = f"{r.spread:.0f} s so far; {r.projected_spread:.0f} s projected for all"
        else:
            spread += f" ({r.delivered:,} channels × {r.requests_per_delivery} requests)"
        out.append(Figure(NAME, f"{_count(r.channels)} channels: first → last channel", spread))
        out.append(
            Figure(
                NAME,
                f"{_count(r.channels)} channels: 429 answers (global)",
                f"{r.rate_limited} ({r.rate_limited_global}); concurrency {r.concurrency}",
            )
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.posting", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CHANNELS[0]} channels only")
    parser.add_argument("--channels", type=int, nargs="+", help="channel counts to run")
    parser.add_argument(
        "--seconds",
        type=float,
        default=FULL_SECONDS,
        help=f"stop a run after this long (default {FULL_SECONDS:.0f}; 0 for no limit)",
    )
    options = parser.parse_args(argv)
    counts = options.channels or (QUICK_CHANNELS if options.quick else FULL_CHANNELS)
    found = run(counts, seconds=options.seconds or None)
    mode = "quick" if options.quick else "full"
    print(render_report(found, machine=describe().line(), mode=mode))
    return 0


if __name__ == "__main__":
    sys.exit(main())
