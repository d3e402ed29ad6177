"""Interaction handling on the wire, as in production: the time from an injected ``/serial
status`` or ``/serial next`` to the bot's first answer, with ``serialbot run`` in its own process
and the Discord API double (Discord's rate limits on) in another.

The database holds ``subscriptions`` in all (100k in a full run): ``channels`` of them in the
double's own guild, where its reader runs the commands, the rest in servers the double does not
show; all come due days later, so the run measures a bot that large answering, not posting on
schedule. The reader invokes each command in turn across the channels through the double's
``POST /_double/invoke``; the double stamps the moment it dispatches the interaction and the
moment the bot's first answer arrives (its own handling is in the figures, the driver's HTTP is
not). ``/serial next`` posts a whole part (header, text and thread) before it answers, with the
channel cooldown set to zero so every request posts; the thread's opening message and the
hand-off follow after the answer. Commands are paced (one pair per ``INTERVAL``) so posting stays
under the global limit: this measures the bot's handling, not queueing behind a 429. Also shown:
the bot's start (process launched → scheduler started, with every subscription checked).

    python -m bench.interactions [--quick] [--samples N] [--subscriptions N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import Figure, render_report
from bench._data import NewSubscription, percentile, populate, short_story_text
from bench._processes import channels_by_name, get_json, post_json, process, wait_for
from bench.machine import describe
from bot.library import Library
from bot.store import Store

NAME = "Interactions"
TARGET_P99_MS = 50.0
FULL_SAMPLES = 200
QUICK_SAMPLES = 40
FULL_SUBSCRIPTIONS = 100_000
QUICK_SUBSCRIPTIONS = 10_000
CHANNELS = 40
# One status and one next per interval: a part's requests, well under 50 per second, and at
# most a message per second in any one channel.
INTERVAL = 0.12
COMMANDS = ("serial status", "serial next")
STORY = "bench-story"
WORDS_PER_PART = 80
ANSWER_TIMEOUT = 5.0
# Servers the double does not show, 500 channels each, for the subscriptions in the background.
_BACKGROUND_CHANNEL = 9_000_000_000_000_000
_DUE_AFTER = timedelta(days=2)


@dataclass
class Latencies:
    samples: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in COMMANDS})
    answers: dict[str, dict[str, int]] = field(default_factory=dict)
    unanswered: int = 0
    # parts the double received threads for: each /serial next must have posted one
    parts_posted: int = 0
    subscriptions: int = 0
    start_seconds: float = float("nan")


def _subscriptions(
    channels: list[int], guild_id: int, total: int, due: datetime
) -> Iterator[NewSubscription]:
    for channel_id in channels:
        yield NewSubscription(
            guild_id=guild_id,
            channel_id=channel_id,
            slug=STORY,
            schedule=f"daily {due:%H:%M}",
            slot_due=due,
        )
    for i in range(max(0, total - len(channels))):
        slot = due + timedelta(minutes=i % 1440)
        channel_id = _BACKGROUND_CHANNEL + i
        yield NewSubscription(
            guild_id=channel_id // 500,
            channel_id=channel_id,
            slug=STORY,
            schedule=f"daily {slot:%H:%M}",
            slot_due=slot,
        )


async def _subscribe(
    workdir: Path, channels: list[int], guild_id: int, total: int, parts: int, revision: str
) -> int:
    now = datetime.now(UTC)
    store = await Store.open(workdir / "bench.sqlite3")
    try:
        added = await populate(
            store,
            _subscriptions(channels, guild_id, total, now + _DUE_AFTER),
            revision=revision,
            now=now,
            part_count=parts,
        )
    finally:
        await store.close()
    return added.count


def _write_config(workdir: Path) -> Path:
    config = workdir / "serialbot.yaml"
    config.write_text(
        f"stories: {workdir / 'stories'}\n"
        f"database: {workdir / 'bench.sqlite3'}\n"
        f"words_per_part: {WORDS_PER_PART}\n"
        "next:\n  cooldown_minutes: 0\n  quorum: 1\n"
        "log_level: INFO\n",
        encoding="utf-8",
    )
    return config


def _invoke(base: str, command: str, channel_id: int) -> tuple[int, Any]:
    return post_json(
        f"{base}/_double/invoke",
        {"command": command, "channel_id": str(channel_id), "timeout": ANSWER_TIMEOUT},
    )


def _measure(samples: int, channels: int, subscriptions: int, workdir: Path) -> Latencies:
    stories = workdir / "stories"
    stories.mkdir(parents=True, exist_ok=True)
    parts = max(10, samples // channels + 5)
    (stories / f"{STORY}.txt").write_text(
        short_story_text(parts, words_per_part=WORDS_PER_PART), encoding="utf-8"
    )
    serial = Library.load(stories, words_per_part=WORDS_PER_PART).get(STORY)
    if serial is None:
        raise RuntimeError("the benchmark story did not load")
    env = dict(os.environ)
    python = sys.executable
    result = Latencies()

    double_args = [python, "-m", "tests.discord_double", "--rate-limits", "--main-guild",
                   "--channels", str(channels), "--full"]  # fmt: skip
    with process(double_args, workdir / "double.log", env) as double:
        assert double.stdout is not None
        info = json.loads(double.stdout.readline())
        base = info["api_base"].rsplit("/api/", 1)[0]
        world = get_json(f"{base}/_double/world")
        names = channels_by_name(world)
        ids = [names[f"serial-{i + 1}"] for i in range(channels)]
        [guild_id] = {
            int(g) for g, guild in world["guilds"].items() if str(ids[0]) in guild["channels"]
        }
        result.subscriptions = asyncio.run(
            _subscribe(
                workdir,
                ids,
                guild_id,
                subscriptions,
                len(serial.parts),
                serial.story.revision,
            )
        )
        config = _write_config(workdir)
        env["DISCORD_TOKEN"] = info["token"]
        api, gateway = info["api_base"], info["gateway_url"]
        bot_args = [python, "-m", "tests.discord_double.launch", "--api", api,
                    "--gateway", gateway, "--", "run", "--config", str(config)]  # fmt: skip
        bot_log = workdir / "bot.log"
        launched = time.monotonic()
        with process(bot_args, bot_log, env) as bot:

            def logged(text: str) -> bool:
                return text in bot_log.read_text(errors="replace") or bot.poll() is not None

            if wait_for(lambda: logged("scheduler started"), 300.0, poll=0.02):
                result.start_seconds = time.monotonic() - launched
            # Ready once a command is answered (the commands are registered after connecting).
            if not wait_for(lambda: _invoke(base, COMMANDS[0], ids[0])[0] == 200, 120.0, 0.5):
                raise RuntimeError(f"the bot never answered; see {bot_log}")
            start_threads = get_json(f"{base}/_double/progress")["threads"]
            for i in range(samples):
                began = time.monotonic()
                channel = ids[i % len(ids)]
                for command in COMMANDS:
                    status, answer = _invoke(base, command, channel)
                    if status != 200:
                        result.unanswered += 1
                        continue
                    result.samples[command].append(float(answer["latency"]))
                    counts = result.answers.setdefault(command, {})
                    counts[answer["callback"]] = counts.get(answer["callback"], 0) + 1
                time.sleep(max(0.0, INTERVAL - (time.monotonic() - began)))
            time.sleep(1.0)
            result.parts_posted = get_json(f"{base}/_double/progress")["threads"] - start_threads
    return result


def measure(
    samples: int = FULL_SAMPLES,
    *,
    channels: int = CHANNELS,
    subscriptions: int = FULL_SUBSCRIPTIONS,
) -> Latencies:
    channels = min(channels, samples)
    with tempfile.TemporaryDirectory(prefix="serialbot-bench-") as tmp:
        return _measure(samples, channels, max(subscriptions, channels), Path(tmp))


def run(
    samples: int = FULL_SAMPLES,
    *,
    channels: int = CHANNELS,
    subscriptions: int = FULL_SUBSCRIPTIONS,
) -> list[Figure]:
    return figures(measure(samples, channels=channels, subscriptions=subscriptions))


def figures(latencies: Latencies) -> list[Figure]:
    out: list[Figure] = []
    size = f"{latencies.subscriptions:,} subscriptions"
    for command in COMMANDS:
        values = latencies.samples[command]
        answers = ", ".join(f"{n} {k}" for k, n in latencies.answers.get(command, {}).items())
        if command == "serial next":
            answers += f"; {latencies.parts_posted} parts posted"
        if latencies.unanswered:
            answers += f"; {latencies.unanswered} commands unanswered in {ANSWER_TIMEOUT:.0f} s"
        if not values:
            value, passed = "no answers", False
        else:
            p50 = percentile(values, 0.5) * 1000
            p99 = percentile(values, 0.99) * 1000
            value, passed = f"{p50:.1f} / {p99:.1f} ms", p99 < TARGET_P99_MS
        out.append(
            Figure(
                NAME,
                f"/{command}: p50 / p99 ({len(values)} runs, {size}; {answers})",
                value,
                f"p99 < {TARGET_P99_MS:.0f} ms",
                passed and not latencies.unanswered,
            )
        )
    out.append(
        Figure(
            NAME,
            f"bot start with {size} (process launched → scheduler started)",
            f"{latencies.start_seconds:.1f} s",
        )
    )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.interactions", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SAMPLES} runs per command")
    parser.add_argument("--samples", type=int, help="runs per command")
    parser.add_argument("--subscriptions", type=int, help="subscriptions in the database")
    options = parser.parse_args(argv)
    samples = options.samples or (QUICK_SAMPLES if options.quick else FULL_SAMPLES)
    subscriptions = options.subscriptions or (
        QUICK_SUBSCRIPTIONS if options.quick else FULL_SUBSCRIPTIONS
    )
    found = run(samples, subscriptions=subscriptions)
    mode = "quick" if options.quick else "full"
    print(render_report(found, machine=describe().line(), mode=mode))
    missed = [f for f in found if f.passed is False]
    for f in missed:
        print(f"MISSED: {f.benchmark}: {f.name}: {f.value} (target {f.target})")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
