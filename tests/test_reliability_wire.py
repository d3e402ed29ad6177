"""Discord failing, on the wire: server errors and hangs are retried with growing waits and keep
the schedule; an answer lost after Discord's nonce window is found in the channel's history; a
deleted channel, lost access or a removed bot pause the serial, tell the server once and make no
loop of failing requests; ``/serial resume`` tries again; SIGTERM never leaves a delivery
half-recorded."""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.store import Store
from tests.crash_harness import (
    BotProcess,
    KillSwitch,
    installment_posts,
    subscribe_as_admin,
    until,
    write_config,
)
from tests.discord_double import DiscordDouble
from tests.discord_double.limits import NONCE_WINDOW_SECONDS
from tests.frontend_harness import (
    Harness,
    lighthouse_paragraphs,
    running_bot,
    stories_folder,
    write_story,
)

FIRST_SLOT = datetime(2030, 6, 3, 18, 0, tzinfo=UTC)


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = stories_folder(tmp_path)
    write_story(folder, "lighthouse", lighthouse_paragraphs(), title="The Lighthouse")
    return folder


async def _minutes(harness: Harness, count: int) -> None:
    for _ in range(count):
        await harness.advance(timedelta(minutes=1))


def _failing(double: DiscordDouble, channel_id: int) -> list[int]:
    """Statuses of the bot's failed REST requests about one channel (its messages, threads)."""
    return [
        r.status
        for r in double.requests
        if r.path.startswith(f"/channels/{channel_id}") and r.status >= 400
    ]


def _no_duplicates(harness: Harness) -> None:
    """No message of a part twice in the channel (notices elsewhere may well repeat)."""
    assert [m for m in harness.double.duplicate_messages() if m.channel_id == harness.general] == []


def _answer_late(double: DiscordDouble, path_regex: str, seconds: float) -> None:
    """The next request to ``path_regex`` takes effect at once, but its answer comes only after
    ``seconds``: Discord did the work and then hung."""
    original = double.rest._process
    pattern = re.compile(path_regex)
    pending = [True]

    async def process(request: Any, handler: Any, record: Any) -> Any:
        response = await original(request, handler, record)
        if pending and request.method == "POST" and pattern.search(record.path):
            pending.clear()
            await asyncio.sleep(seconds)
        return response

    double.rest._process = process  # type: ignore[method-assign]


