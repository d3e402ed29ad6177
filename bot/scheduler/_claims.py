"""Exactly once across processes: before posting to a channel a process claims it in the shared
database, for a while, and renews the claim while it works. Another process (overlapping shard
settings, or one that presumes this one dead) is refused the channel until the claim is released
or runs out; a killed process's claims run out by themselves, and whoever takes the channel over
finishes the pending part with its recorded nonce (resuming it, as after any crash).

Claims are in wall-clock seconds, not the scheduler's clock: they measure whether a process is
still alive. A store that is not shared (SQLite: one process per file) has nothing to claim
against, and every claim is granted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol, runtime_checkable

log = logging.getLogger(__name__)

CLAIMED_ELSEWHERE = "another process is posting to this channel"


@runtime_checkable
class ClaimingStore(Protocol):
    async def claim(self, channel_id: int, owner: str, *, now: float, until: float) -> bool: ...
    async def renew_claim(self, channel_id: int, owner: str, *, until: float) -> bool: ...
    async def release_claim(self, channel_id: int, owner: str) -> None: ...


def process_name() -> str:
    """This process's name in claims: host and pid, plus a random part so that a restarted
    process with the same pid is not taken for its predecessor."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Claims:
    def __init__(
        self,
        store: object,
        *,
        seconds: float,
        owner: str | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._store = store if isinstance(store, ClaimingStore) else None
        self.seconds = seconds
        self.owner = owner or process_name()
        self._wall = wall

    @property
    def shared(self) -> bool:
        return self._store is not None

    @contextlib.asynccontextmanager
    async def hold(self, channel_id: int) -> AsyncIterator[bool]:
        """Claim the channel for the duration (``True``), or learn another process holds it
        (``False``). Renewed every third of its length while held; released at the end."""
        store = self._store
        if store is None:
            yield True
            return
        now = self._wall()
        if not await store.claim(channel_id, self.owner, now=now, until=now + self.seconds):
            yield False
            return
        renewing = asyncio.create_task(self._renew(store, channel_id))
        try:
            yield True
        finally:
            renewing.cancel()
            try:
                await store.release_claim(channel_id, self.owner)
            except Exception as exc:  # it runs out by itself
                log.warning("Could not release the claim on channel %s: %s", channel_id, exc)

    async def _renew(self, store: ClaimingStore, channel_id: int) -> None:
        while True:
            await asyncio.sleep(self.seconds / 3)
            try:
                held = await store.renew_claim(
                    channel_id, self.owner, until=self._wall() + self.seconds
                )
            except Exception as exc:
                log.warning("Could not renew the claim on channel %s: %s", channel_id, exc)
                continue
            if not held:
                log.error(
                    "Lost the claim on channel %s (this process was too slow for %s s); "
                    "another process may post there now",
                    channel_id,
                    self.seconds,
                )
                return
