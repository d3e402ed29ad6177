"""At most one edit per message per interval, however often it is asked for.

A vote pressed by hundreds of members in a second must not become hundreds of edits: Discord
limits edits per channel, and every edit but the last would be stale at once. A request only
records the newest way to bring the message up to date; one task per message applies it, waits
out the interval, and applies the next one if more requests came meanwhile. The first request
after a quiet spell is applied at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable

log = logging.getLogger(__name__)

Edit = Callable[[], Awaitable[None]]


class EditCoalescer:
    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._wanted: dict[Hashable, Edit] = {}
        self._tasks: dict[Hashable, asyncio.Task[None]] = {}
        self._last: dict[Hashable, float] = {}
        self.applied = 0

    def request(self, key: Hashable, edit: Edit) -> None:
        """Bring ``key`` up to date with ``edit`` (which reads the current state when it runs)."""
        self._wanted[key] = edit
        if key not in self._tasks:
            task = asyncio.create_task(self._run(key), name=f"edit-{key}")
            self._tasks[key] = task
            task.add_done_callback(lambda _, key=key: self._tasks.pop(key, None))

    async def _run(self, key: Hashable) -> None:
        loop = asyncio.get_running_loop()
        while key in self._wanted:
            wait = self._last.get(key, float("-inf")) + self.interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            edit = self._wanted.pop(key)
            self._last[key] = loop.time()
            try:
                await edit()
                self.applied += 1
            except Exception:
                log.exception("Could not update message %s", key)
        # Forget keys idle for long, so the table does not grow with every message ever edited.
        if len(self._last) > 4096:
            cutoff = loop.time() - self.interval
            self._last = {k: t for k, t in self._last.items() if t > cutoff}

    async def flush(self) -> None:
        """Wait until every requested edit has been applied."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    def cancel(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._wanted.clear()
