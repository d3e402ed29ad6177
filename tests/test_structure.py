"""Structure found in plain text: headings of every kind, title lines that are metadata, kept
line breaks decided per block, and lead-ins as weak places to end a part."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.library import make_serial, story_from_text
from bot.splitter import arrangement_cost
from bot.story import Break, Story
from bot.structure import Structure

PROSE = (
    "The rain fell on the roofs of the town and nobody went out that night, for the\n"
    "wind was cold and the streets were dark and long, and the lamps had all gone\n"
    "out before the clock struck nine in the tower over the empty market square.\n"
)


def chapters(text: str) -> list[str]:
    found = Structure(text, markdown=False, title=None)
    return [text[p.start : p.end] for p in found.paragraphs if p.break_before == Break.CHAPTER]


@pytest.mark.parametrize(
    "heading", ["Letter 2", "STAVE I", "II.", "XIV", "BOOK ONE", "Canto III", "Capítulo primero."]
)
def test_chapter_like_headings(heading: str):
    assert chapters(f"Title\n\n{PROSE}\n{heading}\n\n{PROSE}") == [heading]


def test_markdown_title_and_author_lines_are_metadata_not_headings():
    text = "# Title: The Road\n\n## Author: Ann Other\n\n# Chapter 1\n\nIt began.\n"
    story = story_from_text(text, path=Path("road.md"))
    assert (story.title, story.meta.author) == ("The Road", "Ann Other")
    assert [story.paragraph_text(p) for p in story.paragraphs] == ["# Chapter 1", "It began."]


def test_an_illustration_first_is_not_the_title():
    story = story_from_text("[Illustration]\n\nThe Road\n\nIt began here.\n")
    assert story.title == "The Road"


def test_the_stories_of_a_collection_are_found_through_its_contents():
    text = (
        "Tales\n\nContents\n\nTHE FIRST TALE\nTHE SECOND TALE\n\n\nTHE FIRST TALE\n\n"
        f"{PROSE}\nTHE SECOND TALE\n\n{PROSE}"
    )
    found = Structure(text, markdown=False, title=None)
    assert [a.kind for a in found.asides] == ["title page", "contents"]
    assert chapters(text) == ["THE FIRST TALE", "THE SECOND TALE"]


def test_a_dated_entry_and_a_letter_line_start_sections():
    text = (
        f"Journal\n\n{PROSE}\n_3 May. Bistritz._--Left Munich at 8:35 P. M.\n\n{PROSE}\n"
        f"_Letter, Mina Murray to Lucy Westenra._\n\n{PROSE}"
    )
    found = Structure(text, markdown=False, title=None)
    scenes = [
        text[p.start : p.start + 10] for p in found.paragraphs if p.break_before == Break.SCENE
    ]
    assert scenes == ["_3 May. Bi", "_Letter, M"]


def test_verse_in_wrapped_prose_keeps_its_lines_and_prose_does_not():
    verse = (
        "How doth the little crocodile\nImprove his shining tail,\n"
        "And pour the waters of the Nile\nOn every golden scale!\n"
    )
    text = f"Alice\n\n{PROSE}\n{verse}\n{PROSE}"
    found = Structure(text, markdown=False, title=None)
    kept = [text[p.start : p.end] for p in found.paragraphs if p.lines]
    assert kept == [verse.rstrip("\n")]
    story = story_from_text(text)
    pieces = make_serial(story, 1200).parts[0].paragraphs
    assert verse.rstrip("\n") in pieces
    assert PROSE.replace("\n", " ").strip() in pieces


RAGGED_PROSE = (
    "The rain fell on the roofs of the town and nobody\n"
    "went out that night, for the wind was cold and the streets were dark and\n"
    "long, and the lamps had all\n"
    "gone out before the clock struck nine in the tower over the empty market.\n"
)


def test_evenly_indented_verse_keeps_its_lines_where_prose_lines_end_early_too():
    verse = (
        "  Let those who are in favour with their stars\n"
        "  Of public honour and proud titles boast,\n"
        "  Whilst I, whom fortune of such triumph bars\n"
        "  Unlook'd for joy in that I honour most.\n"
    )
    # Hand-wrapped prose whose every line starts with a capital is not verse.
    capitals = (
        "The rain fell on the roofs\nOf the town and nobody went out\n"
        "That night, for the wind\nWas cold and the streets dark\n"
    )
    text = f"Sonnets\n\n{RAGGED_PROSE}\n{verse}\n{RAGGED_PROSE}\n{capitals}\n{RAGGED_PROSE}"
    found = Structure(text, markdown=False, title=None)
    assert found._ragged and found.soft_wraps
    kept = [text[p.start : p.end] for p in found.paragraphs if p.lines]
    assert kept == [verse.strip()]
    pieces = make_serial(story_from_text(text), 1200).parts[0].paragraphs
    assert RAGGED_PROSE.replace("\n", " ").strip() in pieces
    assert capitals.replace("\n", " ").strip() in pieces


def test_a_lead_in_is_a_weak_place_to_end_a_part():
    lead = "So she put me up a snack, and says:"
    text = f"Story\n\n{PROSE}\n{lead}\n\n“Take this.”\n\n{PROSE}\n{PROSE}"
    story: Story = story_from_text(text)
    paragraphs = story.paragraphs
    at_lead_in = next(i for i, p in enumerate(paragraphs) if story.paragraph_text(p) == lead)
    assert paragraphs[at_lead_in].lead_in
    after_lead_in = arrangement_cost(story, [at_lead_in + 1], 60, 0.9)
    before_lead_in = arrangement_cost(story, [at_lead_in], 60, 0.9)
    assert after_lead_in > before_lead_in
