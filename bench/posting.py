"""Posting on the wire, as in production: channels all due at the same moment, posted by
``serialbot run`` in its own process to the Discord API double in another, with Discord's rate
limits on (50 requests/s global, 5 messages per 5 s per channel) and the global window modelled
both ways (``fixed`` and ``sliding``; Discord does not document its shape).

Each delivery is four requests: the part's header, its text (one message), the discussion thread
and the message opening it (every channel gets its first part here; from the second part on, a
fifth request hands off from the last part's thread). Every run goes to the end (until every
channel has its part, or nothing moved for a minute): nothing is projected. Figures per run, from
the double's own log:

- delivered: channels holding exactly the header and the text, in that order, and one thread
  with its opening message;
- requests/s admitted by the double between the first and the last request of the burst, as a
  fraction of the 50/s ideal (parts/s alongside);
- 429 answers (global ones in brackets) as a fraction of the bot's requests, and the most
  invalid requests (401/403/429) in any ten minutes, against Discord's ban line of 10,000;
- duplicates (messages or threads beyond one delivery per channel), and order: every channel's
  messages in order, and how far the first posts stray from the due order (channel by channel);
- CPU of the whole bot process per delivered part, against a bare discord.py poster
  (``bench._bare``) making the same requests at the same pace, to as many other channels of the
  same double, in the same run (once per channel count: its cost does not depend on the window
  model). discord.py's own cost per request grows with the number of rate-limit buckets it
  knows (it scans them all whenever it meets a new one), so the floor is measured at the same
  number of channels.

    python -m bench.posting [--quick] [--channels N ...] [--windows fixed sliding]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import Figure, render_report
from bench._data import NewSubscription, populate, short_story_text
from bench._processes import channels_by_name, cpu_seconds, get_json, process, wait_for
from bench.machine import describe
from bot.config import DiscordSettings, ThreadSettings
from bot.library import Library
from bot.render import render_part
from bot.store import Store
from bot.together import opener_text

NAME = "Posting"
TARGET_FRACTION = 0.95
TARGET_LIMITED = 0.01
TARGET_CPU_RATIO = 1.5
BAN_LINE = 10_000
GLOBAL_LIMIT = 50.0
FULL_CHANNELS = (1_000, 10_000)
QUICK_CHANNELS = (200,)
WINDOWS = ("fixed", "sliding")
STORY = "bench-story"
WORDS_PER_PART = 80
# Give up when nothing was delivered for this long (something is wrong, not slow).
STALL_SECONDS = 60.0
_MESSAGES = "POST /channels/{channel_id}/messages"
_TOKEN_ROUTES = ("/interactions/", "/webhooks/")


@dataclass(frozen=True, slots=True)
class PostingRun:
    channels: int
    window: str
    delivered: int
    stalled: bool
    ready_before_due: bool
    seconds: float
    requests: int
    admitted: int
    span: float
    rate_limited: int
    rate_limited_global: int
    invalid_peak: int
    duplicates: int
    misordered: int
    displacement: int
    bot_cpu: float
    bare_parts: int
    bare_cpu: float

    @property
    def rate(self) -> float:
        return (self.admitted - 1) / self.span if self.span > 0 else 0.0

    @property
    def fraction(self) -> float:
        return self.rate / GLOBAL_LIMIT

    @property
    def limited_fraction(self) -> float:
        return self.rate_limited / self.requests if self.requests else 1.0

    @property
    def cpu_per_part(self) -> float:
        return self.bot_cpu / self.delivered if self.delivered else float("inf")

    @property
    def bare_cpu_per_part(self) -> float:
        return self.bare_cpu / self.bare_parts if self.bare_parts else float("nan")


def _write_config(workdir: Path, due: datetime) -> Path:
    config = workdir / "serialbot.yaml"
    config.write_text(
        f"stories: {workdir / 'stories'}\n"
        f"database: {workdir / 'bench.sqlite3'}\n"
        f"words_per_part: {WORDS_PER_PART}\n"
        f'schedule:\n  default: "daily {due:%H:%M}"\n'
        "log_level: INFO\n",
        encoding="utf-8",
    )
    return config


async def _subscribe(workdir: Path, guilds: dict[int, int], due: datetime, revision: str,
                     parts: int) -> None:  # fmt: skip
    store = await Store.open(workdir / "bench.sqlite3")
    try:
        await populate(
            store,
            (
                NewSubscription(
                    guild_id=guild_id,
                    channel_id=channel_id,
                    slug=STORY,
                    schedule=f"daily {due:%H:%M}",
                    slot_due=due,
                )
                for channel_id, guild_id in guilds.items()
            ),
            revision=revision,
            now=datetime.now(UTC),
            part_count=parts,
        )
    finally:
        await store.close()


def _post(
    channels: int, window: str, workdir: Path, bare_result: dict[str, Any] | None
) -> tuple[PostingRun, dict[str, Any]]:
    import asyncio

    stories = workdir / "stories"
    stories.mkdir(parents=True, exist_ok=True)
    (stories / f"{STORY}.txt").write_text(
        short_story_text(40, words_per_part=WORDS_PER_PART), encoding="utf-8"
    )
    library = Library.load(stories, words_per_part=WORDS_PER_PART)
    serial = library.get(STORY)
    if serial is None:
        raise RuntimeError(f"the benchmark story did not load: {library.problems}")
    rendered = render_part(serial, serial.part(1))
    expected = [t[:120] for t in (rendered.header, *rendered.messages)]
    rule = ThreadSettings().discussion_rule
    opener = opener_text(1, len(serial.parts), rule=rule, previous_thread=None)
    bare_count = channels if bare_result is None else 0
    env = dict(os.environ)
    python = sys.executable

    double_args = [python, "-m", "tests.discord_double", "--rate-limits", "--window", window,
                   "--channels", str(channels + bare_count), "--full"]  # fmt: skip
    with process(double_args, workdir / "double.log", env) as double:
        assert double.stdout is not None
        info = json.loads(double.stdout.readline())
        base = info["api_base"].rsplit("/api/", 1)[0]
        names = channels_by_name(get_json(f"{base}/_double/world"))
        ids = [names[f"serial-{i + 1}"] for i in range(channels + bare_count)]
        bot_ids, bare_ids = ids[:channels], ids[channels:]
        world = get_json(f"{base}/_double/world")
        guild_of = {
            int(c): int(g) for g, guild in world["guilds"].items() for c in guild["channels"]
        }
        # Due far enough ahead for the bot to start and connect first.
        due = (datetime.now(UTC) + timedelta(seconds=8 + channels / 500)).replace(microsecond=0)
        asyncio.run(
            _subscribe(
                workdir,
                {c: guild_of[c] for c in bot_ids},
                due,
                serial.story.revision,
                len(serial.parts),
            )
        )
        config = _write_config(workdir, due)
        env["DISCORD_TOKEN"] = info["token"]
        api, gateway = info["api_base"], info["gateway_url"]
        bot_args = [python, "-m", "tests.discord_double.launch", "--api", api,
                    "--gateway", gateway, "--", "run", "--config", str(config)]  # fmt: skip
        bot_log = workdir / "bot.log"
        with process(bot_args, bot_log, env) as bot:
            ready = wait_for(
                lambda: "connected as" in bot_log.read_text(errors="replace"),
                max(5.0, (due - datetime.now(UTC)).total_seconds()),
            )
            time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
            mark = get_json(f"{base}/_double/progress")["requests"]
            cpu_start, started = cpu_seconds(bot.pid), time.monotonic()
            delivered, last_progress, stalled = 0, started, False
            while delivered < channels:
                time.sleep(1.0)
                done = get_json(f"{base}/_double/progress")["threads"]
                if done > delivered:
                    delivered, last_progress = done, time.monotonic()
                elif time.monotonic() - last_progress > STALL_SECONDS or bot.poll() is not None:
                    stalled = True
                    break
            seconds = time.monotonic() - started
            # The last threads' opening messages follow their threads.
            time.sleep(3.0)
            bot_cpu = cpu_seconds(bot.pid) - cpu_start if bot.poll() is None else float("nan")
            end = get_json(f"{base}/_double/progress")["requests"]

        if bare_result is None:
            bare_result = _bare(bare_ids, [rendered.header, rendered.messages[0], opener], api,
                                gateway, workdir, env)  # fmt: skip
        log = get_json(f"{base}/_double/log")

    records = [r for r in log["requests"][mark:end] if r[2] and not r[3].startswith(_TOKEN_ROUTES)]
    found = _judge(channels, window, bot_ids, expected, records, log, bare_result,
                   delivered_seen=delivered, stalled=stalled, ready=ready, seconds=seconds,
                   bot_cpu=bot_cpu)  # fmt: skip
    return found, bare_result


def _bare(
    channel_ids: list[int],
    texts: list[str],
    api: str,
    gateway: str,
    workdir: Path,
    env: dict[str, str],
) -> dict[str, Any]:
    listing = workdir / "bare-channels.txt"
    listing.write_text("\n".join([*map(str, channel_ids), json.dumps(texts)]), encoding="utf-8")
    rate = DiscordSettings().requests_per_second
    bare_args = [sys.executable, "-m", "bench._bare", "--api", api, "--gateway", gateway,
                 "--channels", str(listing), "--rate", str(rate)]  # fmt: skip
    with process(bare_args, workdir / "bare.log", env) as bare:
        assert bare.stdout is not None
        result: dict[str, Any] = json.loads(bare.stdout.readline() or "{}")
    return result


def _judge(
    channels: int,
    window: str,
    bot_ids: list[int],
    expected: list[str],
    records: list[list[Any]],
    log: dict[str, Any],
    bare: dict[str, Any],
    *,
    delivered_seen: int,
    stalled: bool,
    ready: bool,
    seconds: float,
    bot_cpu: float,
) -> PostingRun:
    held = log["channels"]
    delivered = misordered = excess = 0
    for channel_id in bot_ids:
        entry = held.get(str(channel_id), {"messages": [], "threads": 0, "thread_messages": 0})
        messages, threads, opened = entry["messages"], entry["threads"], entry["thread_messages"]
        excess += max(0, len(messages) - len(expected)) + max(0, threads - 1) + max(0, opened - 1)
        if messages == expected and threads == 1 and opened == 1:
            delivered += 1
        elif len(messages) >= len(expected) and messages[: len(expected)] != expected:
            misordered += 1
    admitted = [r for r in records if r[4] != 429]
    limited = [r for r in records if r[4] == 429]
    span = admitted[-1][0] - admitted[0][0] if len(admitted) > 1 else 0.0
    invalid = sorted(r[0] for r in records if r[4] in (401, 403, 429))
    peak = start = 0
    for i, at in enumerate(invalid):
        while invalid[start] < at - 600.0:
            start += 1
        peak = max(peak, i - start + 1)
    # How far the first posts stray from the due order (subscription order).
    first: dict[str, float] = {}
    for r in records:
        if r[2] == _MESSAGES and 200 <= r[4] < 300:
            first.setdefault(r[3].split("/")[2], r[0])
    due_rank = {str(c): i for i, c in enumerate(bot_ids)}
    # (Threads' opening messages go to the threads, which have no place in the due order.)
    posted_order = sorted((c for c in first if c in due_rank), key=first.__getitem__)
    displacement = max(
        (abs(rank - due_rank[c]) for rank, c in enumerate(posted_order)),
        default=0,
    )
    return PostingRun(
        channels=channels,
        window=window,
        delivered=delivered,
        stalled=stalled or delivered_seen < channels,
        ready_before_due=ready,
        seconds=seconds,
        requests=len(records),
        admitted=len(admitted),
        span=span,
        rate_limited=len(limited),
        rate_limited_global=sum(1 for r in limited if r[6]),
        invalid_peak=peak,
        duplicates=max(excess, log["duplicates"]),
        misordered=misordered,
        displacement=displacement,
        bot_cpu=bot_cpu,
        bare_parts=int(bare.get("parts", 0)),
        bare_cpu=float(bare.get("cpu_seconds", float("nan"))),
    )


def measure(channel_counts: Sequence[int], windows: Sequence[str] = WINDOWS) -> list[PostingRun]:
    runs = []
    for channels in channel_counts:
        bare: dict[str, Any] | None = None
        for window in windows:
            with tempfile.TemporaryDirectory(prefix="serialbot-bench-") as tmp:
                found, bare = _post(channels, window, Path(tmp), bare)
                runs.append(found)
    return runs


def run(
    channel_counts: Sequence[int] = FULL_CHANNELS, windows: Sequence[str] = WINDOWS
) -> list[Figure]:
    return figures(measure(channel_counts, windows))


def _count(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def figures(runs: Sequence[PostingRun]) -> list[Figure]:
    out: list[Figure] = []
    for r in runs:
        label = f"{_count(r.channels)} channels, {r.window} window"
        late = "" if r.ready_before_due else "; the bot connected after the due time"
        out.append(
            Figure(
                NAME,
                f"{label}: delivered in the burst (all due at once)",
                f"{r.delivered:,}/{r.channels:,} in {r.seconds:.0f} s"
                + (" (stalled)" if r.stalled else "")
                + late,
                "all",
                r.delivered == r.channels and not r.stalled,
            )
        )
        parts_rate = r.delivered / r.span if r.span > 0 else 0.0
        out.append(
            Figure(
                NAME,
                f"{label}: requests/s ÷ the 50/s ideal",
                f"{r.fraction:.1%} ({r.rate:.1f}/s over {r.span:.0f} s; {parts_rate:.1f} parts/s)",
                f"≥ {TARGET_FRACTION:.0%}",
                r.fraction >= TARGET_FRACTION,
            )
        )
        out.append(
            Figure(
                NAME,
                f"{label}: 429 answers (global) ÷ requests",
                f"{r.rate_limited:,} ({r.rate_limited_global:,}) of {r.requests:,} = "
                f"{r.limited_fraction:.2%}",
                f"≤ {TARGET_LIMITED:.0%}",
                r.limited_fraction <= TARGET_LIMITED,
            )
        )
        out.append(
            Figure(
                NAME,
                f"{label}: invalid requests, most in any 10 min",
                f"{r.invalid_peak:,}",
                f"far below {BAN_LINE:,} (≤ 1 %)",
                r.invalid_peak <= BAN_LINE // 100,
            )
        )
        out.append(
            Figure(
                NAME,
                f"{label}: duplicates; channels out of order",
                f"{r.duplicates}; {r.misordered} (first posts within {r.displacement} places "
                "of the due order)",
                "0; 0",
                r.duplicates == 0 and r.misordered == 0 and r.delivered > 0,
            )
        )
        ratio = r.cpu_per_part / r.bare_cpu_per_part if r.bare_parts else float("nan")
        out.append(
            Figure(
                NAME,
                f"{label}: CPU per part, whole bot ÷ bare discord.py ({r.bare_parts:,} parts)",
                f"{r.cpu_per_part * 1000:.2f} ms ÷ {r.bare_cpu_per_part * 1000:.2f} ms = "
                f"{ratio:.2f}×",
                f"≤ {TARGET_CPU_RATIO}×",
                ratio <= TARGET_CPU_RATIO,
            )
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.posting", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CHANNELS[0]} channels only")
    parser.add_argument("--channels", type=int, nargs="+", help="channel counts to run")
    parser.add_argument("--windows", nargs="+", choices=WINDOWS, default=list(WINDOWS))
    options = parser.parse_args(argv)
    counts = options.channels or (QUICK_CHANNELS if options.quick else FULL_CHANNELS)
    found = run(counts, options.windows)
    mode = "quick" if options.quick else "full"
    print(render_report(found, machine=describe().line(), mode=mode))
    missed = [f for f in found if f.passed is False]
    for f in missed:
        print(f"MISSED: {f.benchmark}: {f.name}: {f.value} (target {f.target})")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
