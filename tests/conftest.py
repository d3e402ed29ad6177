"""Shared fixtures. ``discord_double`` runs the loopback Discord API double and points discord.py
at it; options come from ``@pytest.mark.discord_double(rate_limits=True, ...)``, which takes the
keyword arguments of ``DiscordDouble``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import discord.gateway
import discord.http
import pytest

from tests.discord_double import DiscordDouble, connected_client


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "discord_double(**options): keyword arguments for the DiscordDouble fixture"
    )


@pytest.fixture
async def discord_double(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[DiscordDouble]:
    marker = request.node.get_closest_marker("discord_double")
    options = dict(marker.kwargs) if marker else {}
    double = DiscordDouble(**options)
    await double.start()
    monkeypatch.setattr(discord.http.Route, "BASE", double.api_base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", double.gateway_url)
    try:
        yield double
    finally:
        await double.stop()
    if double.internal_errors:
        pytest.fail(f"the Discord double itself failed: {double.internal_errors!r}")


@pytest.fixture
async def discord_client(discord_double: DiscordDouble) -> AsyncIterator[discord.Client]:
    """A plain ``discord.Client`` (guilds intent) logged in to the double and ready."""
    async with connected_client(discord_double) as client:
        yield client
