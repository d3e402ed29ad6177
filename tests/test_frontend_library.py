"""Choosing a story on the wire: autocomplete within Discord's 25 results, and /serial stories."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.discord_double import DiscordDouble
from tests.discord_double.limits import (
    AUTOCOMPLETE_CHOICES_MAX,
    CHOICE_NAME_MAX,
    EMBED_FIELDS_MAX,
    EMBED_TOTAL_MAX,
)
from tests.frontend_harness import (
    Harness,
    lighthouse_paragraphs,
    running_bot,
    stories_folder,
    write_story,
)

STORY_COUNT = 30


@pytest.fixture
async def harness(discord_double: DiscordDouble, tmp_path: Path) -> AsyncIterator[Harness]:
    folder = stories_folder(tmp_path)
    for i in range(STORY_COUNT):
        write_story(
            folder,
            f"tale-{i:02}",
            lighthouse_paragraphs(),
            title=f"Tale number {i:02} " + "with a rather long title " * 4,
            rating="mature" if i % 7 == 0 else "teen",
            content_notes=["storms", "shipwrecks"],
        )
    write_story(folder, "lighthouse", lighthouse_paragraphs(), title="The Lighthouse")
    async with running_bot(discord_double, tmp_path) as harness:
        yield harness


async def test_story_autocomplete_returns_at_most_25_choices(harness: Harness) -> None:
    choices = await harness.double.autocomplete(
        "serial subscribe", {"story": ""}, user_id=harness.double.admin_id
    )
    assert 0 < len(choices) <= AUTOCOMPLETE_CHOICES_MAX
    assert all(len(c["name"]) <= CHOICE_NAME_MAX for c in choices)
    assert all(harness.library.get(c["value"]) is not None for c in choices)


async def test_story_autocomplete_matches_title_and_shows_parts_and_rating(
    harness: Harness,
) -> None:
    choices = await harness.double.autocomplete(
        "serial subscribe", {"story": "lightho"}, user_id=harness.double.admin_id
    )
    assert [c["value"] for c in choices] == ["lighthouse"]
    serial = harness.library.get("lighthouse")
    assert serial is not None
    assert f"{len(serial.parts)} parts" in choices[0]["name"]
    assert "general" in choices[0]["name"]


async def test_timezone_autocomplete_filters_and_stays_within_25(harness: Harness) -> None:
    everything = await harness.double.autocomplete(
        "serial subscribe",
        {"story": "lighthouse", "timezone": ""},
        user_id=harness.double.admin_id,
    )
    assert len(everything) == AUTOCOMPLETE_CHOICES_MAX
    berlin = await harness.double.autocomplete(
        "serial subscribe",
        {"story": "lighthouse", "timezone": "berl"},
        user_id=harness.double.admin_id,
    )
    assert [c["value"] for c in berlin] == ["Europe/Berlin"]


async def test_stories_lists_the_library_in_one_embed_within_discord_limits(
    harness: Harness,
) -> None:
    record = await harness.invoke("serial stories")
    reply = await record.reply()
    assert record.ephemeral
    [embed] = reply.embeds
    fields = embed.get("fields") or []
    assert 0 < len(fields) <= EMBED_FIELDS_MAX
    size = (
        len(embed.get("title") or "")
        + len(embed.get("description") or "")
        + sum(len(f["name"]) + len(f["value"]) for f in fields)
        + len((embed.get("footer") or {}).get("text", ""))
    )
    assert size <= EMBED_TOTAL_MAX
    text = await record.text()
    assert "Tale number 00" in text
    assert "storms" in text
    assert "words" in text
    assert "more" in (embed.get("footer") or {}).get("text", "")
