"""One request budget for every process of a bot. Discord's 50 requests a second are the bot's,
not each process's: ``SharedPacer`` paces this process as ``bot.pacing.Pacer`` does and, for each
request it lets go, also reserves the bot's next slot in the database all processes share, so
that together they keep one evenly spaced grid at the configured rate. An idle process takes no
slots, so a busy one gets the whole rate (splitting it in fixed shares would leave the share of
a process with little to post unused). When the database cannot be reached, the process falls
back to its share of the rate (its shards' part of the bot's).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol, runtime_checkable

from bot.pacing import Pacer

log = logging.getLogger(__name__)


@runtime_checkable
class RequestBudget(Protocol):
    async def reserve_request(self, interval: float, *, now: float | None = None) -> float: ...


class SharedPacer(Pacer):
    def __init__(self, budget: RequestBudget, requests_per_second: float, **options: Any) -> None:
        super().__init__(requests_per_second, **options)
        self._budget = budget
        # This process's part of the bot's rate, used only while the budget is out of reach.
        self.share = 1.0
        self._budget_lost = False

    async def acquire(self) -> None:
        await super().acquire()
        try:
            wait = await self._budget.reserve_request(self.interval)
        except Exception as exc:
            if not self._budget_lost:
                log.warning(
                    "The shared request budget cannot be reached (%s); pacing this process at "
                    "its share of the rate until it can",
                    exc,
                )
                self._budget_lost = True
            wait = self.interval * (1.0 / self.share - 1.0)
        else:
            if self._budget_lost:
                log.info("The shared request budget can be reached again")
                self._budget_lost = False
        if wait > 0:
            await self._sleep(wait)


def pacer_for(store: object, requests_per_second: float) -> Pacer:
    """A pacer sharing the bot's rate with the other processes when the store is shared by
    them, else this process's own."""
    if getattr(store, "shared", False) and isinstance(store, RequestBudget):
        return SharedPacer(store, requests_per_second)
    return Pacer(requests_per_second)
