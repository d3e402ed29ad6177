"""Discord's rate limits as a client meets them: a global limit per bot and per-route buckets keyed
by the route's major parameter, announced in ``X-RateLimit-*`` headers and enforced with 429s.

Discord does not document the shape of its global window, so it is modelled two ways: ``fixed``
(a window opens on its first request and admits 50 until it closes, as the route buckets behave
to a client: a burst of 50 at the end of one window and 50 at the start of the next passes) and
``sliding`` (no more than 50 in any second: the stricter reading). A client must do well under
both."""

from __future__ import annotations

import collections
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from .limits import (
    GLOBAL_RATE_LIMIT,
    GLOBAL_RATE_PERIOD_SECONDS,
    MESSAGE_CREATE_LIMIT,
    MESSAGE_CREATE_PERIOD_SECONDS,
)

# Routes Discord publishes no figure for get a roomy bucket of the double's choosing.
_DEFAULT_LIMIT = 50
_DEFAULT_PERIOD_SECONDS = 1.0

# route template -> (limit, period seconds)
_ROUTE_BUCKETS: dict[str, tuple[int, float]] = {
    "POST /channels/{channel_id}/messages": (MESSAGE_CREATE_LIMIT, MESSAGE_CREATE_PERIOD_SECONDS),
}


@dataclass
class _Window:
    limit: int
    period: float
    started: float = 0.0
    used: int = 0

    def roll(self, now: float) -> None:
        if self.used == 0 or now >= self.started + self.period:
            self.started = now
            self.used = 0

    def reset_after(self, now: float) -> float:
        return max(0.0, self.started + self.period - now)


class _Sliding:
    """At most ``limit`` admitted in any ``period``: the stricter model of the global limit."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._admitted: collections.deque[float] = collections.deque()

    def admit(self, now: float) -> float:
        """0 when admitted (and counted), else the seconds until a slot frees."""
        admitted = self._admitted
        while admitted and admitted[0] <= now - self.period:
            admitted.popleft()
        if len(admitted) >= self.limit:
            return max(0.001, admitted[0] + self.period - now)
        admitted.append(now)
        return 0.0


WindowModel = Literal["fixed", "sliding"]
WINDOW_MODELS: tuple[WindowModel, ...] = ("fixed", "sliding")


@dataclass
class Verdict:
    """Whether a request may proceed, and the headers (and 429 body) to answer with."""

    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: float = 0.0
    is_global: bool = False


def bucket_hash(route: str) -> str:
    return hashlib.sha1(route.encode()).hexdigest()[:16]


class RateLimiter:
    """Fixed windows that open on their first request, as Discord's buckets behave to a client.

    ``time_scale`` shortens every window (0.1: five messages per half second) so tests of the retry
    logic run fast; figures announced in headers are scaled the same way, so a client sees a
    consistent, merely quicker, Discord.
    """

    def __init__(
        self,
        *,
        enabled: bool,
        time_scale: float = 1.0,
        window: WindowModel = "fixed",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if window not in WINDOW_MODELS:
            raise ValueError(f"window must be one of {WINDOW_MODELS}")
        self.enabled = enabled
        self.time_scale = time_scale
        self.window = window
        self._monotonic = monotonic
        period = GLOBAL_RATE_PERIOD_SECONDS * time_scale
        self._global = _Window(GLOBAL_RATE_LIMIT, period)
        self._sliding = _Sliding(GLOBAL_RATE_LIMIT, period)
        self._buckets: dict[tuple[str, str], _Window] = {}

    def _global_retry(self, now: float) -> float:
        """0 when the request fits the global limit (and is counted), else seconds to wait."""
        if self.window == "sliding":
            return self._sliding.admit(now)
        self._global.roll(now)
        if self._global.used >= self._global.limit:
            return max(0.001, self._global.reset_after(now))
        self._global.used += 1
        return 0.0

    def check(self, route: str, major: str, *, counts_globally: bool = True) -> Verdict:
        """``route`` is the template (``"POST /channels/{channel_id}/messages"``), ``major`` the
        value of its major parameter."""
        if not self.enabled:
            return Verdict(allowed=True)
        now = self._monotonic()
        wall = time.time()
        if counts_globally:
            retry = self._global_retry(now)
            if retry > 0:
                return Verdict(
                    allowed=False,
                    retry_after=retry,
                    is_global=True,
                    headers={
                        "Retry-After": str(max(1, math.ceil(retry))),
                        "X-RateLimit-Global": "true",
                        "X-RateLimit-Scope": "global",
                    },
                )

        limit, period = _ROUTE_BUCKETS.get(route, (_DEFAULT_LIMIT, _DEFAULT_PERIOD_SECONDS))
        key = (route, major)
        window = self._buckets.get(key)
        if window is None:
            window = self._buckets[key] = _Window(limit, period * self.time_scale)
        window.roll(now)
        reset_after = window.reset_after(now)
        headers = {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Bucket": bucket_hash(route),
            "X-RateLimit-Reset": f"{wall + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        }
        if window.used >= window.limit:
            headers.update(
                {
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Scope": "user",
                    "Retry-After": str(max(1, math.ceil(reset_after))),
                }
            )
            return Verdict(allowed=False, retry_after=reset_after, headers=headers)
        window.used += 1
        headers["X-RateLimit-Remaining"] = str(window.limit - window.used)
        return Verdict(allowed=True, headers=headers)
