"""A server's own library on the wire: an admin attaches a file to ``/serial library add``, the
bot downloads it from the double's CDN, and the story can be chosen, subscribed and posted in that
server only."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import CommandSettings
from bot.render import render_part
from tests.discord_double import CallbackType, DiscordDouble
from tests.discord_double.limits import CUSTOM_ID_MAX, MESSAGE_CONTENT_MAX, Permission
from tests.discord_markdown import read_emphasis
from tests.frontend_harness import (
    START,
    Harness,
    lighthouse_paragraphs,
    running_bot,
    stories_folder,
    write_story,
)
from tests.story_formats import Work

LIBRARY_COMMANDS = ("add", "preview", "edit", "replace", "remove")


def story_file(
    title: str = "The Tide Clock", *, rating: str | None = "teen", parts: int = 3
) -> bytes:
    front = f"---\ntitle: {title}\nauthor: M. Keeper\nwords_per_part: 60\n"
    if rating:
        front += f"rating: {rating}\n"
    paragraphs = [
        f"Evening {i} at the harbour began with the tide clock striking, and the keeper "
        f"counted each of the {200 + i} boats that came home against the wind."
        for i in range(1, 3 * parts + 1)
    ]
    return (front + "---\n\n" + "\n\n".join(paragraphs) + "\n").encode()


@pytest.fixture
async def harness(discord_double: DiscordDouble, tmp_path: Path) -> AsyncIterator[Harness]:
    write_story(
        stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="The Lighthouse"
    )
    async with running_bot(
        discord_double, tmp_path, commands=CommandSettings(sync_guild=None)
    ) as harness:
        yield harness


async def add(harness: Harness, filename: str, data: bytes, **options: object) -> str:
    hosted = harness.double.attachment(filename, data)
    record = await harness.invoke("serial library add", {"file": hosted, **options}, admin=True)
    text = await record.text(timeout=15)
    assert record.ephemeral
    assert all(len(m.content) <= MESSAGE_CONTENT_MAX for m in record.messages)
    return text


async def test_an_uploaded_story_is_offered_subscribed_and_posted(harness: Harness) -> None:
    text = await add(harness, "tide-clock.txt", story_file())
    entry = harness.bot.catalog.upload(harness.double.guild_id, "tide-clock")
    assert entry is not None
    assert "Added" in text and "The Tide Clock" in text
    assert f"{len(entry.serial.parts)} parts" in text
    choices = await harness.double.autocomplete(
        "serial subscribe", {"story": "tide"}, user_id=harness.double.admin_id
    )
    assert [c["value"] for c in choices] == ["tide-clock"]
    assert "this server" in choices[0]["name"]
    shared = await harness.double.autocomplete(
        "serial subscribe", {"story": "light"}, user_id=harness.double.admin_id
    )
    assert "shared" in shared[0]["name"]
    await harness.subscribe("tide-clock")
    await harness.until_first_post()
    posted = "\n".join(m.content for m in harness.bot_messages(harness.general))
    assert "Evening 1 at the harbour" in posted


async def test_stories_lists_own_uploads_marked_beside_the_shared_ones(harness: Harness) -> None:
    await add(harness, "tide-clock.txt", story_file())
    record = await harness.invoke("serial stories")
    text = await record.text()
    assert "The Tide Clock" in text and "The Lighthouse" in text
    assert "`tide-clock` · this server" in text
    assert f"Added by <@{harness.double.admin_id}>" in text and "from `tide-clock.txt`" in text
    assert "`lighthouse` · shared" in text


async def test_another_server_never_sees_an_upload(harness: Harness) -> None:
    double = harness.double
    await add(harness, "tide-clock.txt", story_file())
    other = await double.add_guild("Elsewhere", channels=("general",))
    role = await double.add_role("Mods", Permission.manage_channels, guild_id=other)
    mod = await double.add_member("mod", guild_id=other, roles=[role])
    channel = next(c.id for c in double.world.channels.values() if c.guild_id == other)
    choices = await double.autocomplete(
        "serial subscribe", {"story": ""}, user_id=mod, channel_id=channel
    )
    assert [c["value"] for c in choices] == ["lighthouse"]
    stories = await double.invoke("serial stories", channel_id=channel, user_id=mod)
    assert "Tide Clock" not in await stories.text()
    for typed in ("tide-clock", f"{double.guild_id}:tide-clock"):
        record = await double.invoke(
            "serial subscribe", {"story": typed}, channel_id=channel, user_id=mod
        )
        assert "There is no story" in await record.text()
    preview = await double.invoke(
        "serial library preview", {"story": "tide-clock"}, channel_id=channel, user_id=mod
    )
    assert "no story" in await preview.text()
    assert await harness.bot.store.guild_subscriptions(other) == []
    # Its parts cannot be read there either: that server's channel follows nothing.
    await harness.subscribe("tide-clock")
    await harness.until_first_post()
    read = await double.invoke("serial read", {"part": 1}, channel_id=channel, user_id=mod)
    text = await read.text()
    assert "Evening 1 at the harbour" not in text and "Tide Clock" not in text


async def test_readers_are_refused_every_library_command(harness: Harness) -> None:
    await add(harness, "tide-clock.txt", story_file())
    options = {
        "add": {"file": harness.double.attachment("x.txt", story_file("Other"))},
        "preview": {"story": "tide-clock"},
        "edit": {"story": "tide-clock", "rating": "general"},
        "replace": {
            "story": "tide-clock",
            "file": harness.double.attachment("y.txt", story_file()),
        },
        "remove": {"story": "tide-clock"},
    }
    for name in LIBRARY_COMMANDS:
        record = await harness.invoke(f"serial library {name}", options[name])
        text = await record.text()
        assert "Manage Channels" in text, name
        assert record.ephemeral
    for hosted in (options["add"]["file"], options["replace"]["file"]):
        assert hosted.requests == 0  # type: ignore[attr-defined]
    assert harness.bot.catalog.upload(harness.double.guild_id, "tide-clock") is not None
    choices = await harness.double.autocomplete("serial library remove", {"story": ""})
    assert choices == []


def long_story(title: str = "The Long Watch", paragraphs: int = 40) -> bytes:
    body = [
        f"Watch {i} on the long wall passed in silence, and the guard wrote down every "
        f"lantern he saw moving on the plain below, {i * 3} in all before the dawn came."
        for i in range(1, paragraphs + 1)
    ]
    front = f"---\ntitle: {title}\nrating: general\nwords_per_part: 60\n---\n\n"
    return (front + "\n\n".join(body) + "\n").encode()


def _custom_ids(message: Any) -> list[str]:
    return [c["custom_id"] for row in message.components for c in row["components"]]


async def test_preview_pages_through_every_part_with_buttons(harness: Harness) -> None:
    double = harness.double
    await add(harness, "long-watch.txt", long_story())
    entry = harness.bot.catalog.upload(double.guild_id, "long-watch")
    assert entry is not None and len(entry.serial.parts) > 8
    record = await harness.invoke("serial library preview", {"story": "long-watch"}, admin=True)
    first = await record.followup(timeout=15)
    assert first.ephemeral and "page 1 of" in first.content and "**Part 1**" in first.content
    assert "▸ Watch 1 on the long wall" in first.content
    ids = _custom_ids(first)
    assert len(ids) == 2 and all(len(i) <= CUSTOM_ID_MAX for i in ids)
    pressed = await double.click(first.id, ids[1], user_id=double.admin_id)
    assert await pressed.response() == CallbackType.update_message
    shown = double.message(first.id)
    assert "page 2 of" in shown.content and "**Part 9**" in shown.content
    assert len(shown.content) <= MESSAGE_CONTENT_MAX
    # A reader pressing a copied id is refused and changes nothing.
    forged = await double.click(first.id, ids[1], user_id=double.reader_id, forged=True)
    assert "Manage Channels" in await forged.text()
    assert "page 2 of" in double.message(first.id).content
    # Another part length cuts it anew, paged the same way.
    longer = await harness.invoke(
        "serial library preview", {"story": "long-watch", "words_per_part": 400}, admin=True
    )
    text = (await longer.followup(timeout=15)).content
    assert "page 1 of 1" in text


async def test_replace_moves_two_following_channels_by_text_position(harness: Harness) -> None:
    double = harness.double
    await add(harness, "long-watch.txt", long_story())
    second = await double.add_channel("second")
    await harness.subscribe("long-watch")
    await harness.subscribe("long-watch", channel_id=second)
    await harness.until_first_post()
    await harness.advance(timedelta(days=1))
    key = f"{double.guild_id}:long-watch"
    before = {c: await harness.bot.store.subscription(c) for c in (harness.general, second)}
    assert all(s is not None and s.next_part == 3 and s.slug == key for s in before.values())
    # The new version adds a preface at the start: every place moves on in the text.
    preface = (
        "A preface written later explains where the wall stood and who kept it, "
        "over several sentences that change nothing in the watches that follow it here."
    )
    new = long_story().replace(b"---\n\nWatch 1 ", f"---\n\n{preface}\n\nWatch 1 ".encode())
    record = await harness.invoke(
        "serial library replace",
        {"story": "long-watch", "file": double.attachment("long-watch-2.txt", new)},
        admin=True,
    )
    text = await record.text(timeout=15)
    assert "Replaced" in text and f"<#{harness.general}>" in text and f"<#{second}>" in text
    entry = harness.bot.catalog.upload(double.guild_id, "long-watch")
    assert entry is not None
    for channel in (harness.general, second):
        sub = await harness.bot.store.subscription(channel)
        assert sub is not None and sub.revision == entry.serial.story.revision
        told = [m.content for m in harness.bot_messages(channel) if "was edited" in m.content]
        assert told, channel
        received = "\n".join(m.content for m in harness.bot_messages(channel))
        await harness.advance(timedelta(days=1))
        latest = "\n".join(m.content for m in harness.bot_messages(channel))[len(received) :]
        # The next part continues after the last watch received: nothing repeated, no preface.
        assert "preface" not in latest
        last_seen = max(int(w) for w in re.findall(r"Watch (\d+) on", received))
        assert f"Watch {last_seen + 1} on" in latest
        assert f"Watch {last_seen} on" not in latest


async def test_remove_is_refused_while_a_channel_follows_naming_it(harness: Harness) -> None:
    await add(harness, "tide-clock.txt", story_file())
    await harness.subscribe("tide-clock")
    record = await harness.invoke("serial library remove", {"story": "tide-clock"}, admin=True)
    text = await record.text(timeout=15)
    assert "cannot be removed" in text and f"<#{harness.general}>" in text
    assert harness.bot.catalog.upload(harness.double.guild_id, "tide-clock") is not None
    await (await harness.invoke("serial unsubscribe", admin=True)).reply()
    record = await harness.invoke("serial library remove", {"story": "tide-clock"}, admin=True)
    assert "Removed" in await record.text(timeout=15)
    assert harness.bot.catalog.upload(harness.double.guild_id, "tide-clock") is None
    assert await harness.bot.store.uploads().listed(harness.double.guild_id) == []
    shared = await harness.invoke("serial library remove", {"story": "lighthouse"}, admin=True)
    assert "only its operator" in await shared.text(timeout=15)


async def test_a_restart_keeps_every_upload_and_its_channels(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="Lighthouse")
    async with running_bot(discord_double, tmp_path) as harness:
        await add(harness, "tide-clock.txt", story_file())
        await add(harness, "long-watch.txt", long_story())
        await harness.subscribe("tide-clock")
        await harness.until_first_post()
    async with running_bot(discord_double, tmp_path, start=START + timedelta(days=1)) as again:
        guild = discord_double.guild_id
        assert [e.slug for e in again.bot.catalog.uploads(guild)] == ["long-watch", "tide-clock"]
        await again.advance(timedelta(hours=6, minutes=1))
        posted = "\n".join(m.content for m in again.bot_messages(again.general))
        assert "Evening 4 at the harbour" in posted or "Part 2" in posted
        status = await again.invoke("serial status")
        assert "The Tide Clock" in await status.text()


async def test_edit_changes_what_readers_see_and_recuts_following_channels(
    harness: Harness,
) -> None:
    double = harness.double
    await add(harness, "long-watch.txt", long_story())
    await harness.subscribe("long-watch")
    await harness.until_first_post()
    before = await harness.bot.store.subscription(harness.general)
    assert before is not None and before.next_part == 2
    record = await harness.invoke(
        "serial library edit",
        {
            "story": "long-watch",
            "title": "The Longer Watch",
            "content_notes": "darkness, cold",
            "words_per_part": 120,
        },
        admin=True,
    )
    text = await record.text(timeout=15)
    assert "Changed" in text and "The Longer Watch" in text and "darkness, cold" in text
    entry = harness.bot.catalog.upload(double.guild_id, "long-watch")
    assert entry is not None and entry.serial.story.meta.words_per_part == 120
    stored = await harness.bot.store.uploads().get(double.guild_id, "long-watch")
    assert stored is not None and stored.title == "The Longer Watch"
    after = await harness.bot.store.subscription(harness.general)
    assert after is not None and after.part_count == len(entry.serial.parts)
    told = [m.content for m in harness.bot_messages(harness.general) if "was edited" in m.content]
    assert told
    nothing = await harness.invoke("serial library edit", {"story": "long-watch"}, admin=True)
    assert "Say what to change" in await nothing.text(timeout=15)


async def _rating_after(harness: Harness, command: str, options: dict[str, Any]) -> str:
    record = await harness.invoke(f"serial library {command}", options, admin=True)
    text = await record.text(timeout=15)
    assert "Added" in text or "Replaced" in text or "Changed" in text, text
    entry = harness.bot.catalog.upload(harness.double.guild_id, "tide-clock")
    assert entry is not None and entry.rated
    stored = await harness.bot.store.uploads().get(harness.double.guild_id, "tide-clock")
    assert stored is not None and stored.meta["rating"] == entry.serial.story.meta.rating.value
    return str(stored.meta["rating"])


async def test_a_new_version_states_its_own_rating_but_an_admins_rating_stays(
    harness: Harness,
) -> None:
    double = harness.double

    def version(rating: str | None) -> dict[str, Any]:
        return {
            "story": "tide-clock",
            "file": double.attachment("t.txt", story_file(rating=rating)),
        }

    first = {"file": double.attachment("tide-clock.txt", story_file(rating="mature"))}
    assert await _rating_after(harness, "add", first) == "mature"
    assert await _rating_after(harness, "replace", version("teen")) == "teen"
    assert await _rating_after(harness, "replace", version(None)) == "teen"
    edit = {"story": "tide-clock", "rating": "general"}
    assert await _rating_after(harness, "edit", edit) == "general"
    assert await _rating_after(harness, "replace", version("explicit")) == "general"


async def test_preview_shows_the_lines_as_they_will_be_posted(harness: Harness) -> None:
    """Italics and bold from the file are markdown, the text's own asterisks escaped, every
    marker balanced (a long emphasised line is cut inside its run and closed), within one
    message; the same renderer as posting, so nothing in it pings anyone."""
    sentence = "The fog lay thick on Baker Street and nothing moved in it at all."
    work = Work(
        notes="",
        end_notes="",
        chapters=[
            (
                "One",
                [
                    "She said it ⸢twice⸣, and ⸤@everyone⸥ heard *that*.",
                    "The middle of it, plain.",
                    f"⸢{' '.join([sentence] * 6)}⸣",
                ],
            ),
            ("Two", [f"⸤{' '.join([sentence] * 6)}⸥", "⸢⸤The end.⸥⸣"]),
        ],
    )
    text = await add(
        harness, "fog.html", work.html_download().encode(), slug="fog", words_per_part=120
    )
    assert "Added" in text
    entry = harness.bot.catalog.upload(harness.double.guild_id, "fog")
    assert entry is not None and len(entry.serial.parts) == 2  # at the chapter
    record = await harness.invoke("serial library preview", {"story": "fog"}, admin=True)
    shown = await record.followup(timeout=15)
    content = shown.content
    assert shown.ephemeral and len(content) <= MESSAGE_CONTENT_MAX
    assert "▸ She said it *twice*, and **@everyone** heard \\*that\\*." in content
    assert "◂ ***The end.***" in content
    # Cut inside its run, closed before the ellipsis.
    assert re.search(r"◂ \*The fog lay thick[^*\n]*\*…", content), content
    assert re.search(r"▸ \*\*The fog lay thick[^*\n]*\*\*…", content), content
    read_emphasis(content)  # every marker balanced
    assert not shown.mention_everyone and not shown.would_ping
    # What the part posts starts with the same line.
    rendered = render_part(entry.serial, entry.serial.parts[0])
    assert rendered.messages[0].startswith("She said it *twice*, and **@everyone** heard")
