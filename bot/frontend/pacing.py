"""One pacing point for every REST request the bot sends: the HTTP session's trace hooks.

discord.py sends every REST request (posts, threads, history reads, edits, command sync, and its
own retries) through one aiohttp session, and takes an ``http_trace`` for it. Its hooks run in the
requesting task after discord.py has waited for the route's own bucket and just before the
request leaves, and again when the answer's status and headers are in. So:

- before a request to the REST API leaves, it waits for its turn in the ``Pacer``; interaction
  callbacks and follow-ups (``/interactions/``, ``/webhooks/``) are outside the global limit and
  never wait; the gateway and the CDN are not the REST API;
- when an answer says "stop", every request of the bot stops: a global 429, a 429 with a long
  ``retry_after``, and the ban answers (Cloudflare's HTML 429 "error code: 1015", a JSON 429
  "You are being blocked…", a 403 with code 40333) pause the pacer for the time stated (or a
  growing guess when none is), with one log line per pause;
- 401, 403 and 429 answers (except 429s of a resource's own ``shared`` limit) are counted as
  Discord counts them towards its ban, in ``RestHealth`` and in ``bot.metrics``.

discord.py stays the safety net: it still waits out a 429 it meets and the per-route buckets it
has learned (a bucket it does not know yet lets one request through at a time, so the bot never
discovers a bucket with a burst).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
import discord

from bot import metrics
from bot.pacing import Pacer, Paused

log = logging.getLogger(__name__)

# A 429 asking for longer than this is no passing bucket: the whole bot waits.
LONG_RETRY_AFTER_SECONDS = 30.0
# A ban states no end: wait this long, then longer each time it is still on (Discord's last
# about an hour).
BAN_FIRST_WAIT_SECONDS = 600.0
BAN_LONGEST_WAIT_SECONDS = 3600.0
_BANNED_CODE = 40333
_INTERACTION_PATHS = ("/interactions/", "/webhooks/")


class RestPaused(discord.HTTPException):
    """Discord told the bot to stop sending for a while; this request was not sent. An
    ``HTTPException`` (status 429, no response), so code that handles Discord's failures,
    discord.py's own reconnect loops included, handles this one too."""

    def __init__(self, paused: Paused) -> None:
        Exception.__init__(self, str(paused))
        self.response = None  # type: ignore[assignment]
        self.status = 429
        self.code = 0
        self.text = str(paused)
        self.retry_after = paused.retry_after
        self.reason = paused.reason


class RestGuard:
    """The pacer and ban watch attached to a discord.py client's HTTP session (``trace()`` is
    its ``http_trace``)."""

    def __init__(
        self,
        pacer: Pacer,
        *,
        ban_first_wait: float = BAN_FIRST_WAIT_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pacer = pacer
        self.health = pacer.health
        self.ban_first_wait = ban_first_wait
        self._monotonic = monotonic
        self._ban_wait = ban_first_wait
        self._ban_until = float("-inf")

    def trace(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()
        config.on_request_start.append(self._on_start)
        config.on_request_end.append(self._on_end)
        return config

    @staticmethod
    def is_paced(url: str) -> bool:
        """A request to the REST API that counts against the global limit."""
        base = discord.http.Route.BASE
        if not url.startswith(base):
            return False
        path = url[len(base) :]
        return not path.startswith(_INTERACTION_PATHS)

    async def _on_start(
        self, session: aiohttp.ClientSession, context: SimpleNamespace, params: Any
    ) -> None:
        if not self.is_paced(str(params.url)):
            return
        try:
            await self.pacer.acquire()
        except Paused as paused:
            raise RestPaused(paused) from None

    async def _on_end(
        self, session: aiohttp.ClientSession, context: SimpleNamespace, params: Any
    ) -> None:
        response: aiohttp.ClientResponse = params.response
        status = response.status
        if status not in (401, 403, 429) or not str(params.url).startswith(discord.http.Route.BASE):
            return
        headers = response.headers
        scope = headers.get("X-RateLimit-Scope", "").lower()
        if status == 429 and scope == "shared":
            # A resource's own limit: Discord does not count it, nor does it stop the bot.
            metrics.rate_limited("shared")
            return
        self.health.invalid()
        metrics.invalid_request(status)
        if status == 401:
            return
        body = await _body(response)
        if status == 403:
            if isinstance(body, dict) and body.get("code") == _BANNED_CODE:
                self._banned("Discord refuses all requests from this address (403, code 40333)")
            return
        self.health.rate_limited += 1
        discord_429 = bool(headers.get("Via")) and isinstance(body, dict)
        metrics.rate_limited(scope or ("user" if discord_429 else "cloudflare"))
        if not discord_429:
            self._banned("Cloudflare is blocking this address (HTTP 429, error 1015)", headers)
            return
        assert isinstance(body, dict)
        message = str(body.get("message", ""))
        if "blocked" in message.lower():
            self._banned("Discord is blocking this address for a while (429)", headers)
            return
        retry_after = _seconds(body.get("retry_after")) or _seconds(headers.get("Retry-After"))
        is_global = bool(body.get("global")) or headers.get("X-RateLimit-Global") == "true"
        if is_global:
            self.health.rate_limited_global += 1
        if is_global or retry_after > LONG_RETRY_AFTER_SECONDS:
            kind = "global rate limit" if is_global else "rate limit"
            reason = f"Discord's {kind} (429, retry after {retry_after:g} s)"
            self._pause(retry_after or 1.0, reason)

    def _banned(self, reason: str, headers: Any = None) -> None:
        now = self._monotonic()
        stated = _seconds(headers.get("Retry-After")) if headers is not None else 0.0
        if stated <= 0:
            if now < self._ban_until:
                return  # the answer to a request that left before the wait began
            # Still banned right after the last wait: wait longer this time.
            recent = now - self._ban_until < self.ban_first_wait
            self._ban_wait = (
                min(self._ban_wait * 2, BAN_LONGEST_WAIT_SECONDS) if recent else self.ban_first_wait
            )
            stated = self._ban_wait
        self._ban_until = max(self._ban_until, now + stated)
        self.health.bans += 1
        self._pause(stated, reason)

    def _pause(self, seconds: float, reason: str) -> None:
        if self.pacer.pause(seconds, reason):
            log.warning(
                "Discord asked the bot to stop: %s. All requests wait %.0f s; posts are delayed, "
                "not lost.",
                reason,
                seconds,
            )


async def _body(response: aiohttp.ClientResponse) -> object:
    """The answer as JSON when it says it is JSON (as discord.py reads it), else text. aiohttp
    keeps the body, so discord.py reads the same bytes after us."""
    try:
        raw = await response.read()
    except (aiohttp.ClientError, TimeoutError):
        return None
    text = raw.decode("utf-8", "replace")
    if response.headers.get("Content-Type") == "application/json":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _seconds(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return seconds if seconds > 0 else 0.0
