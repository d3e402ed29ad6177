"""The double's global limit under both window models, and Discord's IP ban, as a client meets
them (the limiter on a virtual clock; the ban answers through real discord.py)."""

from __future__ import annotations

import discord
import pytest

from tests.discord_double import DiscordDouble
from tests.discord_double.ban import BLOCKED_MESSAGE, BanGate
from tests.discord_double.limits import GLOBAL_RATE_LIMIT
from tests.discord_double.ratelimit import RateLimiter

ROUTE = "GET /channels/{channel_id}"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _admitted(limiter: RateLimiter, count: int) -> int:
    # a different channel each time: only the global limit applies
    return sum(limiter.check(ROUTE, str(i)).allowed for i in range(count))


@pytest.mark.parametrize("window", ["fixed", "sliding"])
def test_fifty_go_at_once_and_the_fifty_first_is_a_global_429(window: str) -> None:
    clock = Clock()
    limiter = RateLimiter(enabled=True, window=window, monotonic=clock)  # type: ignore[arg-type]
    assert _admitted(limiter, GLOBAL_RATE_LIMIT) == GLOBAL_RATE_LIMIT
    verdict = limiter.check(ROUTE, "x")
    assert not verdict.allowed and verdict.is_global
    assert verdict.headers["X-RateLimit-Scope"] == "global"
    assert 0 < verdict.retry_after <= 1.0


def test_a_fixed_window_admits_a_full_burst_on_each_side_of_its_edge() -> None:
    clock = Clock()
    limiter = RateLimiter(enabled=True, window="fixed", monotonic=clock)
    limiter.check(ROUTE, "open")  # the window opens at 100.0
    clock.now = 100.95
    assert _admitted(limiter, 49) == 49
    clock.now = 101.0
    assert _admitted(limiter, 50) == 50  # 99 within 0.05 s


def test_a_sliding_window_admits_no_more_than_fifty_in_any_second() -> None:
    clock = Clock()
    limiter = RateLimiter(enabled=True, window="sliding", monotonic=clock)
    limiter.check(ROUTE, "open")
    clock.now = 100.95
    assert _admitted(limiter, 49) == 49
    clock.now = 101.0
    assert _admitted(limiter, 50) == 1  # the one from 100.0 has left the last second
    clock.now = 101.96
    assert _admitted(limiter, 50) == 49


def test_an_evenly_spaced_stream_under_the_limit_passes_both_models() -> None:
    for window in ("fixed", "sliding"):
        clock = Clock()
        limiter = RateLimiter(enabled=True, window=window, monotonic=clock)  # type: ignore[arg-type]
        refused = 0
        for i in range(48 * 10):
            clock.now = 100.0 + i / 48
            refused += not limiter.check(ROUTE, str(i)).allowed
        assert refused == 0


def test_the_ban_comes_at_the_invalid_request_line_and_ends() -> None:
    clock = Clock()
    gate = BanGate(threshold=3, window=600.0, seconds=60.0, monotonic=clock)
    gate.note_invalid(clock.now)
    clock.now += 599
    gate.note_invalid(clock.now)
    assert gate.current() is None
    clock.now += 2  # the first has left the ten minutes
    gate.note_invalid(clock.now)
    assert gate.current() is None
    gate.note_invalid(clock.now)
    ban = gate.current()
    assert ban is not None and ban.triggered and ban.kind == "cloudflare"
    clock.now += 60.5
    assert gate.current() is None


@pytest.mark.discord_double(ban_after=5, ban_seconds=30.0)
async def test_discord_py_meets_the_ban_as_a_429_it_does_not_retry(
    discord_double: DiscordDouble, discord_client: discord.Client
) -> None:
    secret = await discord_double.add_channel(
        "secret", overwrites={discord_double.bot_id: (0, 1 << 10)}
    )
    for _ in range(5):
        with pytest.raises(discord.Forbidden):
            await discord_client.http.get_channel(secret)
    with pytest.raises(discord.HTTPException) as caught:
        await discord_client.http.get_channel(discord_double.channels["general"])

    assert caught.value.status == 429
    assert "error code: 1015" in caught.value.text
    assert [b.triggered for b in discord_double.bans] == [True]
    assert discord_double.invalid_request_peak() == 6


@pytest.mark.parametrize(
    ("kind", "status", "code", "text"),
    [("blocked", 429, 0, BLOCKED_MESSAGE[:30]), ("network", 403, 40333, "internal network error")],
)
async def test_the_other_ban_answers_are_discords_json(
    discord_double: DiscordDouble,
    discord_client: discord.Client,
    kind: str,
    status: int,
    code: int,
    text: str,
) -> None:
    discord_double.ban(30.0, kind)  # type: ignore[arg-type]
    with pytest.raises((discord.HTTPException, KeyError)) as caught:
        await discord_client.http.get_channel(discord_double.channels["general"])
    [record] = [r for r in discord_double.requests if r.banned]
    assert record.status == status
    if isinstance(caught.value, discord.HTTPException):
        assert caught.value.code == code and text in caught.value.text
