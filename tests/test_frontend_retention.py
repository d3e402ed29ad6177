"""A server the bot was removed from: its uploads and progress are kept for the retention period
(the bot may be added back), then deleted; ``serialbot purge-guild ID`` deletes them at once."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from bot.config import CommandSettings
from bot.retention import purge_departed
from bot.store import Store
from bot.uploads import UploadLimits
from tests.discord_double import DiscordDouble
from tests.frontend_harness import Harness, running_bot
from tests.test_frontend_uploads import add, story_file

ROOT = Path(__file__).resolve().parent.parent


async def _left(harness: Harness) -> None:
    guild = harness.double.guild_id
    await harness.double.remove_bot_from_guild(guild)
    async with asyncio.timeout(5):
        while not await harness.bot.store.uploads().departed_before(harness.clock.now()):
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def _left_after_uploading(double: DiscordDouble, tmp_path: Path) -> AsyncIterator[Harness]:
    """The bot with a story uploaded and followed in the default server, then removed from it."""
    (tmp_path / "stories").mkdir()
    async with running_bot(double, tmp_path, commands=CommandSettings(sync_guild=None)) as harness:
        await add(harness, "tide-clock.txt", story_file())
        await harness.subscribe("tide-clock")
        await _left(harness)
        yield harness


async def test_a_server_left_is_purged_after_the_retention_period_only(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    async with _left_after_uploading(discord_double, tmp_path) as harness:
        guild = discord_double.guild_id
        store, days = harness.bot.store, UploadLimits().retention_days
        harness.clock.advance(timedelta(days=days - 1))
        assert await harness.bot._purge_departed() == []
        assert await store.uploads().get(guild, "tide-clock") is not None
        harness.clock.advance(timedelta(days=1))
        assert await harness.bot._purge_departed() == [guild]
        assert await store.uploads().listed(guild) == []
        assert await store.guild_subscriptions(guild) == []
        assert harness.bot.catalog.uploads(guild) == []


async def test_a_server_that_adds_the_bot_back_keeps_everything(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    async with _left_after_uploading(discord_double, tmp_path) as harness:
        guild = discord_double.guild_id
        await discord_double.add_bot_to_guild(guild)
        async with asyncio.timeout(5):
            while await harness.bot.store.uploads().departed_before(harness.clock.now()):
                await asyncio.sleep(0.01)
        harness.clock.advance(timedelta(days=365))
        assert await harness.bot._purge_departed() == []
        assert await harness.bot.store.uploads().get(guild, "tide-clock") is not None


async def test_a_server_back_while_the_bot_was_offline_is_not_purged(tmp_path: Path) -> None:
    from tests.test_uploads_store import NOW, upload

    async with await Store.open(tmp_path / "s.sqlite3") as store:
        await store.uploads().add(upload(), UploadLimits())
        await store.uploads().guild_left(upload().guild_id, NOW)
        later = NOW + timedelta(days=400)
        kept = await purge_departed(store, now=later, retention_days=30, still_here=lambda g: True)
        assert kept == []
        assert await store.uploads().departed_before(later) == []
        assert await store.uploads().get(upload().guild_id, "tide") is not None


async def test_purge_guild_on_the_command_line_deletes_that_server_only(tmp_path: Path) -> None:
    from tests.test_uploads_store import GUILD, OTHER, upload

    database = tmp_path / "data" / "serialbot.sqlite3"
    config = tmp_path / "serialbot.yaml"
    config.write_text(f"stories: stories\ndatabase: {database}\n", encoding="utf-8")
    (tmp_path / "stories").mkdir()
    async with await Store.open(database) as store:
        await store.uploads().add(upload(), UploadLimits())
        await store.uploads().add(upload(guild=OTHER), UploadLimits())
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "purge-guild",
        str(GUILD),
        "--config",
        str(config),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0
    assert f"server {GUILD}: 1 uploaded story" in out.decode()
    async with await Store.open(database) as store:
        assert await store.uploads().listed(GUILD) == []
        assert [u.guild_id for u in await store.uploads().listed()] == [OTHER]
