"""Logging a real discord.py client in to a running double (tests only)."""

# Test-facing waits take a ``timeout`` argument, as asyncio's own waits do.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import TypeVar

import discord
import discord.gateway
import discord.http

from .server import DiscordDouble

ClientT = TypeVar("ClientT", bound=discord.Client)

# on_ready waits this long after the last GUILD_CREATE; discord.py's 2 s default only slows tests
FAST_GUILD_READY_TIMEOUT = 0.05


@contextlib.contextmanager
def pointed_at(double: DiscordDouble) -> Iterator[None]:
    """Point discord.py's REST base and default gateway at the double for the duration."""
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = double.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = double.gateway_url
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


def default_client(**options: object) -> discord.Client:
    intents = discord.Intents.none()
    intents.guilds = True
    options.setdefault("intents", intents)
    options.setdefault("guild_ready_timeout", FAST_GUILD_READY_TIMEOUT)
    return discord.Client(**options)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def connected_client(
    double: DiscordDouble,
    client: ClientT | None = None,
    *,
    timeout: float = 10.0,
    token: str | None = None,
) -> AsyncIterator[ClientT]:
    """Log ``client`` (a plain guilds-intent ``discord.Client`` if None) in with the double's fake
    token, wait for ``on_ready``, and close it afterwards. discord.py must already point at the
    double (the ``discord_double`` fixture does that). Pass clients built with a small
    ``guild_ready_timeout`` (``FAST_GUILD_READY_TIMEOUT``) or on_ready takes 2 s."""
    bot = client if client is not None else default_client()
    await bot.login(token or double.token)
    task = asyncio.create_task(bot.connect(reconnect=True), name="discord-double-client")
    try:
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()
            raise TimeoutError("the client did not become ready")
        yield bot  # type: ignore[misc]
    finally:
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, timeout=5.0)
