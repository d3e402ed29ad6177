"""Posting on the wire, as in production: channels all due at the same moment, posted by
``serialbot run`` in its own process to the Discord API double in another, with Discord's rate
limits on (50 requests/s global, 5 messages per 5 s per channel) and the global window modelled
both ways (``fixed`` and ``sliding``; Discord does not document its shape).

A first part is four requests: the part's header, its text (one message), the discussion thread
and the message opening it. From the second part on a fifth hands off from the last part's
thread. So each run posts every channel its first part and, up to ``SECOND_PART_UP_TO``
channels, then its second part: the bot is stopped, every channel made due again at one moment,
and the bot started again (as after a restart on the next day). Every round goes to the end
(until every channel has its part, or nothing moved for a minute): nothing is projected.
Figures per round, from the double's own log:

- delivered: channels holding exactly the headers and texts so far, in that order, a thread per
  part, and in them the opening messages (and the hand-off);
- requests/s admitted by the double between the first and the last request of the burst, as a
  fraction of the 50/s ideal (parts/s alongside);
- 429 answers (global ones in brackets) as a fraction of the bot's requests, and the most
  invalid requests (401/403/429) in any ten minutes, against Discord's ban line of 10,000;
- duplicates (messages or threads beyond one delivery per channel), and order: every channel's
  messages in order, and how far the first posts stray from the due order (channel by channel);
- CPU of the whole bot process per delivered part, against a bare discord.py poster
  (``bench._bare``) making the same requests at the same pace, to as many other channels of the
  same double, in the same run (once per channel count and part: its cost does not depend on
  the window model). discord.py's own cost per request grows with the number of rate-limit
  buckets it knows (it scans them all whenever it meets a new one), so the floor is measured at
  the same number of channels, each round in a fresh process as the bot's.

The CPU window is the same for both processes, read from ``/proc`` by this script: it opens when
the burst starts (the due time for the bot, the moment the bare poster is told to go; both have
been connected and idle for seconds by then, and the CPU each spent in the second before is
shown) and closes ``SETTLE_SECONDS`` after the double has answered every request of the round,
both watched by the same poll. Start-up (library, gateway, the guilds' channels, command sync)
falls outside it for both; what the bot does after a part's last request (recording it, the
thread's bookkeeping) falls inside.

    python -m bench.posting [--quick] [--channels N ...] [--windows fixed sliding]
        [--second-part-up-to N] [--results FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import Figure, render_report
from bench._data import NewSubscription, populate, short_story_text
from bench._processes import channels_by_name, cpu_seconds, get_json, process, wait_for
from bench.machine import describe
from bench.results import update_results
from bot.config import DiscordSettings, ThreadSettings
from bot.library import Library
from bot.render import render_part
from bot.store import Store
from bot.together import hand_off_text, opener_text

NAME = "Posting"
TARGET_FRACTION = 0.95
TARGET_LIMITED = 0.01
TARGET_CPU_RATIO = 1.5
BAN_LINE = 10_000
GLOBAL_LIMIT = 50.0
FULL_CHANNELS = (1_000, 10_000)
QUICK_CHANNELS = (200,)
# The second part (five requests) is posted in the runs up to this many channels.
SECOND_PART_UP_TO = 1_000
WINDOWS = ("fixed", "sliding")
STORY = "bench-story"
WORDS_PER_PART = 80
REQUESTS = {1: 4, 2: 5}
# Give up when nothing was delivered for this long (something is wrong, not slow).
STALL_SECONDS = 60.0
POLL_SECONDS = 0.2
SETTLE_SECONDS = 1.0
_MESSAGES = "POST /channels/{channel_id}/messages"
_TOKEN_ROUTES = ("/interactions/", "/webhooks/")


@dataclass(frozen=True, slots=True)
class PostingRun:
    channels: int
    window: str
    part: int
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
    bot_idle: float
    bare_parts: int
    bare_cpu: float
    bare_idle: float

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


@dataclass(frozen=True, slots=True)
class Burst:
    """One process's round, as this script watched it."""

    mark: int  # the double's request count when it began
    end: int  # ... and when it was read after the settle
    cpu: float  # seconds of CPU in the window
    idle: float  # seconds of CPU in the second before it
    seconds: float  # from the start to the round's last answer
    stalled: bool


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


