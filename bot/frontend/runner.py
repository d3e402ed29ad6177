"""``serialbot run``: load the configuration and the library, open the database, connect to
Discord, and shut down cleanly on SIGINT/SIGTERM (an in-flight post finishes first, within a
time limit).

Exit status: 0 after a clean shutdown; 2 when it cannot start as configured (the configuration,
the token Discord rejects, the database); 1 for anything else. Discord out of reach at start
(no network, DNS down, Discord answering 5xx) is not fatal: one line, and another try after a
growing wait.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import aiohttp
import discord

from bot.config import ENV_DATABASE, Config, ConfigError, load_config
from bot.configured_library import library_cache_path, load_library
from bot.frontend.client import SerialBot
from bot.frontend.endpoint import EndpointError
from bot.library import Library
from bot.logs import JsonFormatter
from bot.storage import StoreUnavailable, describe_database, open_store
from bot.store import StoreError

log = logging.getLogger(__name__)

# Gateway close code: a shard would hold more servers than Discord allows one session.
_SHARDING_REQUIRED = 4011
# Waits between tries to reach Discord at start: 2, 4, 8 … seconds, then every 5 minutes.
FIRST_RETRY_SECONDS = 2.0
LAST_RETRY_SECONDS = 300.0
_UNREACHABLE = (aiohttp.ClientError, OSError, asyncio.TimeoutError, discord.DiscordServerError)


def _fail(message: str, code: int) -> int:
    print(f"serialbot: {message}", file=sys.stderr)
    return code


def sync_state_path(database: Path) -> Path | None:
    """Where the last synced command definitions are remembered: next to the database."""
    if str(database) == ":memory:":
        return None
    return database.with_name(database.name + ".commands.json")


def main(args: argparse.Namespace) -> int:
    token = os.environ.get("DISCORD_TOKEN", "").strip()
    if not token:
        return _fail(
            "DISCORD_TOKEN is not set: put the bot token from the Developer Portal in it", 2
        )
    try:
        config = load_config(getattr(args, "config", None))
    except ConfigError as error:
        return _fail(str(error), 2)
    level = logging.getLevelName(config.log_level.upper())
    if config.log_format == "json":
        discord.utils.setup_logging(level=level, formatter=JsonFormatter())
    else:
        discord.utils.setup_logging(level=level)
    try:
        return asyncio.run(run(config, token))
    except KeyboardInterrupt:
        return 130


def _database_key(config: Config) -> str:
    """Where the database setting came from, for a message: the environment wins over the
    file."""
    if os.environ.get(ENV_DATABASE, "").strip():
        return f"environment: {ENV_DATABASE}"
    return f"{config.source or 'the configuration'}: database"


def _load_library(config: Config) -> Library:
    library = load_library(config, cache=library_cache_path(config.database))
    log.info(
        "library: %d stories from %s (%d could not be loaded)",
        len(library),
        config.stories,
        len(library.problems),
    )
    return library


def _missing_stories(config: Config) -> str | None:
    """Without its stories folder the bot could connect but never post: say so, to refuse
    before connecting."""
    if Path(config.stories).is_dir():
        return None
    where = config.source or "the configuration"
    return f"{where}: stories: folder not found: {config.stories}"


async def run(config: Config, token: str) -> int:
    if (problem := _missing_stories(config)) is not None:
        return _fail(problem, 2)
    library = _load_library(config)
    try:
        store = await open_store(config)
    except StoreUnavailable as error:
        # Worth trying again (a service manager restarts the bot): not a configuration error.
        return _fail(f"database {describe_database(config)}: {error}", 1)
    except StoreError as error:
        return _fail(f"{_database_key(config)}: {error}", 2)
    try:
        bot = SerialBot(
            config=config,
            store=store,
            library=library,
            # With PostgreSQL there is no database file to keep it beside: every start syncs.
            sync_state=None if config.database_url else sync_state_path(Path(config.database)),
        )
        async with bot:
            stopping = asyncio.Event()
            signals = _close_on_signals(bot, stopping)
            try:
                if await _log_in(bot, token, stopping):
                    await bot.connect()
            except discord.LoginFailure:
                return _fail(
                    "Discord rejected the token in DISCORD_TOKEN (401 Unauthorized): copy it "
                    "again from the Developer Portal (Bot, Reset Token)",
                    2,
                )
            except discord.PrivilegedIntentsRequired:
                return _fail("Discord refused the gateway intents requested", 1)
            except EndpointError as error:
                return _fail(f"{config.source or 'the configuration'}: {error}", 2)
            except discord.ConnectionClosed as error:
                if error.code != _SHARDING_REQUIRED:
                    raise
                return _fail(
                    "Discord requires more shards for this many servers (close code 4011): "
                    "raise shards.count, or remove it to use Discord's recommendation",
                    1,
                )
            finally:
                loop = asyncio.get_running_loop()
                for sig in signals:
                    loop.remove_signal_handler(sig)
    finally:
        await store.close()
    log.info("stopped")
    return 0


async def _log_in(bot: discord.Client, token: str, stopping: asyncio.Event) -> bool:
    """Log in, trying again while Discord cannot be reached; False if told to stop first."""
    wait = FIRST_RETRY_SECONDS
    while not stopping.is_set():
        try:
            await bot.login(token)
        except _UNREACHABLE as error:
            await _drop_failed_session(bot)
            log.warning(
                "Discord cannot be reached (%s); trying again in %.0f s", _reason(error), wait
            )
        else:
            return True
        try:
            await asyncio.wait_for(stopping.wait(), wait)
        except TimeoutError:
            wait = min(wait * 2, LAST_RETRY_SECONDS)
    return False


async def _drop_failed_session(bot: discord.Client) -> None:
    """discord.py opens an HTTP session at each login and leaves it open when the login fails:
    closed here (with the connector it owns), so that retries during an outage do not pile up
    as "Unclosed client session" errors in the log. The next login makes a connector anew."""
    await bot.http.close()
    bot.http.connector = discord.utils.MISSING


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:199] + "…"


def _close_on_signals(bot: SerialBot, stopping: asyncio.Event) -> list[signal.Signals]:
    """SIGINT and SIGTERM close the bot, which stops the scheduler first (``Client.run`` would
    handle only Ctrl-C). Returns the signals handled, to remove the handlers afterwards."""
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    closing: set[asyncio.Task[None]] = set()

    def close(name: str) -> None:
        if closing:
            return
        stopping.set()
        log.info("%s received: finishing the current post and shutting down", name)
        task = loop.create_task(bot.close())
        closing.add(task)
        task.add_done_callback(_report_close_failure)

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, close, sig.name)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on Unix
            log.debug("cannot handle %s on this platform", sig.name)
        else:
            handled.append(sig)
    return handled


def _report_close_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("error while shutting down", exc_info=task.exception())