async def test_a_burst_of_server_errors_is_retried_with_growing_waits_and_keeps_the_schedule(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        discord_double.fail_next(
            "POST", rf"^/channels/{harness.general}/messages$", 3, status=503, code=130000
        )
        await harness.advance(FIRST_SLOT - harness.clock.now())  # the first try, at 18:00
        await _minutes(harness, 10)  # retries after 1, 2 and 4 minutes

        delivery = await harness.bot.scheduler.posted_part(harness.general, 1)
        assert delivery is not None
        assert delivery.attempts == 4
        assert delivery.posted_at == FIRST_SLOT + timedelta(minutes=1 + 2 + 4)
        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and not sub.paused and sub.retry_count == 0
        assert sub.next_due == FIRST_SLOT + timedelta(days=1)  # the schedule kept its time
        assert _failing(discord_double, harness.general) == [503, 503, 503]
        assert len(discord_double.threads(harness.general)) == 1
        _no_duplicates(harness)


@pytest.mark.parametrize(
    ("route", "commit"),
    [
        # Discord made the message, but its answer was lost.
        (r"/messages$", True),
        # Every message went out; opening the thread failed.
        (r"/messages/\d+/threads$", False),
    ],
    ids=["message-answer-lost", "thread-failed"],
)
async def test_a_part_half_posted_before_the_nonce_window_ran_out_is_finished_from_history(
    discord_double: DiscordDouble, tmp_path: Path, library: Path, route: str, commit: bool
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        discord_double.fail_next(
            "POST", rf"^/channels/{harness.general}{route}", status=503, commit=commit
        )
        await harness.until_first_post()
        assert await harness.bot.scheduler.posted_part(harness.general, 1) is None
        discord_double.advance_clock(NONCE_WINDOW_SECONDS + 60)
        await _minutes(harness, 3)

        delivery = await harness.bot.scheduler.posted_part(harness.general, 1)
        assert delivery is not None
        posts = installment_posts(discord_double, harness.general)
        assert [m.id for m in posts] == list(delivery.message_ids)
        [thread] = discord_double.threads(harness.general)
        assert thread.id == delivery.thread_id == posts[0].id
        assert discord_double.nonce_hits == 0  # found by reading the channel, not by nonce
        _no_duplicates(harness)


async def test_a_post_that_hangs_is_given_up_and_retried_without_a_duplicate(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        harness.bot.poster.post_timeout = 0.3
        _answer_late(discord_double, rf"^/channels/{harness.general}/messages$", 1.0)
        await harness.until_first_post()
        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and sub.retry_count == 1 and not sub.paused
        assert len(installment_posts(discord_double, harness.general)) == 1  # the header
        await _minutes(harness, 2)

        delivery = await harness.bot.scheduler.posted_part(harness.general, 1)
        assert delivery is not None
        assert len(discord_double.threads(harness.general)) == 1
        _no_duplicates(harness)


async def test_a_deleted_channel_pauses_and_the_system_channel_is_told_once(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        await discord_double.delete_channel(harness.general)
        await until(lambda: bool(harness.bot_messages(discord_double.system_channel_id)), 5)
        await harness.until_first_post()
        await harness.advance(timedelta(days=3))

        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and sub.paused
        assert sub.pause_reason == "#general was deleted"
        [notice] = harness.bot_messages(discord_double.system_channel_id)
        assert f"<#{harness.general}>" in notice.content
        assert "#general was deleted" in notice.content
        assert "/serial resume" in notice.content
        assert len(_failing(discord_double, harness.general)) <= 1


async def test_a_channel_deleted_while_the_bot_was_offline_pauses_at_its_next_post(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
    await discord_double.delete_channel(discord_double.channels["general"])
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.until_first_post()
        await harness.advance(timedelta(days=3))

        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and sub.paused and "deleted" in (sub.pause_reason or "")
        assert len(harness.bot_messages(discord_double.system_channel_id)) == 1
        # The post's look-up and the notice's: no loop of failing requests over three days.
        assert len(_failing(discord_double, harness.general)) <= 2


async def test_lost_access_pauses_shows_in_status_and_resume_posts_once_fixed(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        await discord_double.revoke(harness.general, "view_channel")
        await harness.until_first_post()
        await harness.advance(timedelta(days=2))

        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and sub.paused
        assert "View Channel" in (sub.pause_reason or "")
        assert len(_failing(discord_double, harness.general)) <= 2
        [notice] = harness.bot_messages(discord_double.system_channel_id)
        assert "View Channel" in notice.content
        status = await (await harness.invoke("serial status")).reply()
        assert "View Channel" in status.content

        # Resuming before it is fixed fails again, once, and pauses again.
        await (await harness.invoke("serial resume", admin=True)).reply()
        await harness.advance(timedelta(minutes=1))
        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and sub.paused
        assert len(harness.bot_messages(discord_double.system_channel_id)) == 2

        await discord_double.grant(harness.general, "view_channel")
        await (await harness.invoke("serial resume", admin=True)).reply()
        await harness.advance(timedelta(minutes=1))
        delivery = await harness.bot.scheduler.posted_part(harness.general, 1)
        assert delivery is not None
        assert len(discord_double.threads(harness.general)) == 1
        _no_duplicates(harness)


async def test_lost_thread_permission_after_the_text_went_out_resumes_without_repeating_it(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        await discord_double.revoke(harness.general, "create_public_threads")
        await harness.until_first_post()
        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and sub.paused
        assert "Create Public Threads" in (sub.pause_reason or "")
        posted = [m.content for m in installment_posts(discord_double, harness.general)]

        # Fixed a day later, long after Discord forgot the nonces.
        discord_double.advance_clock(NONCE_WINDOW_SECONDS + 60)
        await harness.advance(timedelta(days=1))
        await discord_double.grant(harness.general, "create_public_threads")
        await (await harness.invoke("serial resume", admin=True)).reply()
        await harness.advance(timedelta(minutes=1))

        delivery = await harness.bot.scheduler.posted_part(harness.general, 1)
        assert delivery is not None
        after = [m.content for m in installment_posts(discord_double, harness.general)]
        assert after == posted  # the header, the text and the pause notice: nothing again
        [thread] = discord_double.threads(harness.general)
        assert thread.id == delivery.message_ids[0]


async def test_a_bot_removed_from_the_server_makes_no_requests_for_its_channels(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        await discord_double.remove_bot_from_guild(discord_double.guild_id)
        await until(lambda: not harness.bot.get_guild(discord_double.guild_id), 5)
        before = len(discord_double.requests)
        await harness.until_first_post()
        await harness.advance(timedelta(days=3))

        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and sub.paused and "removed" in (sub.pause_reason or "")
        assert [r for r in discord_double.requests[before:] if "/channels/" in r.path] == []


# --- SIGTERM -------------------------------------------------------------------------------------


async def test_sigterm_at_random_points_never_leaves_a_delivery_half_recorded(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    rng = random.Random(7)
    channels = [await discord_double.add_channel(f"tide-{n}") for n in (1, 2)]
    config = write_config(tmp_path, discord_double, schedule="every 1h")
    bot = BotProcess(discord_double, config, tmp_path / "bot.log", speed=14400.0)
    switch = KillSwitch(discord_double, bot)
    mid_post = 0
    identified = discord_double.gateway.identifies
    await bot.start()
    try:
        await discord_double.wait_until_connected(30, identified_after=identified)
        for channel_id in channels:
            await subscribe_as_admin(discord_double, channel_id, "lighthouse", "every 1h")
        for stop in range(3):
            if stop:
                identified = discord_double.gateway.identifies
                await bot.start()
                # SIGTERM is handled once the bot has installed its handlers; it has by the
                # time it connects.
                await discord_double.wait_until_connected(30, identified_after=identified)
            # SIGTERM while a message or thread request of a part is under way.
            switch.arm(rng.randint(1, 3), after=True, sig=signal.SIGTERM)
            await _fired_or_timeout(switch, 3.0)
            mid_post += switch.fired.is_set()
            switch.disarm()
            assert await bot.terminate() == 0
            async with await Store.open(tmp_path / "serialbot.sqlite3") as store:
                assert await store.pending_deliveries() == []
                for channel_id in channels:
                    recorded = [
                        i for d in await store.deliveries(channel_id) for i in d.message_ids
                    ]
                    # Every installment message on Discord is recorded, and nothing more.
                    posts = [
                        m.id
                        for m in installment_posts(discord_double, channel_id)
                        if not m.content.startswith("**The End**")
                    ]
                    assert recorded == posts
    finally:
        bot.kill_now()
    assert mid_post >= 2
    assert discord_double.duplicate_messages() == []


async def _fired_or_timeout(switch: KillSwitch, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(switch.fired.wait(), seconds)


async def test_a_lost_gateway_connection_does_not_hold_up_a_post(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        await discord_double.drop_gateway(resume=False)
        await harness.until_first_post()

        assert await harness.bot.scheduler.posted_part(harness.general, 1) is not None
        assert len(discord_double.threads(harness.general)) == 1
        await discord_double.wait_until_connected(10)
