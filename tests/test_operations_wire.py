"""The operator's endpoint on the wire: the real bot on the Discord double, scraped over HTTP
while it posts, retries and pauses; /healthz follows the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import MetricsSettings
from bot.storage import StoreUnavailable
from tests.discord_double import DiscordDouble
from tests.frontend_harness import (
    Harness,
    lighthouse_paragraphs,
    running_bot,
    stories_folder,
    write_story,
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = stories_folder(tmp_path)
    write_story(folder, "lighthouse", lighthouse_paragraphs(), title="The Lighthouse")
    return folder


@pytest.fixture
async def harness(
    discord_double: DiscordDouble, tmp_path: Path, library: Path
) -> AsyncIterator[Harness]:
    # Port 0: the system picks a free one.
    async with running_bot(discord_double, tmp_path, metrics=MetricsSettings(port=0)) as running:
        yield running


def url(harness: Harness, path: str) -> str:
    endpoint = harness.bot.endpoint
    assert endpoint is not None
    return f"http://127.0.0.1:{endpoint.port}{path}"


async def scrape(harness: Harness) -> Samples:
    async with aiohttp.ClientSession() as session, session.get(url(harness, "/metrics")) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await answer.text()
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def health(harness: Harness) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url(harness, "/healthz")) as answer:
        return answer.status, await answer.text()


async def test_the_scrape_shows_the_posts_delays_and_pauses_the_test_caused(
    discord_double: DiscordDouble, harness: Harness
) -> None:
    quiet = await discord_double.add_channel("quiet")
    refusing = await discord_double.add_channel("refusing")
    for channel in (harness.general, quiet, refusing):
        await harness.subscribe("lighthouse", channel_id=channel)
    before = await scrape(harness)
    assert before[("serialbot_serials", (("state", "active"),))] == 3
    assert not any(name.startswith("serialbot_parts_posted") for name, _ in before)

    # The general channel's first post fails once (a 503 that discord.py does not retry
    # itself); the refusing channel forbids the bot to send.
    discord_double.fail_next("POST", rf"/channels/{harness.general}/messages$", status=503)
    await discord_double.revoke(refusing, "send_messages")
    await harness.until_first_post()
    during = await scrape(harness)
    assert during[("serialbot_parts_posted_total", (("trigger", "schedule"),))] == 1  # quiet
    assert sum(v for (n, _), v in during.items() if n == "serialbot_parts_delayed_total") == 1
    assert sum(v for (n, _), v in during.items() if n == "serialbot_parts_failed_total") == 1
    assert during[("serialbot_serials", (("state", "paused"),))] == 1
    paused = {
        labels: value
        for (name, labels), value in during.items()
        if name == "serialbot_serials_paused"
    }
    assert len(paused) == 1 and "Send Messages" in next(iter(paused))[0][1]
    # The retry of the general channel is due in a minute: not yet posted, not yet due.
    assert during[("serialbot_due_backlog", ())] == 0
    # The refused send counts towards Discord's invalid request limit.
    assert during[("serialbot_discord_invalid_requests_total", (("status", "403"),))] >= 1
    assert during[("serialbot_discord_invalid_requests_recent", ())] >= 1
    assert during[("serialbot_gateway_connected", ())] == 1

    await harness.advance(timedelta(minutes=5))
    after = await scrape(harness)
    assert after[("serialbot_parts_posted_total", (("trigger", "schedule"),))] == 2

    # Past the cooldown, a reader's request posts part 2 in the quiet channel at once.
    await harness.advance(timedelta(hours=1))
    await (await harness.invoke("serial next", channel_id=quiet)).reply()
    await harness.bot.scheduler.idle()
    await (await harness.invoke("serial status", channel_id=quiet)).reply()
    final = await scrape(harness)
    assert final[("serialbot_parts_posted_total", (("trigger", "request"),))] == 1
    assert final[("serialbot_interaction_seconds_count", (("command", "serial status"),))] == 1
    assert final[("serialbot_interaction_seconds_count", (("command", "serial next"),))] == 1


async def test_healthz_is_503_while_the_gateway_is_down_and_200_after_it_reconnects(
    discord_double: DiscordDouble, harness: Harness
) -> None:
    assert await health(harness) == (200, "ok\n")

    # Nothing answers on the gateway for a while: the bot's reconnects fail until it is back.
    discord_double.gateway.down = True
    await discord_double.drop_gateway()
    _, text = await wait_for_health(harness, 503)
    assert "gateway is not connected" in text
    samples = await scrape(harness)
    assert samples[("serialbot_gateway_connected", ())] == 0

    discord_double.gateway.down = False
    await discord_double.wait_until_connected(timeout=30)
    assert await wait_for_health(harness, 200) == (200, "ok\n")


async def wait_for_health(harness: Harness, wanted: int) -> tuple[int, str]:
    deadline = asyncio.get_running_loop().time() + 20.0
    while True:
        status, text = await health(harness)
        if status == wanted or asyncio.get_running_loop().time() > deadline:
            return status, text
        await asyncio.sleep(0.05)


async def test_a_command_that_cannot_reach_the_database_is_counted_as_a_database_error(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(channel_id: int) -> None:
        raise StoreUnavailable("connection refused")

    monkeypatch.setattr(harness.bot.scheduler, "status", unreachable)
    record = await harness.invoke("serial status")
    reply = await record.reply()
    assert "cannot reach its database" in reply.content
    samples = await scrape(harness)
    assert samples[("serialbot_database_errors_total", (("operation", "command"),))] == 1
