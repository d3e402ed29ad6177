"""Pacing every request the bot sends to a rate-limited API, and knowing when that API has told
the bot to stop.

Discord allows a bot about 50 requests a second in all and bans an IP (for about an hour) after
10,000 invalid requests (401, 403, 429) in 10 minutes. Learning the global limit from 429s, as a
library does on its own, costs about one 429 per accepted request under load; so requests leave
through ``Pacer``, a token bucket a little under the limit, first come, first served (the
scheduler asks in due order, so parts go out in due order). When the API says "stop" (a global
429, a long ``retry_after``, a ban) ``Pacer.pause`` holds every request until then, and
``RestHealth`` keeps what others read: the pause, why, and the invalid requests of the last ten
minutes.

Nothing here knows Discord: ``bot.frontend.pacing`` feeds it from the HTTP client.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

log = logging.getLogger(__name__)

DEFAULT_REQUESTS_PER_SECOND = 48.0
# Discord's ban line and the window it counts in.
INVALID_REQUEST_WINDOW_SECONDS = 600.0
INVALID_REQUEST_BAN_LINE = 10_000
# A request finding the API paused for longer than this is refused at once (``Paused``) rather
# than left waiting: the scheduler puts its post off until the pause ends.
MAX_QUEUED_WAIT_SECONDS = 10.0
# How much unused rate the pacer keeps, in seconds of it: a turn the event loop took up late, or
# a moment when every channel under way was waiting for an answer, is made up for afterwards
# rather than lost. Nothing asked for longer than this is idleness, which builds no burst.
DEFAULT_CATCH_UP_SECONDS = 0.25

# Requests made on behalf of a member who is waiting (``/serial next``) go before the queue of
# scheduled posts, and do not wait for their place on the grid while the last second has room.
_urgent: contextvars.ContextVar[bool] = contextvars.ContextVar("pacing_urgent", default=False)


@contextlib.contextmanager
def urgent() -> Iterator[None]:
    """Requests made inside this block (in this task and the tasks it starts) jump the queue."""
    token = _urgent.set(True)
    try:
        yield
    finally:
        _urgent.reset(token)


class Paused(Exception):
    """The API told the bot to stop sending for a while; nothing was sent."""

    def __init__(self, retry_after: float, reason: str) -> None:
        super().__init__(f"{reason}; requests resume in {retry_after:.0f} s")
        self.retry_after = retry_after
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PauseState:
    until: float  # on the pacer's monotonic clock
    reason: str


class RestHealth:
    """Counts for operators and status: requests sent, 429s, and the invalid requests Discord
    counts towards its ban (401, 403 and 429, except 429s of a resource's own shared limit) in
    the last ten minutes. Read by ``/serial status`` and the metrics; written by the client."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._invalid: collections.deque[float] = collections.deque()
        self.requests = 0
        self.rate_limited = 0
        self.rate_limited_global = 0
        self.bans = 0
        self.pause: PauseState | None = None

    def sent(self) -> None:
        self.requests += 1

    def invalid(self) -> None:
        self._invalid.append(self._monotonic())

    def invalid_recent(self) -> int:
        """Invalid requests in the last ten minutes (Discord bans at 10,000)."""
        horizon = self._monotonic() - INVALID_REQUEST_WINDOW_SECONDS
        while self._invalid and self._invalid[0] < horizon:
            self._invalid.popleft()
        return len(self._invalid)

    def paused_for(self) -> float:
        """Seconds until requests may go again (0 when they may go now)."""
        if self.pause is None:
            return 0.0
        left = self.pause.until - self._monotonic()
        if left <= 0:
            self.pause = None
            return 0.0
        return left


class Pacer:
    """A token bucket in front of every request: ``rate`` tokens a second accrue on the real
    (monotonic) clock and each scheduled request spends one; requests are let go in the order
    asked (urgent ones first), all held while paused.

    Tokens accrue on elapsed time, not per grant, so a waiter woken late, or a moment when
    nothing is asked, costs no rate: up to ``catch_up`` seconds' worth wait for the next
    requests, which go at twice the rate until they are spent (never at the same instant, so
    the answers' jitter cannot bunch them into one of the API's seconds). After longer than
    that with nothing asked the bucket starts again from one token: idle time builds no burst.
    On top of the bucket, no request goes while the last second already holds ``per_second``
    (the rate's whole part + 1) requests, whatever their kind: any window of one second sees at
    most ``rate + 1`` requests whatever the shape of the API's window, under any load. Urgent
    requests (a member waiting on the answer) need only that room, so a part asked for is not
    spaced out behind itself; they spend a token when there is one.
    """

    def __init__(
        self,
        requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND,
        *,
        health: RestHealth | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        max_queued_wait: float = MAX_QUEUED_WAIT_SECONDS,
        catch_up: float = DEFAULT_CATCH_UP_SECONDS,
    ) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        self.interval = 1.0 / requests_per_second
        self.health = health or RestHealth(monotonic)
        self.max_queued_wait = max_queued_wait
        self._monotonic = monotonic
        self._sleep = sleep
        self.catch_up = catch_up
        self.capacity = max(1.0, catch_up * requests_per_second)
        self._tokens = 1.0
        self._filled_at = float("-inf")
        self._last_granted = float("-inf")
        # When the requests of the last second were granted (at most ``per_second`` of them).
        self.per_second = math.floor(requests_per_second) + 1
        self._recent: collections.deque[float] = collections.deque()
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self._urgent: collections.deque[asyncio.Future[None]] = collections.deque()
        self._pump: asyncio.Task[None] | None = None

    @property
    def rate(self) -> float:
        return 1.0 / self.interval

    @property
    def queued(self) -> int:
        return len(self._waiting) + len(self._urgent)

    async def acquire(self) -> None:
        """Wait for this request's turn. Raises ``Paused`` if the API is paused for longer than
        ``max_queued_wait``."""
        self._refuse_if_paused()
        now = self._monotonic()
        urgent = _urgent.get()
        if not self._urgent and self.health.paused_for() <= 0 and self._room_at(now) <= now:
            if urgent:
                self._granted_urgent(now)
                return
            if not self._waiting and self._token_at(now) <= now:
                self._granted(now)
                return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._waiting).append(future)
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run(), name="request-pacer")
        await future

    def pause(self, seconds: float, reason: str) -> bool:
        """Hold every request for ``seconds``. Returns whether this starts a pause (rather than
        lengthening one), so the caller logs each pause once."""
        until = self._monotonic() + seconds
        fresh = self.health.paused_for() <= 0
        current = self.health.pause
        if current is None or until > current.until:
            self.health.pause = PauseState(until, reason)
        return fresh

    def _refuse_if_paused(self) -> None:
        left = self.health.paused_for()
        if left > self.max_queued_wait:
            pause = self.health.pause
            raise Paused(left, pause.reason if pause is not None else "paused")

    def _room_at(self, now: float) -> float:
        """When the last second has room for one more request (``now`` if it has)."""
        recent = self._recent
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        return now if len(recent) < self.per_second else recent[0] + 1.0

    def _token_at(self, now: float) -> float:
        """When the next scheduled request may go as far as the bucket is concerned (``now``
        if it may)."""
        idle = now - self._filled_at
        if idle > self.catch_up + self.interval:
            tokens = 1.0  # idle, not late: start again without a burst
        else:
            tokens = min(self.capacity, self._tokens + idle / self.interval)
        self._tokens, self._filled_at = tokens, now
        at = now if tokens >= 1.0 else now + (1.0 - tokens) * self.interval
        return max(at, self._last_granted + self.interval / 2)

    def _granted(self, now: float) -> None:
        self._tokens -= 1.0
        self._last_granted = now
        self._recent.append(now)
        self.health.sent()

    def _granted_urgent(self, now: float) -> None:
        # The scheduled posts keep the tokens there are not; the second's count (which they
        # also heed) keeps the whole within the limit.
        if self._token_at(now) <= now:
            self._tokens -= 1.0
        self._recent.append(now)
        self.health.sent()

    def _pop(self) -> asyncio.Future[None] | None:
        for queue in (self._urgent, self._waiting):
            while queue:
                future = queue.popleft()
                if not future.done():
                    return future
        return None

    async def _run(self) -> None:
        while self._waiting or self._urgent:
            now = self._monotonic()
            held = self.health.paused_for()
            if held > self.max_queued_wait:
                # A long pause: every waiter goes back with the news rather than sit here.
                reason = self.health.pause.reason if self.health.pause else "paused"
                while (future := self._pop()) is not None:
                    future.set_exception(Paused(held, reason))
                return
            urgent = self._has_urgent()
            start = max(now if urgent else self._token_at(now), now + held, self._room_at(now))
            if start > now:
                # Look again after the sleep: a pause may have begun meanwhile.
                await self._sleep(start - now)
                continue
            future = self._pop()
            if future is None:
                return
            if urgent:
                self._granted_urgent(now)
            else:
                self._granted(now)
            future.set_result(None)

    def _has_urgent(self) -> bool:
        while self._urgent and self._urgent[0].done():
            self._urgent.popleft()
        return bool(self._urgent)
