"""An Archive of Our Own download in the library on the wire: seen through /serial stories, and
its italics and bold posted as Discord markdown that pings no one."""

from __future__ import annotations

from pathlib import Path

from tests.discord_double import DiscordDouble
from tests.discord_double.limits import MESSAGE_CONTENT_MAX
from tests.discord_markdown import read_emphasis, styles
from tests.frontend_harness import running_bot, stories_folder
from tests.story_formats import Work


async def test_serial_stories_shows_the_fandom_relationships_and_characters(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    folder = stories_folder(tmp_path)
    work = Work(
        rating="Mature",
        warnings=["Graphic Depictions Of Violence"],
        chapters=[("One", ["It was a dark night, and the fog lay thick on Baker Street."])],
    )
    (folder / "beeches.html").write_text(work.html_download(), encoding="utf-8")
    async with running_bot(discord_double, tmp_path) as harness:
        record = await harness.invoke("serial stories")
        text = await record.text()
    assert "The Adventure of the Copper Beeches" in text
    assert "mature (age-restricted channels only)" in text
    assert "Content notes: Graphic Depictions Of Violence" in text
    assert "Fandom: Sherlock Holmes - Arthur Conan Doyle" in text
    assert "Relationship: Sherlock Holmes & John Watson" in text
    assert "Character: Sherlock Holmes, John Watson, Violet Hunter" in text


async def test_italics_and_bold_reach_discord_as_balanced_markdown_that_pings_no_one(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    folder = stories_folder(tmp_path)
    sentence = "The fog lay thick on Baker Street and nothing moved in it at all."
    long = " ".join([sentence] * 50)  # about 3,300 characters: more than one message
    work = Work(
        chapters=[
            (
                "One",
                [
                    "She said it ⸢twice⸣, and ⸤@everyone⸥ heard *that*.",
                    f"⸢{long}⸣",
                    "⸢⸤The end.⸥⸣",
                ],
            )
        ],
    )
    (folder / "fog.html").write_text(work.html_download(), encoding="utf-8")
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("fog")
        await harness.until_first_post()
        posted = [m for m in harness.bot_messages(harness.general) if not m.interaction]

    contents = [m.content for m in posted]
    assert "She said it *twice*, and **@everyone** heard \\*that\\*." in "\n".join(contents)
    assert any("***The end.***" in c for c in contents)
    cut = [c for c in contents if "Baker Street" in c]
    assert len(cut) >= 2  # the italic paragraph is split into messages, each balanced
    for content in cut:
        assert len(content) <= MESSAGE_CONTENT_MAX
        plain, runs = read_emphasis(content)
        italic = styles(plain, runs)
        start = 0
        for block in plain.split("\n\n"):
            if "Baker Street" in block:
                shown = {italic[start + i] for i, ch in enumerate(block) if not ch.isspace()}
                assert shown == {1}, content
            start += len(block) + 2
    for message in posted:
        read_emphasis(message.content)  # every message's markers are balanced
        assert not message.mention_everyone
        assert not message.would_ping
