"""Several processes, one bot: the real bot in three processes of its own, two shards each (six
in all), sharing one PostgreSQL database, against the Discord double in the test process. Every
channel receives every part once, in order, with one thread each, and the closing message once,
while processes are killed (SIGKILL) at random moments, mid-claim included, and started again,
and while a fourth process runs shards that overlap two others'. At the end the database has
recorded exactly what Discord shows.

The default suite runs a short version (40 guilds, 120 channels, a few kills); the full one
(40 guilds, 1,000 channels, a dozen kills) is marked slow: ``pytest -m slow
tests/test_cluster_wire.py -s``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from bot.pgstore import PostgresStore
from bot.render import thread_name
from bot.shards import shard_of
from tests.crash_harness import (
    BotProcess,
    assert_each_part_recorded_once,
    installment_posts,
    until,
    virtual_start,
    write_config,
)
from tests.discord_double import DiscordDouble
from tests.test_crash import SLUG, SPEED, TITLE, _expected_posts, _write_library

log = logging.getLogger(__name__)

SHARDS = 6
PROCESS_SHARDS = ([0, 1], [2, 3], [4, 5])
OVERLAPPING = [1, 2]


@dataclass
class ClusterRun:
    kills: int = 0
    seconds: float = 0.0
    messages: int = 0
    duplicates: int = 0
    # parts each process logged as posted (the three, then the overlapping one)
    posted_by: tuple[int, ...] = ()


async def _cluster_run(
    double: DiscordDouble,
    folder: Path,
    database: str,
    *,
    guilds: int,
    channels: int,
    parts: int,
    kills: int,
    seed: int,
) -> ClusterRun:
    rng = random.Random(seed)
    library = _write_library(folder, parts)
    expected = _expected_posts(library)
    channel_ids = await double.populate(channels, per_guild=-(-channels // guilds))
    guild_of = {c: double.channel(c).guild_id for c in channel_ids}
    assert len(set(guild_of.values())) == guilds
    assert {shard_of(g, SHARDS) for g in guild_of.values()} == set(range(SHARDS))

    # Subscribed beforehand, due at once: the test is about posting, not about 1,000 commands.
    epoch = time.time()
    serial = library.get(SLUG)
    assert serial is not None
    async with await PostgresStore.open(database) as store:
        due = virtual_start(epoch, SPEED)
        for channel_id in channel_ids:
            await store.create_subscription(
                guild_id=guild_of[channel_id],
                channel_id=channel_id,
                slug=SLUG,
                revision=serial.story.revision,
                next_part=1,
                position=0,
                schedule="every 1h",
                timezone="UTC",
                slot_due=due,
                catch_up="one",
                subscribed_by=double.admin_id,
                thread_archive_minutes=None,
                now=due - timedelta(minutes=1),
                part_count=len(serial.parts),
            )

    def process(name: str, ids: list[int]) -> BotProcess:
        home = folder / name
        home.mkdir()
        config = write_config(
            home,
            double,
            stories=str(folder / "stories"),
            database=database,
            shards={"count": SHARDS, "ids": ids},
            cluster={"claim_seconds": 3, "poll_seconds": 1},
            # The double enforces no rate limits here; pacing is measured in bench/.
            discord={"requests_per_second": 5000},
            concurrency=16,
        )
        return BotProcess(double, config, home / "bot.log", SPEED, epoch=epoch)

    bots = [process(f"p{i}", ids) for i, ids in enumerate(PROCESS_SHARDS)]
    bots.append(process("overlap", OVERLAPPING))
    run = ClusterRun()

    def finished() -> bool:
        return all(
            (posts := installment_posts(double, c)) and posts[-1].content == expected[-1]
            for c in channel_ids
        )

    started = time.monotonic()
    try:
        for bot in bots:
            await bot.start()
        while run.kills < kills and not finished():
            await asyncio.sleep(rng.uniform(0.3, 1.5))
            victim = rng.choice(bots)
            if victim.running:
                await victim.kill()
                assert victim.process is not None
                assert victim.process.returncode == -signal.SIGKILL, "it exited by itself"
                run.kills += 1
            await asyncio.sleep(rng.uniform(0.0, 0.5))
            for bot in bots:
                if not bot.running:
                    await bot.start()
        await until(finished, timeout=240)
        for bot in bots:
            if bot.running:
                bot.kill_now()
                await bot.wait()
    except BaseException:
        for bot in bots:
            bot.kill_now()
            log.error("%s output:\n%s", bot.log, bot.output()[-10_000:])
        raise
    run.seconds = time.monotonic() - started

    for channel_id in channel_ids:
        posts = installment_posts(double, channel_id)
        assert [m.content for m in posts] == expected, f"channel {channel_id}"
        threads = double.threads(channel_id)
        assert [t.name for t in threads] == [thread_name(TITLE, n) for n in range(1, parts + 1)]
    run.duplicates = len(double.duplicate_messages())
    assert run.duplicates == 0
    run.messages = sum(len(installment_posts(double, c)) for c in channel_ids)

    async with await PostgresStore.open(database) as store:
        await assert_each_part_recorded_once(store, double, channel_ids, parts)
    # Every process posted: the work was split by shard.
    run.posted_by = tuple(bot.output().count("Posted part") for bot in bots)
    assert all(run.posted_by[:3]), run.posted_by
    print(f"\ncluster run: {run}")
    return run


async def test_three_processes_post_every_part_once_through_kills_and_overlap(
    discord_double: DiscordDouble, tmp_path: Path, postgres_url: str
) -> None:
    run = await _cluster_run(
        discord_double,
        tmp_path,
        postgres_url,
        guilds=40,
        channels=120,
        parts=2,
        kills=4,
        seed=20261204,
    )
    assert run.kills == 4


@pytest.mark.slow
async def test_three_processes_post_a_thousand_channels_once_through_a_dozen_kills(
    discord_double: DiscordDouble, tmp_path: Path, postgres_url: str
) -> None:
    run = await _cluster_run(
        discord_double,
        tmp_path,
        postgres_url,
        guilds=40,
        channels=1000,
        parts=3,
        kills=12,
        seed=1204,
    )
    assert run.kills == 12
