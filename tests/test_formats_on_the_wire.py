"""An Archive of Our Own download in the library, seen through /serial stories on the wire."""

from __future__ import annotations

from pathlib import Path

from tests.discord_double import DiscordDouble
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