def _due_again(database: Path, due: datetime) -> None:
    """Every channel due at ``due`` (the bot is stopped meanwhile), as on the next day."""
    stamp = due.astimezone(UTC).isoformat(timespec="microseconds")
    with sqlite3.connect(database) as db:
        db.execute("UPDATE subscriptions SET next_due = ?, slot_due = ?", (stamp, stamp))


def _watch(pid: int, base: str, start: Callable[[], None], expected: int, channels: int,
           alive: Callable[[], bool]) -> Burst:  # fmt: skip
    """Read a process's CPU over one round: from ``start()`` (the burst begins) until the
    double has answered ``expected`` requests (429s aside) and seen ``channels`` more threads,
    plus ``SETTLE_SECONDS``; the same for the bot and the bare poster."""
    before = cpu_seconds(pid)
    time.sleep(1.0)
    at_start = get_json(f"{base}/_double/progress")
    cpu_start = cpu_seconds(pid)
    began = time.monotonic()
    start()
    mark, limited, threads = (at_start[k] for k in ("requests", "rate_limited", "threads"))
    done, moved, stalled = 0, began, False
    while True:
        time.sleep(POLL_SECONDS)
        now = get_json(f"{base}/_double/progress")
        admitted = now["requests"] - mark - (now["rate_limited"] - limited)
        if admitted >= expected and now["threads"] - threads >= channels:
            break
        if admitted > done:
            done, moved = admitted, time.monotonic()
        elif time.monotonic() - moved > STALL_SECONDS or not alive():
            stalled = True
            break
    seconds = time.monotonic() - began
    time.sleep(SETTLE_SECONDS)
    cpu = cpu_seconds(pid) - cpu_start if alive() else float("nan")
    end = get_json(f"{base}/_double/progress")["requests"]
    return Burst(mark, end, cpu, cpu_start - before, seconds, stalled)


def _bot_round(args: list[str], log: Path, env: dict[str, str], due: datetime, base: str,
               expected: int, channels: int) -> tuple[Burst, bool]:  # fmt: skip
    with process(args, log, env) as bot:
        ready = wait_for(
            lambda: "connected as" in log.read_text(errors="replace"),
            max(5.0, (due - datetime.now(UTC)).total_seconds()),
        )
        time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds() - 1.0))
        burst = _watch(bot.pid, base, lambda: None, expected, channels,
                       lambda: bot.poll() is None)  # fmt: skip
    return burst, ready


def _bare_round(entries: list[str], texts: dict[str, str], api: str, gateway: str,
                workdir: Path, env: dict[str, str], base: str, part: int,
                ) -> tuple[Burst, dict[str, int]]:  # fmt: skip
    listing = workdir / f"bare-channels-{part}.txt"
    listing.write_text("\n".join([*entries, json.dumps(texts)]), encoding="utf-8")
    rate = DiscordSettings().requests_per_second
    bare_args = [sys.executable, "-m", "bench._bare", "--api", api, "--gateway", gateway,
                 "--channels", str(listing), "--rate", str(rate)]  # fmt: skip
    with process(bare_args, workdir / f"bare-{part}.log", env, stdin=True) as bare:
        assert bare.stdout is not None and bare.stdin is not None
        json.loads(bare.stdout.readline() or "{}")  # connected
        time.sleep(2.0)

        def go() -> None:
            assert bare.stdin is not None
            bare.stdin.write("go\n")
            bare.stdin.flush()

        burst = _watch(bare.pid, base, go, REQUESTS[part] * len(entries), len(entries),
                       lambda: bare.poll() is None)  # fmt: skip
        result: dict[str, Any] = json.loads(bare.stdout.readline() or "{}")
        bare.stdin.write("stop\n")
        bare.stdin.flush()
        bare.wait(timeout=60)
    return burst, result.get("threads", {})


