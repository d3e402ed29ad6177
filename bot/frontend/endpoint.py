"""The operator's HTTP endpoint, on 127.0.0.1 only (``metrics.port``): ``/metrics`` for
Prometheus and ``/healthz`` for a supervisor (200 while every shard's gateway is connected and
the scheduler loop runs, 503 otherwise, with the reason).

Served by aiohttp, which discord.py already brings, on the bot's own event loop: an event loop
blocked for long shows up as a health check that times out. The metrics are rendered on a worker
thread, because reading the database summary for them is a (read-only) query of its own, on the
SQLite file or on the PostgreSQL server.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from typing import TYPE_CHECKING

from aiohttp import web

from bot import metrics, overview
from bot.frontend.observe import gateway_connected, gateway_latency

if TYPE_CHECKING:
    from bot.frontend.client import SerialBot

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


class EndpointError(Exception):
    """The endpoint cannot listen (the port is taken, say)."""


class Endpoint:
    """Counting starts with ``start`` and stops with ``stop``."""

    def __init__(self, bot: SerialBot, port: int) -> None:
        self._bot = bot
        self._port = port
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The port it listens on (the one chosen by the system when configured as 0)."""
        if self._runner is None or not self._runner.addresses:
            return self._port
        return int(self._runner.addresses[0][1])

    async def start(self) -> None:
        bot = self._bot
        metrics.enable()
        metrics.watch_gateway(
            functools.partial(gateway_latency, bot), functools.partial(gateway_connected, bot)
        )
        if bot.config.database_url is None:
            metrics.watch_database(functools.partial(overview.summary_of, bot.config.database))
        else:
            url = bot.config.database_url
            metrics.watch_database(functools.partial(overview.postgres_summary_of, url))
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._health)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, HOST, self._port).start()
        except OSError as error:
            await runner.cleanup()
            metrics.disable()
            reason = os.strerror(error.errno) if error.errno else str(error)
            raise EndpointError(
                f"metrics.port: cannot listen on {HOST}:{self._port} ({reason.lower()}); "
                "choose a free port, or null to turn it off"
            ) from None
        self._runner = runner
        log.info("metrics on http://%s:%d/metrics, health on /healthz", HOST, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            metrics.disable()

    def problems(self) -> list[str]:
        """Why the bot is not healthy; empty when it is."""
        found = []
        if not gateway_connected(self._bot):
            found.append("the gateway is not connected")
        if not self._bot.scheduler_running:
            found.append("the scheduler loop is not running")
        return found

    async def _health(self, request: web.Request) -> web.Response:
        problems = self.problems()
        if problems:
            return web.Response(status=503, text="unhealthy: " + "; ".join(problems) + "\n")
        return web.Response(text="ok\n")

    async def _metrics(self, request: web.Request) -> web.Response:
        current = metrics.current()
        if current is None:
            return web.Response(status=503, text="not counting\n")
        body = await asyncio.to_thread(current.render)
        return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})
