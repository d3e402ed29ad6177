"""The bot's pace on the wire, against the double with Discord's rate limits on: a burst of due
channels stays under the global limit under either window model, and when Discord says "stop"
(a global 429, a ban) every request of the bot stops for the time stated and then resumes."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from bot.poster import Destination
from tests.discord_double import DiscordDouble
from tests.discord_double.rest import RequestRecord
from tests.frontend_harness import (
    SCHEDULE,
    Harness,
    lighthouse_paragraphs,
    running_bot,
    stories_folder,
    write_story,
)

BURST_CHANNELS = 50


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = stories_folder(tmp_path)
    write_story(folder, "lighthouse", lighthouse_paragraphs(), title="The Lighthouse")
    return folder


async def _subscribe_many(harness: Harness, count: int) -> list[int]:
    ids = [await harness.double.add_channel(f"serial-{i}") for i in range(count)]
    for channel_id in ids:
        await harness.bot.scheduler.subscribe(
            guild_id=harness.double.guild_id,
            channel_id=channel_id,
            slug="lighthouse",
            schedule=SCHEDULE,
            subscribed_by=harness.double.admin_id,
        )
    return ids


def _rest(records: list[RequestRecord]) -> list[RequestRecord]:
    """The bot's own REST requests (interaction answers are outside the global limit)."""
    return [
        r for r in records if r.route and not r.path.startswith(("/interactions/", "/webhooks/"))
    ]


def _threads_opened(double: DiscordDouble, channels: list[int]) -> int:
    return sum(len(double.threads(c)) for c in channels)


@pytest.mark.parametrize(
    "window",
    [
        pytest.param("fixed", marks=pytest.mark.discord_double(rate_limits=True, window="fixed")),
        pytest.param(
            "sliding", marks=pytest.mark.discord_double(rate_limits=True, window="sliding")
        ),
    ],
)
async def test_a_burst_of_due_channels_stays_under_the_global_limit(
    discord_double: DiscordDouble, tmp_path: Path, library: Path, window: str
) -> None:
    async with running_bot(discord_double, tmp_path, concurrency=16) as harness:
        channels = await _subscribe_many(harness, BURST_CHANNELS)
        mark = len(discord_double.requests)
        await harness.until_first_post()

        burst = _rest(discord_double.requests[mark:])
        assert _threads_opened(discord_double, channels) == BURST_CHANNELS
        assert discord_double.duplicate_messages() == []
        limited = [r for r in burst if r.status == 429]
        # at most 1 % of requests meet a 429, under either model of the window
        assert len(limited) <= len(burst) // 100, (window, len(limited), len(burst))
        assert harness.bot.rest_health.invalid_recent() == len(limited)


@pytest.mark.discord_double(rate_limits=True)
async def test_a_global_429_stops_every_request_for_the_time_stated(
    discord_double: DiscordDouble,
    tmp_path: Path,
    library: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "bot")
    async with running_bot(discord_double, tmp_path, concurrency=8) as harness:
        channels = await _subscribe_many(harness, 12)
        mark = len(discord_double.requests)
        discord_double.rate_limit_next("POST", r"/messages$", retry_after=2.0, is_global=True)
        posting = asyncio.ensure_future(harness.until_first_post())
        async with asyncio.timeout(10):
            while not any(r.status == 429 for r in discord_double.requests[mark:]):
                await asyncio.sleep(0.01)
        answer = await harness.invoke("serial status", channel_id=channels[0])
        shown = await answer.text(5)
        await posting

        records = _rest(discord_double.requests[mark:])
        [limited] = [r for r in records if r.status == 429]
        answered = limited.at + limited.duration
        during = [r for r in records if answered + 0.05 < r.at < limited.at + 1.9]
        assert during == []  # nothing left while the bot waited, not even for other channels
        assert _threads_opened(discord_double, channels) == 12
        assert discord_double.duplicate_messages() == []
        assert "Discord" in shown and "limit" in shown
        stops = [m for m in caplog.messages if "Discord asked the bot to stop" in m]
        assert len(stops) == 1
        assert not any("refused" in m for m in caplog.messages)


@pytest.mark.discord_double(rate_limits=True)
async def test_interaction_answers_never_wait_behind_posts(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path, concurrency=16) as harness:
        channels = await _subscribe_many(harness, BURST_CHANNELS)
        posting = asyncio.ensure_future(harness.until_first_post())
        async with asyncio.timeout(10):
            while _threads_opened(discord_double, channels) < 5:
                await asyncio.sleep(0.01)
        queued = harness.bot.rest_guard.pacer.queued
        answer = await harness.invoke("serial status", channel_id=channels[-1])
        await answer.text(5)
        await posting

        assert queued > 3  # posts were waiting their turn meanwhile
        assert answer.latency is not None and answer.latency < 1.0
        assert _threads_opened(discord_double, channels) == BURST_CHANNELS


@pytest.mark.parametrize(
    ("kind", "queued_wait"),
    [
        ("cloudflare", 10.0),
        ("blocked", 10.0),
        ("network", 10.0),
        # a wait too long to queue for: posts give up their turn and the scheduler holds them
        ("cloudflare", 0.2),
    ],
)
@pytest.mark.discord_double(rate_limits=True)
async def test_a_ban_stops_every_request_and_posting_resumes_after_it(
    discord_double: DiscordDouble,
    tmp_path: Path,
    library: Path,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    queued_wait: float,
) -> None:
    caplog.set_level(logging.INFO)
    async with running_bot(discord_double, tmp_path, concurrency=8) as harness:
        channels = await _subscribe_many(harness, 12)
        harness.bot.rest_guard.ban_first_wait = 1.5
        harness.bot.rest_guard.pacer.max_queued_wait = queued_wait
        discord_double.ban(1.0, kind)  # type: ignore[arg-type]
        await harness.until_first_post()

        banned = [r for r in discord_double.requests if r.banned]
        # only the requests already under way when the first ban answer came
        assert 1 <= len(banned) <= 8
        first = banned[0].at + banned[0].duration
        during = [r for r in _rest(discord_double.requests) if first + 0.05 < r.at < first + 1.4]
        assert during == []  # nothing at all left while the bot waited
        await asyncio.sleep(1.6)
        await harness.advance(timedelta(seconds=2))

        assert _threads_opened(discord_double, channels) == 12
        assert discord_double.duplicate_messages() == []
        assert len([r for r in discord_double.requests if r.banned]) == len(banned)
        for channel_id in channels:
            sub = await harness.bot.scheduler.subscription(channel_id)
            assert sub is not None and not sub.paused and sub.retry_count == 0
        stops = [m for m in caplog.messages if "Discord asked the bot to stop" in m]
        assert len(stops) == 1
        assert not any("refused" in m for m in caplog.messages)


@pytest.mark.discord_double(rate_limits=True, time_scale=0.2)
async def test_many_messages_to_one_channel_wait_for_its_bucket_instead_of_meeting_429s(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        to = Destination(discord_double.guild_id, harness.general)
        mark = len(discord_double.requests)
        await asyncio.gather(
            *(harness.bot.poster.post_notice(to, f"notice {i}") for i in range(12))
        )

        sent = _rest(discord_double.requests[mark:])
        assert [r.status for r in sent if r.status == 429] == []
        assert len(harness.bot_messages(harness.general)) == 12