def _post(
    channels: int,
    window: str,
    workdir: Path,
    bare: dict[int, Burst] | None,
    parts: int,
) -> tuple[list[PostingRun], dict[int, Burst]]:
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
    rendered = [render_part(serial, serial.part(n)) for n in range(1, parts + 1)]
    expected = [[t[:120] for t in (r.header, *r.messages)] for r in rendered]
    rule = ThreadSettings().discussion_rule
    total = len(serial.parts)
    bare_count = channels if bare is None else 0
    env = dict(os.environ)
    python = sys.executable

    double_args = [python, "-m", "tests.discord_double", "--rate-limits", "--window", window,
                   "--channels", str(channels + bare_count), "--full"]  # fmt: skip
    bots: list[tuple[Burst, bool, dict[str, Any]]] = []
    with process(double_args, workdir / "double.log", env) as double:
        assert double.stdout is not None
        info = json.loads(double.stdout.readline())
        base = info["api_base"].rsplit("/api/", 1)[0]
        world = get_json(f"{base}/_double/world")
        names = channels_by_name(world)
        ids = [names[f"serial-{i + 1}"] for i in range(channels + bare_count)]
        bot_ids, bare_ids = ids[:channels], ids[channels:]
        guild_of = {
            int(c): int(g) for g, guild in world["guilds"].items() for c in guild["channels"]
        }
        env["DISCORD_TOKEN"] = info["token"]
        api, gateway = info["api_base"], info["gateway_url"]
        database = workdir / "bench.sqlite3"
        for part in range(1, parts + 1):
            # Due far enough ahead for the bot to start, connect and settle first.
            due = (datetime.now(UTC) + timedelta(seconds=10 + channels / 500)).replace(
                microsecond=0
            )
            if part == 1:
                subscribed = {c: guild_of[c] for c in bot_ids}
                asyncio.run(_subscribe(workdir, subscribed, due, serial.story.revision, total))
            else:
                _due_again(database, due)
            config = _write_config(workdir, due)
            bot_args = [python, "-m", "tests.discord_double.launch", "--api", api,
                        "--gateway", gateway, "--", "run", "--config", str(config)]  # fmt: skip
            burst, ready = _bot_round(bot_args, workdir / f"bot-{part}.log", env, due, base,
                                      REQUESTS[part] * channels, channels)  # fmt: skip
            # What the channels hold after this round (the requests are read at the end).
            held = get_json(f"{base}/_double/log?since={burst.end}")
            bots.append((burst, ready, held))

        if bare is None:
            bare = {}
            previous: dict[str, int] = {}
            for part in range(1, parts + 1):
                texts = {"header": rendered[part - 1].header,
                         "text": rendered[part - 1].messages[0],
                         "opener": opener_text(part, total, rule=rule, previous_thread=(
                             "{previous}" if part > 1 else None)),
                         "hand_off": hand_off_text(part, "{link}")}  # fmt: skip
                entries = [f"{c} {previous[str(c)]}" if part > 1 else str(c) for c in bare_ids]
                bare[part], previous = _bare_round(entries, texts, api, gateway, workdir, env,
                                                   base, part)  # fmt: skip
        log = get_json(f"{base}/_double/log")
        if os.environ.get("BENCH_KEEP"):
            import shutil

            keep = Path(os.environ["BENCH_KEEP"])
            keep.mkdir(parents=True, exist_ok=True)
            (keep / f"log-{channels}-{window}.json").write_text(json.dumps(log))
            for f in workdir.glob("*.log"):
                shutil.copy(f, keep / f"{channels}-{window}-{f.name}")

    runs = []
    for part, (burst, ready, held) in enumerate(bots, start=1):
        records = [r for r in log["requests"][burst.mark : burst.end]
                   if r[2] and not r[3].startswith(_TOKEN_ROUTES)]  # fmt: skip
        seen = [t for e in expected[:part] for t in e]
        runs.append(_judge(channels, window, part, bot_ids, seen, records, held, bare[part],
                           burst, ready=ready))  # fmt: skip
    return runs, bare


