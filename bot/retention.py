"""Forgetting a server: when the bot is removed from a server, its uploads and progress are kept
for the configured retention period (it may be added back), then deleted; ``serialbot
purge-guild ID`` deletes them at once."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.catalog import Catalog
    from bot.config import Config
    from bot.storage import SerialStore

log = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 3600.0


async def purge_departed(
    store: SerialStore,
    *,
    now: datetime,
    retention_days: int,
    catalog: Catalog | None = None,
    still_here: Callable[[int], bool] = lambda guild_id: False,
) -> list[int]:
    """Delete the data of every server the bot left at least ``retention_days`` ago; a server
    it is back in is kept (and no longer counted as left). Returns the servers purged."""
    uploads = store.uploads()
    purged: list[int] = []
    for guild_id in await uploads.departed_before(now - timedelta(days=retention_days)):
        if still_here(guild_id):
            await uploads.guild_back(guild_id)
            continue
        removed = await uploads.purge_guild(guild_id)
        if catalog is not None:
            catalog.drop_guild(guild_id)
        log.info(
            "Deleted the data of server %s, %d days after the bot left it: %d uploads, %d channels",
            guild_id,
            retention_days,
            removed.uploads,
            removed.subscriptions,
        )
        purged.append(guild_id)
    return purged


async def every(
    seconds: float, check: Callable[[], Awaitable[object]], failure: str, *, first: bool = True
) -> None:
    """Run ``check`` every ``seconds`` for as long as the bot runs; a failure is logged (as
    ``failure``) and tried again at the next round, never the end of the loop."""
    if not first:
        await asyncio.sleep(seconds)
    while True:
        try:
            await check()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s", failure)
        await asyncio.sleep(seconds)


def main(args: argparse.Namespace) -> int:
    """``serialbot purge-guild ID``."""
    from bot.config import ConfigError, load_config
    from bot.storage import describe_database, open_store
    from bot.store import StoreError

    def fail(message: object, code: int) -> int:
        print(f"serialbot purge-guild: {message}", file=sys.stderr)
        return code

    try:
        config = load_config(args.config)
    except ConfigError as error:
        return fail(error, 2)
    if args.guild_id <= 0:
        return fail(f"{args.guild_id} is not a server id (a number such as 412345678901234567)", 2)

    async def purge() -> tuple[int, int] | None:
        if not await _database_exists(config):
            return None
        store = await open_store(config)
        try:
            removed = await store.uploads().purge_guild(args.guild_id)
        finally:
            await store.close()
        return removed.uploads, removed.subscriptions

    try:
        purged = asyncio.run(purge())
    except StoreError as error:
        return fail(error, 1)
    if purged is None:
        # Opening would create an empty database (and, on PostgreSQL, its tables): a wrong
        # --config or working directory must not look like a purge that found nothing.
        return fail(
            f"{describe_database(config)}: no serialbot database there yet; nothing was deleted",
            2,
        )
    uploads, channels = purged
    print(
        f"Deleted from {describe_database(config)} everything kept for server {args.guild_id}: "
        f"{_count(uploads, 'uploaded story', 'uploaded stories')}, "
        f"{_count(channels, 'channel', 'channels')} with their progress, votes and reminders."
    )
    return 0


async def _database_exists(config: Config) -> bool:
    if config.database_url is None:
        return config.database.is_file()
    from bot.pgstore import inspect

    return await inspect(config.database_url) is not None


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"
