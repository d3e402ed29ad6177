"""How the bot reads each "stop" answer from Discord (the HTTP session's trace hooks, fed answers
as aiohttp gives them): which pause every request, for how long, and which count as invalid."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import SimpleNamespace

import discord
import pytest
from multidict import CIMultiDict

from bot.frontend.pacing import BAN_FIRST_WAIT_SECONDS, BAN_LONGEST_WAIT_SECONDS, RestGuard
from bot.pacing import Pacer

API = "https://discord.com/api/v10"


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Answer:
    status: int
    body: object
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)

    async def read(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()


def discord_answer(status: int, body: object, **headers: str) -> Answer:
    h: CIMultiDict[str] = CIMultiDict({"Via": "1.1 google", "Content-Type": "application/json"})
    h.update({k.replace("_", "-"): v for k, v in headers.items()})
    return Answer(status, body, h)


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch) -> RestGuard:
    monkeypatch.setattr(discord.http.Route, "BASE", API)
    clock = Clock()
    return RestGuard(Pacer(48.0, monotonic=clock), monotonic=clock)


async def answer(guard: RestGuard, response: Answer, path: str = "/channels/1/messages") -> None:
    params = SimpleNamespace(url=API + path, response=response)
    await guard._on_end(None, SimpleNamespace(), params)  # type: ignore[arg-type]


def test_only_rest_requests_are_paced(guard: RestGuard) -> None:
    assert guard.is_paced(API + "/channels/1/messages")
    assert not guard.is_paced(API + "/interactions/1/token/callback")
    assert not guard.is_paced(API + "/webhooks/1/token/messages/@original")
    assert not guard.is_paced("wss://gateway.discord.gg/?v=10")
    assert not guard.is_paced("https://cdn.discordapp.com/attachments/1/2/a.png")


async def test_a_global_429_pauses_everything_for_its_retry_after(guard: RestGuard) -> None:
    await answer(guard, discord_answer(429, {"message": "x", "retry_after": 2.5, "global": True}))
    assert guard.health.paused_for() == pytest.approx(2.5)
    assert guard.health.invalid_recent() == 1
    assert guard.health.rate_limited_global == 1


async def test_a_short_route_429_is_left_to_discord_py(guard: RestGuard) -> None:
    body = {"message": "x", "retry_after": 0.8, "global": False}
    await answer(guard, discord_answer(429, body, X_RateLimit_Scope="user"))
    assert guard.health.paused_for() == 0.0
    assert guard.health.invalid_recent() == 1


async def test_a_long_route_429_pauses_everything(guard: RestGuard) -> None:
    body = {"message": "x", "retry_after": 120.0, "global": False}
    await answer(guard, discord_answer(429, body, X_RateLimit_Scope="user"))
    assert guard.health.paused_for() == pytest.approx(120.0)


async def test_a_shared_429_neither_counts_nor_stops(guard: RestGuard) -> None:
    body = {"message": "x", "retry_after": 300.0, "global": False}
    await answer(guard, discord_answer(429, body, X_RateLimit_Scope="shared"))
    assert guard.health.paused_for() == 0.0
    assert guard.health.invalid_recent() == 0


@pytest.mark.parametrize(
    "response",
    [
        Answer(429, b"<html>error code: 1015</html>", CIMultiDict({"Content-Type": "text/html"})),
        discord_answer(429, {"message": "You are being blocked from accessing our API", "code": 0}),
        discord_answer(403, {"message": "internal network error", "code": 40333}),
    ],
    ids=["cloudflare", "blocked", "40333"],
)
async def test_a_ban_pauses_everything_and_waits_longer_while_it_lasts(
    guard: RestGuard, response: Answer
) -> None:
    clock = guard._monotonic  # type: ignore[attr-defined]
    await answer(guard, response)
    assert guard.health.paused_for() == pytest.approx(BAN_FIRST_WAIT_SECONDS)
    await answer(guard, response)  # a request that left before the wait: nothing more
    assert guard.health.bans == 1

    clock.now += BAN_FIRST_WAIT_SECONDS + 1  # the first request after the wait: still banned
    await answer(guard, response)
    assert guard.health.paused_for() == pytest.approx(2 * BAN_FIRST_WAIT_SECONDS)
    for _ in range(5):
        clock.now += guard.health.paused_for() + 1
        await answer(guard, response)
    assert guard.health.paused_for() == pytest.approx(BAN_LONGEST_WAIT_SECONDS)


async def test_a_ban_that_states_its_end_is_waited_exactly(guard: RestGuard) -> None:
    page = Answer(
        429,
        b"<html>error code: 1015</html>",
        CIMultiDict({"Content-Type": "text/html", "Retry-After": "90"}),
    )
    await answer(guard, page)
    assert guard.health.paused_for() == pytest.approx(90.0)


async def test_a_missing_permission_counts_but_does_not_stop(guard: RestGuard) -> None:
    await answer(guard, discord_answer(403, {"message": "Missing Permissions", "code": 50013}))
    await answer(guard, discord_answer(401, {"message": "401: Unauthorized", "code": 0}))
    await answer(guard, discord_answer(404, {"message": "Unknown Channel", "code": 10003}))
    assert guard.health.paused_for() == 0.0
    assert guard.health.invalid_recent() == 2