def _judge(
    channels: int,
    window: str,
    part: int,
    bot_ids: list[int],
    expected: list[str],
    records: list[list[Any]],
    held_after: dict[str, Any],
    bare: Burst,
    burst: Burst,
    *,
    ready: bool,
) -> PostingRun:
    held = held_after["channels"]
    # Each part: a thread; in the threads the opening messages, and the hand-offs (one fewer).
    threads_each, said_each = part, 2 * part - 1
    delivered = misordered = excess = 0
    for channel_id in bot_ids:
        entry = held.get(str(channel_id), {"messages": [], "threads": 0, "thread_messages": 0})
        messages, threads, opened = entry["messages"], entry["threads"], entry["thread_messages"]
        excess += (
            max(0, len(messages) - len(expected))
            + max(0, threads - threads_each)
            + max(0, opened - said_each)
        )
        if messages == expected and threads == threads_each and opened == said_each:
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
        part=part,
        delivered=delivered,
        stalled=burst.stalled,
        ready_before_due=ready,
        seconds=burst.seconds,
        requests=len(records),
        admitted=len(admitted),
        span=span,
        rate_limited=len(limited),
        rate_limited_global=sum(1 for r in limited if r[6]),
        invalid_peak=peak,
        duplicates=max(excess, held_after["duplicates"]),
        misordered=misordered,
        displacement=displacement,
        bot_cpu=burst.cpu,
        bot_idle=burst.idle,
        bare_parts=channels if not bare.stalled else 0,
        bare_cpu=bare.cpu,
        bare_idle=bare.idle,
    )


def measure(
    channel_counts: Sequence[int],
    windows: Sequence[str] = WINDOWS,
    *,
    second_part_up_to: int = SECOND_PART_UP_TO,
) -> list[PostingRun]:
    runs = []
    for channels in channel_counts:
        bare: dict[int, Burst] | None = None
        parts = 2 if channels <= second_part_up_to else 1
        for window in windows:
            with tempfile.TemporaryDirectory(prefix="serialbot-bench-") as tmp:
                found, bare = _post(channels, window, Path(tmp), bare, parts)
                runs += found
    return runs


def run(
    channel_counts: Sequence[int] = FULL_CHANNELS,
    windows: Sequence[str] = WINDOWS,
    *,
    second_part_up_to: int = SECOND_PART_UP_TO,
) -> list[Figure]:
    return figures(measure(channel_counts, windows, second_part_up_to=second_part_up_to))


def _count(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def figures(runs: Sequence[PostingRun]) -> list[Figure]:
    out: list[Figure] = []
    for r in runs:
        which = "first part" if r.part == 1 else f"part {r.part} ({REQUESTS[r.part]} requests)"
        label = f"{_count(r.channels)} channels, {r.window} window, {which}"
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
                f"{label}: CPU per part, whole bot ÷ bare discord.py ({r.bare_parts:,} parts; "
                "CPU in the second before the burst)",
                f"{r.cpu_per_part * 1000:.2f} ms ÷ {r.bare_cpu_per_part * 1000:.2f} ms = "
                f"{ratio:.2f}× ({r.bot_idle * 1000:.0f} ms; {r.bare_idle * 1000:.0f} ms)",
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
    parser.add_argument(
        "--second-part-up-to",
        type=int,
        default=SECOND_PART_UP_TO,
        help="post the second part (a hand-off) too in runs of up to this many channels",
    )
    parser.add_argument("--results", type=Path, help="replace the Posting section of this file")
    options = parser.parse_args(argv)
    counts = options.channels or (QUICK_CHANNELS if options.quick else FULL_CHANNELS)
    began = time.perf_counter()
    found = run(counts, options.windows, second_part_up_to=options.second_part_up_to)
    mode = "quick" if options.quick else "full"
    minutes = (time.perf_counter() - began) / 60
    report = render_report(found, machine=describe().line(), mode=f"{mode}, {minutes:.1f} min")
    print(report)
    missed = [f for f in found if f.passed is False]
    for f in missed:
        print(f"MISSED: {f.benchmark}: {f.name}: {f.value} (target {f.target})")
    if options.results is not None:
        command = "python -m bench.posting " + " ".join(argv if argv is not None else sys.argv[1:])
        update_results(options.results, {NAME: (command.strip(), report)})
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
