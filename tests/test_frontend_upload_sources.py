"""Where the bot fetches an attachment from, on the wire: only from Discord's file hosts over
https and the origins the operator added (here the double's own address, configured by the
harness as an operator would). A link to anywhere else, or a redirect off the list, is answered
ephemerally and never requested."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.config import CommandSettings
from bot.origins import FileSources
from tests.discord_double import DiscordDouble, InvokedInteraction
from tests.discord_double.attachments import HostedFile
from tests.discord_double.limits import INTERACTION_DEADLINE_SECONDS, MESSAGE_CONTENT_MAX
from tests.frontend_harness import Harness, running_bot
from tests.test_frontend_uploads import story_file


@pytest.fixture
async def harness(discord_double: DiscordDouble, tmp_path: Path) -> AsyncIterator[Harness]:
    (tmp_path / "stories").mkdir()
    async with running_bot(
        discord_double, tmp_path, commands=CommandSettings(sync_guild=None)
    ) as harness:
        yield harness


async def add(harness: Harness, hosted: HostedFile) -> tuple[InvokedInteraction, str]:
    record = await harness.double.invoke(
        "serial library add",
        {"file": hosted},
        channel_id=harness.general,
        user_id=harness.double.admin_id,
    )
    text = await record.text(timeout=15)
    assert record.ephemeral
    assert record.latency is not None and record.latency < INTERACTION_DEADLINE_SECONDS
    assert all(len(m.content) <= MESSAGE_CONTENT_MAX for m in record.messages)
    return record, text


async def reachable(harness: Harness, hosted: HostedFile) -> bool:
    """Whether the file's link answers a plain fetch: a refusal is the bot's, not the network's."""
    url = harness.double.attachments.url(hosted)
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status == 200 and await response.read() == hosted.data


def stored(harness: Harness) -> list[str]:
    return [e.slug for e in harness.bot.catalog.uploads(harness.double.guild_id)]


async def test_a_link_on_an_allowed_origin_is_downloaded(harness: Harness) -> None:
    hosted = harness.double.attachment("tide-clock.txt", story_file())
    _, text = await add(harness, hosted)
    assert "Added" in text
    assert hosted.requests == 1
    assert stored(harness) == ["tide-clock"]


async def test_a_link_on_another_host_is_refused_and_never_requested(harness: Harness) -> None:
    # The same server under another name: another origin, not on the list.
    hosted = harness.double.attachment("tide-clock.txt", story_file(), host="localhost")
    _, text = await add(harness, hosted)
    assert "does not lead to Discord's file servers" in text and "Added" not in text
    assert hosted.requests == 0
    assert stored(harness) == []
    assert await reachable(harness, hosted)


async def test_a_redirect_within_the_allowed_origins_is_followed(harness: Harness) -> None:
    target = harness.double.attachment("tide-clock.txt", story_file())
    hosted = harness.double.attachment(
        "tide-clock.txt", story_file(), serve="redirect", redirect_to=target
    )
    _, text = await add(harness, hosted)
    assert "Added" in text
    assert (hosted.requests, target.requests) == (1, 1)


async def test_a_redirect_off_the_list_is_not_followed(harness: Harness) -> None:
    target = harness.double.attachment("tide-clock.txt", story_file(), host="localhost")
    hosted = harness.double.attachment(
        "tide-clock.txt", story_file(), serve="redirect", redirect_to=target
    )
    _, text = await add(harness, hosted)
    assert "sent the download elsewhere" in text and "Added" not in text
    assert (hosted.requests, target.requests) == (1, 0)
    assert stored(harness) == []
    assert await reachable(harness, target)


async def test_without_the_configured_origin_the_doubles_own_links_are_refused(
    harness: Harness,
) -> None:
    """Only Discord's hosts are allowed by default: the double is allowed by configuration
    alone."""
    limits = harness.bot.upload_limits
    assert limits.sources.extra
    harness.bot.upload_limits = dataclasses.replace(limits, sources=FileSources())
    hosted = harness.double.attachment("tide-clock.txt", story_file())
    _, text = await add(harness, hosted)
    assert "does not lead to Discord's file servers" in text
    assert hosted.requests == 0
    assert stored(harness) == []
