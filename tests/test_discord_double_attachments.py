"""The double's attachments: resolved in the interaction as Discord resolves them, served from a
signed link that an altered or expired copy cannot use, never bigger than a client may upload."""

from __future__ import annotations

import aiohttp
import pytest

from tests.discord_double import DiscordDouble
from tests.discord_double.attachments import LINK_LIFETIME_SECONDS, UPLOAD_MAX


async def _get(url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.read()


async def test_a_signed_link_serves_the_bytes_and_an_altered_one_does_not(
    discord_double: DiscordDouble,
) -> None:
    hosted = discord_double.attachment("tale.txt", b"Once upon a time.\n")
    resolved = discord_double.attachments.resolved(hosted)
    assert resolved["size"] == 18 and resolved["filename"] == "tale.txt"
    assert resolved["content_type"] == "text/plain; charset=utf-8" and resolved["ephemeral"]
    assert await _get(resolved["url"]) == (200, b"Once upon a time.\n")
    assert (await _get(resolved["url"].replace("hm=", "hm=0")))[0] == 404
    assert (await _get(resolved["url"].replace("tale.txt", "other.txt")))[0] == 404
    assert hosted.requests == 3


async def test_an_expired_link_is_refused(discord_double: DiscordDouble) -> None:
    hosted = discord_double.attachment("tale.txt", b"words")
    url = discord_double.attachments.resolved(hosted)["url"]
    discord_double.advance_clock(LINK_LIFETIME_SECONDS + 1)
    assert (await _get(url))[0] == 404


def test_no_client_uploads_more_than_its_limit(discord_double: DiscordDouble) -> None:
    with pytest.raises(ValueError, match="refuses files over"):
        discord_double.attachment("huge.txt", b"", size=UPLOAD_MAX + 1)
