"""Shared fixtures. ``discord_double`` runs the loopback Discord API double and points discord.py
at it; options come from ``@pytest.mark.discord_double(rate_limits=True, ...)``, which takes the
keyword arguments of ``DiscordDouble``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import discord
import discord.gateway
import discord.http
import pytest

from tests.discord_double import DiscordDouble, connected_client
from tests.postgres_server import ServerUnavailable, fresh_schema, throwaway_server


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


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL server for the whole run (tests/postgres_server.py). Without one
    the PostgreSQL tests skip, saying how to get one; with CI=true they fail instead."""
    try:
        with throwaway_server() as url:
            yield url
    except ServerUnavailable as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs a PostgreSQL server and none could be started: {error}")
        pytest.skip(f"no PostgreSQL server for these tests: {error}")


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """The URL of an empty schema of its own on the test server."""
    return fresh_schema(postgres_server)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a test's store lives: a SQLite file, or an empty PostgreSQL schema (the same tests
    run against both)."""
    if request.param == "sqlite":
        return tmp_path / "data" / "serial.sqlite3"
    return str(request.getfixturevalue("postgres_url"))
