"""Discord's temporary IP ban: after ``INVALID_REQUEST_LIMIT`` invalid requests (401, 403, 429,
except 429s of a resource's own ``shared`` limit) within ``INVALID_REQUEST_PERIOD_SECONDS``,
Cloudflare answers every request from the address for a while (about an hour) with an HTML 429,
"error code: 1015".

Three ban answers are seen in the wild, and a test can impose any of them: ``cloudflare`` (the HTML
page, without Discord's ``Via`` header, so discord.py raises ``HTTPException(429)`` at once),
``blocked`` (a JSON 429, code 0, "You are being blocked from accessing our API temporarily…") and
``network`` (a JSON 403, code 40333, "internal network error"). None states when it ends, unless
``retry_after_header`` is set (then a ``Retry-After`` header does).
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from .limits import INVALID_REQUEST_LIMIT, INVALID_REQUEST_PERIOD_SECONDS
from .wire import json_response

BanKind = Literal["cloudflare", "blocked", "network"]
BAN_SECONDS = 3600.0
CLOUDFLARE_CODE = 1015
BANNED_CODE = 40333
BLOCKED_MESSAGE = (
    "You are being blocked from accessing our API temporarily due to exceeding our rate limits "
    "frequently. Please read our docs at https://discord.com/developers/docs/topics/rate-limits "
    "to prevent this moving forward."
)
_CLOUDFLARE_PAGE = """<!DOCTYPE html>
<html lang="en-US"><head><title>Access denied | discord.com used Cloudflare to restrict
access</title></head><body><h1>Error 1015</h1><h2>You are being rate limited</h2>
<p>The owner of this website (discord.com) has banned you temporarily from accessing this
website.</p><p>error code: 1015</p></body></html>
"""


@dataclass(frozen=True, slots=True)
class Ban:
    at: float
    until: float
    kind: BanKind
    triggered: bool  # by crossing the invalid-request line (not imposed by a test)


class BanGate:
    """Counts invalid requests and bans the client when they cross the line.

    ``threshold`` None never bans on its own; ``seconds`` is how long a ban lasts.
    """

    def __init__(
        self,
        *,
        threshold: int | None = INVALID_REQUEST_LIMIT,
        window: float = INVALID_REQUEST_PERIOD_SECONDS,
        seconds: float = BAN_SECONDS,
        retry_after_header: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.window = window
        self.seconds = seconds
        self.retry_after_header = retry_after_header
        self.bans: list[Ban] = []
        self._monotonic = monotonic
        self._recent: collections.deque[float] = collections.deque()

    def note_invalid(self, at: float) -> None:
        recent = self._recent
        recent.append(at)
        while recent and recent[0] < at - self.window:
            recent.popleft()
        if self.threshold is not None and len(recent) >= self.threshold and not self.remaining():
            self.impose(self.seconds, "cloudflare", triggered=True)
            recent.clear()

    def impose(
        self, seconds: float, kind: BanKind = "cloudflare", *, triggered: bool = False
    ) -> Ban:
        now = self._monotonic()
        ban = Ban(now, now + seconds, kind, triggered)
        self.bans.append(ban)
        return ban

    def current(self) -> Ban | None:
        if self.bans and self.bans[-1].until > self._monotonic():
            return self.bans[-1]
        return None

    def remaining(self) -> float:
        ban = self.current()
        return ban.until - self._monotonic() if ban is not None else 0.0

    def lift(self) -> None:
        ban = self.current()
        if ban is not None:
            self.bans[-1] = Ban(ban.at, self._monotonic(), ban.kind, ban.triggered)

    def response(self, ban: Ban) -> web.Response:
        headers: dict[str, str] = {}
        if self.retry_after_header:
            headers["Retry-After"] = str(max(1, math.ceil(ban.until - self._monotonic())))
        if ban.kind == "blocked":
            return json_response(
                {"message": BLOCKED_MESSAGE, "code": 0}, status=429, headers=headers
            )
        if ban.kind == "network":
            body = {"message": "internal network error", "code": BANNED_CODE}
            return json_response(body, status=403, headers=headers)
        # Cloudflare's own page: HTML, and none of Discord's headers (no Via).
        return web.Response(
            text=_CLOUDFLARE_PAGE, status=429, content_type="text/html", headers=headers
        )
