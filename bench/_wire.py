"""The real bot (``SerialBot``, discord.py, the real scheduler and poster) logged in to the Discord
API double on 127.0.0.1, with channels already subscribed: what the posting and interaction
benchmarks measure."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench._data import NewSubscription, Populated, populate, short_story_text
from bot.clock import ManualClock
from bot.config import CommandSettings, Config, NextSettings
from bot.frontend.client import SerialBot
from bot.library import Library
from bot.store import Store
from bot.story import Serial
from tests.discord_double import (
    FAST_GUILD_READY_TIMEOUT,
    DiscordDouble,
    connected_client,
    pointed_at,
)

# Every subscription is due at the same minute: a Monday, 18:00 UTC.
DUE_AT = datetime(2030, 6, 3, 18, 0, tzinfo=UTC)
SCHEDULE = "daily 18:00"
STORY_SLUG = "bench-story"


@dataclass
class Wired:
    double: DiscordDouble
    bot: SerialBot
    clock: ManualClock
    store: Store
    serial: Serial
    channels: list[int]
    subscribed: Populated


@contextlib.asynccontextmanager
async def bot_on_double(
    workdir: Path,
    *,
    channels: int,
    rate_limits: bool,
    clock_start: datetime,
    parts: int = 40,
    words_per_part: int = 80,
    cooldown_minutes: int = 30,
    main_guild: bool = False,
    ready_timeout: float = 120.0,
) -> AsyncIterator[Wired]:
    """A double with ``channels`` extra text channels, each subscribed (``SCHEDULE``) to a short
    story of ``parts`` parts, and the bot connected to it with a ``ManualClock``. The channels
    fill guilds of their own, or with ``main_guild`` sit in the double's own guild, where its
    reader and admin are members (to invoke commands as them)."""
    stories = workdir / "stories"
    stories.mkdir(parents=True, exist_ok=True)
    (stories / f"{STORY_SLUG}.txt").write_text(
        short_story_text(parts, words_per_part=words_per_part), encoding="utf-8"
    )
    config = Config(
        stories=stories,
        database=workdir / "bench.sqlite3",
        words_per_part=words_per_part,
        default_schedule=SCHEDULE,
        next=NextSettings(cooldown_minutes=cooldown_minutes, quorum=1, quorum_window_minutes=30),
        commands=CommandSettings(sync_guild=None),
    )
    library = Library.load(config.stories, words_per_part=config.words_per_part)
    serial = library.get(STORY_SLUG)
    if serial is None:
        raise RuntimeError(f"the benchmark story did not load: {library.problems}")

    double = DiscordDouble(rate_limits=rate_limits)
    if main_guild:
        ids = [await double.add_channel(f"serial-{i + 1}") for i in range(channels)]
    else:
        ids = await double.populate(channels)
    # discord.py logs a warning on every 429, and the double counts them anyway.
    discord_log = logging.getLogger("discord")
    level = discord_log.level
    discord_log.setLevel(logging.ERROR)
    try:
        store = await Store.open(config.database)
        try:
            subscribed = await populate(
                store,
                (
                    NewSubscription(
                        guild_id=double.channel(channel_id).guild_id or double.guild_id,
                        channel_id=channel_id,
                        slug=STORY_SLUG,
                        schedule=SCHEDULE,
                        slot_due=DUE_AT,
                    )
                    for channel_id in ids
                ),
                revision=serial.story.revision,
                now=clock_start,
                part_count=len(serial.parts),
            )
            clock = ManualClock(clock_start)
            bot = SerialBot(
                config=config,
                store=store,
                library=library,
                clock=clock,
                guild_ready_timeout=FAST_GUILD_READY_TIMEOUT,
            )
            async with double, contextlib.AsyncExitStack() as stack:
                stack.enter_context(pointed_at(double))
                connected = await stack.enter_async_context(
                    connected_client(double, bot, timeout=ready_timeout)
                )
                yield Wired(double, connected, clock, store, serial, ids, subscribed)
        finally:
            await store.close()
    finally:
        discord_log.setLevel(level)
