"""Exactly once through crashes: the real bot, in a process of its own on a fast clock, posts a
story to several channels while the test kills it (SIGKILL) at random points, seeded, and starts
it again each time. Kills land anywhere: while it starts, between the messages of a part, after
Discord took a message but before the bot heard back, after the thread but before the database
recorded the part. Half of the restarts come after Discord's nonce window has passed (the double's
clock is moved on), so the bot must find what it already posted in the channel's history.

At the end every channel holds every part exactly once, in order, with one thread each, and the
closing message once, and the database has recorded exactly what Discord shows. The short run (a
dozen kills) is part of the default suite; the long one (four channels, twelve parts each, killed
until the story is out: well over a hundred kills, about a minute) is marked slow:
``pytest -m slow tests/test_crash.py -s`` (``-s`` shows its figures).
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.library import Library
from bot.render import render_end, render_part, thread_name
from bot.store import Store
from tests.crash_harness import (
    BotProcess,
    KillSwitch,
    assert_each_part_recorded_once,
    installment_posts,
    until,
    write_config,
)
from tests.discord_double import DiscordDouble
from tests.discord_double.limits import NONCE_WINDOW_SECONDS, ChannelType
from tests.frontend_harness import write_story

log = logging.getLogger(__name__)

# "every 1h" of virtual time is a quarter of a second of real time.
SPEED = 14400.0
SCHEDULE = "every 1h"
SLUG = "keeper"
TITLE = "The Keeper"


def _paragraph(night: int) -> str:
    """About 1,050 characters: two make a part that needs two messages after its header."""
    return (
        ". ".join(
            f"On night {night} the keeper counted step {step} of the long stair and wrote the "
            "number in the log"
            for step in range(12)
        )
        + "."
    )


def _write_library(folder: Path, parts: int) -> Library:
    stories = folder / "stories"
    stories.mkdir(exist_ok=True)
    paragraphs = [_paragraph(night) for night in range(1, 2 * parts + 1)]
    write_story(stories, SLUG, paragraphs, title=TITLE, words_per_part=400)
    library = Library.load(stories)
    serial = library.get(SLUG)
    assert serial is not None and len(serial.parts) == parts
    return library


def _expected_posts(library: Library) -> list[str]:
    serial = library.get(SLUG)
    assert serial is not None
    posts: list[str] = []
    for part in serial.parts:
        rendered = render_part(serial, part)
        posts += [rendered.header, *rendered.messages]
    return [*posts, render_end(serial)]


@dataclass
class CrashRun:
    kills: int = 0
    kills_mid_request: int = 0
    kills_at_random_times: int = 0
    long_outages: int = 0
    restarts: int = 0
    seconds: float = 0.0
    duplicates: int = 0
    nonce_hits: int = 0
    resumed_from_history: int = 0
    # share of the run's messages already posted when the last kill came
    posted_at_last_kill: float = 0.0


async def _crash_run(
    double: DiscordDouble,
    folder: Path,
    *,
    parts: int,
    kills: int,
    seed: int,
    most: int | None = None,
) -> CrashRun:
    """Post a story of ``parts`` parts to four channels (three text channels, one announcement
    channel) with up to ``kills`` kills, stopping them when the story is out; then start the bot
    once more to finish and check every channel and the database. A kill comes at one of the
    first ``most`` posting requests of a life (by default, so many that the kills spread over
    the whole run), or at a random moment."""
    rng = random.Random(seed)
    library = _write_library(folder, parts)
    expected = _expected_posts(library)
    channels = [
        await double.add_channel("keeper-1"),
        await double.add_channel("keeper-2"),
        await double.add_channel("keeper-3"),
        await double.add_channel("keeper-news", ChannelType.news),
    ]
    config = write_config(folder, double, schedule=SCHEDULE)
    bot = BotProcess(double, config, folder / "bot.log", SPEED)
    switch = KillSwitch(double, bot)
    run = CrashRun()

    def finished(channel_id: int) -> bool:
        posts = installment_posts(double, channel_id)
        return bool(posts) and posts[-1].content == expected[-1]

    started = time.monotonic()
    identified = double.gateway.identifies
    await bot.start()
    await double.wait_until_connected(30, identified_after=identified)
    for channel_id in channels:
        record = await double.invoke(
            "serial subscribe",
            {"story": SLUG, "schedule": SCHEDULE},
            channel_id=channel_id,
            user_id=double.admin_id,
        )
        reply = await record.reply()
        assert not record.ephemeral, reply.content

    # Posting requests the whole run needs (messages and threads), spread over the kills so that
    # they fall all along it rather than after the story has ended.
    requests_needed = len(channels) * (len(expected) + parts)
    if most is None:
        most = max(2, round(1.5 * requests_needed / kills))
    try:
        while run.kills < kills and not all(finished(c) for c in channels):
            if not bot.running:
                await bot.start()
                run.restarts += 1
            if rng.random() < 0.15:
                # Mostly while it starts: connecting, repairing, applying the catch-up policy.
                await _sleep_or_exit(bot, rng.uniform(0.0, 0.6))
                run.kills_at_random_times += 1
            else:
                switch.arm(rng.randint(1, most), after=rng.random() < 0.5)
                await _fired_or_exit(bot, switch, within=3.0)
                if switch.fired.is_set():
                    run.kills_mid_request += 1
                else:
                    run.kills_at_random_times += 1
            switch.disarm()
            await bot.kill()
            assert bot.process is not None
            assert bot.process.returncode == -signal.SIGKILL, "the bot exited by itself"
            run.kills += 1
            posted = sum(len(installment_posts(double, c)) for c in channels)
            run.posted_at_last_kill = posted / (len(channels) * len(expected))
            if rng.random() < 0.5:
                double.advance_clock(NONCE_WINDOW_SECONDS + 1)
                run.long_outages += 1

        identified = double.gateway.identifies
        await bot.start()
        run.restarts += 1
        await until(lambda: all(finished(c) for c in channels), timeout=90)
        # Connected means the signal handlers are in place: SIGTERM is then a clean stop.
        await double.wait_until_connected(30, identified_after=identified)
        assert await bot.terminate() == 0
    except BaseException:
        bot.kill_now()
        log.error("bot output:\n%s", bot.output()[-20_000:])
        raise
    run.seconds = time.monotonic() - started

    serial = library.get(SLUG)
    assert serial is not None
    for channel_id in channels:
        posts = installment_posts(double, channel_id)
        assert [m.content for m in posts] == expected, f"channel {channel_id}"
        headers = [m for m in posts if m.content.startswith(f"**{TITLE}**")]
        threads = double.threads(channel_id)
        assert [t.name for t in threads] == [thread_name(TITLE, n) for n in range(1, parts + 1)]
        assert [t.id for t in threads] == [m.id for m in headers]

    async with await Store.open(folder / "serialbot.sqlite3") as store:
        recorded = await assert_each_part_recorded_once(store, double, channels, parts)
    for channel_id, deliveries in recorded.items():
        assert [d.thread_id for d in deliveries] == [t.id for t in double.threads(channel_id)]

    run.duplicates = len(double.duplicate_messages())
    assert run.duplicates == 0
    run.nonce_hits = double.nonce_hits
    output = bot.output()
    run.resumed_from_history = output.count("was already in channel") + output.count(
        "already has the closing message"
    )
    print(f"\ncrash run: {run}")
    return run


async def _sleep_or_exit(bot: BotProcess, seconds: float) -> None:
    assert bot.process is not None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and bot.process.returncode is None:
        await _short_sleep()


async def _fired_or_exit(bot: BotProcess, switch: KillSwitch, *, within: float) -> None:
    assert bot.process is not None
    deadline = time.monotonic() + within
    while (
        time.monotonic() < deadline and not switch.fired.is_set() and bot.process.returncode is None
    ):
        await _short_sleep()


async def _short_sleep() -> None:
    await asyncio.sleep(0.005)


async def test_every_part_arrives_once_in_order_through_a_dozen_kills(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    run = await _crash_run(discord_double, tmp_path, parts=6, kills=12, seed=20300603)
    assert run.kills == 12 and run.restarts == 12
    assert run.long_outages > 0


@pytest.mark.slow
async def test_every_part_arrives_once_in_order_through_over_a_hundred_kills(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    # A kill within the first two posting requests of every life: the bot is killed again and
    # again until the whole story is out, well over a hundred times.
    run = await _crash_run(discord_double, tmp_path, parts=12, kills=1000, seed=1729, most=2)
    assert run.kills >= 100 and run.restarts == run.kills
    assert run.kills_mid_request >= 80
    assert run.posted_at_last_kill > 0.95
    assert run.long_outages >= 30
    assert run.resumed_from_history > 0
