"""Gateway events discord.py cannot parse. Discord changes its payloads now and then (a field
missing, or of another type: a member's roles as objects, an author whose id is null, a channel
without a position), and discord.py raises inside its parser; left alone, that exception ends the
whole client. Here such an event is logged and dropped, and the shard it came on connects
afresh (a new session, so its cache is whole again) after a wait that grows while bad events
keep coming. The scheduler is untouched: posting needs no gateway."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from typing import Any

import discord

log = logging.getLogger(__name__)

FIRST_WAIT_SECONDS = 1.0
LAST_WAIT_SECONDS = 60.0
# After this long without a bad event, the wait starts small again.
QUIET_SECONDS = 600.0


class UnreadableEvents:
    """Wraps every parser of ``client`` (its own table, not discord.py's classes)."""

    def __init__(self, client: discord.AutoShardedClient) -> None:
        self._client = client
        self._streak = 0
        self._last = 0.0
        self._reconnecting: dict[int, asyncio.Task[None]] = {}
        # discord.py keeps the event parsers of a client in a table of its connection state.
        parsers: dict[str, Callable[[Any], None]] = client._connection.parsers
        for event, parse in list(parsers.items()):
            parsers[event] = functools.partial(self._parse, event, parse)

    def _parse(self, event: str, parse: Callable[[Any], None], data: Any) -> None:
        try:
            parse(data)
        except Exception:
            wait = self._next_wait()
            log.exception(
                "Discord sent a %s event this bot could not read; dropped it, connecting "
                "again in %.0f s",
                event,
                wait,
            )
            for shard_id in self._shards_of(data):
                if shard_id not in self._reconnecting:
                    task = asyncio.create_task(self._reconnect(shard_id, wait))
                    self._reconnecting[shard_id] = task

    def _next_wait(self) -> float:
        now = time.monotonic()
        if now - self._last > QUIET_SECONDS:
            self._streak = 0
        self._last = now
        wait = min(FIRST_WAIT_SECONDS * 2**self._streak, LAST_WAIT_SECONDS)
        self._streak += 1
        return wait

    def _shards_of(self, data: Any) -> list[int]:
        """The shard an event came on: its server's; all of them when it names none."""
        count = self._client.shard_count or 1
        guild = data.get("guild_id") if isinstance(data, dict) else None
        if isinstance(guild, str | int) and str(guild).isdigit():
            return [(int(guild) >> 22) % count]
        return sorted(self._client.shards)

    async def _reconnect(self, shard_id: int, wait: float) -> None:
        try:
            await asyncio.sleep(wait)
            shard = self._client.get_shard(shard_id)
            if shard is not None and not self._client.is_closed():
                await shard.reconnect()
        except Exception:
            log.exception("could not connect shard %d again", shard_id)
        finally:
            self._reconnecting.pop(shard_id, None)

    def cancel(self) -> None:
        for task in self._reconnecting.values():
            task.cancel()
