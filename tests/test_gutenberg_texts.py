"""Golden tests on real Project Gutenberg files, kept byte-exact in ``shared/texts`` beside the
repository (see its README): every era of the header and footer, the structure a reader expects,
verse that keeps its lines, and the title and author.

The folder is looked for at ``../shared/texts`` from the repository (where CI puts it) and one
level further up (a worktree inside a folder of worktrees). Under ``CI=true`` a missing folder
fails the tests; elsewhere they are skipped.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from functools import cache

import pytest

from bot import preview
from bot.library import load_story, make_serial
from bot.render import render_part
from bot.story import Break, Serial, Story
from tests.shared_texts import CANDIDATES
from tests.shared_texts import TEXTS as FOUND_TEXTS

TEXTS = FOUND_TEXTS or CANDIDATES[0]

if not TEXTS.is_dir():
    if os.environ.get("CI", "").lower() == "true":
        raise RuntimeError(f"the Project Gutenberg test texts are missing: expected {TEXTS}")
    pytest.skip(f"no Project Gutenberg texts at {TEXTS}", allow_module_level=True)

# Words that only the licence, the header or the footer use.
LICENCE = re.compile(
    r"gutenberg|small print|etext|this ebook|license included|donations|trademark|"
    r"www\.|http|GROSSET|There’s More to Follow|Produced by",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Expected:
    sha256: str
    title: str
    author: str
    language: str | None
    source: str
    opens: str  # the first words a reader is posted
    closes: str  # the last words of the story
    chapters: int  # chapter-level headings (stories of a collection, staves, books and chapters)
    first_chapters: tuple[str, ...]
    kept_lines: int  # paragraphs whose line breaks are kept (verse, a signature)
    asides: tuple[str, ...]


EXPECTED = {
    "christmas-carol_pg46.txt": Expected(
        "820a8aa531461c62738055688fd02d2e1a290924e585bd38ad9e18c80b54e7da",
        "A Christmas Carol",
        "Charles Dickens",
        "English",
        "UTF-8",
        "PREFACE",
        "God bless Us, Every One!",
        6,
        ("PREFACE", "STAVE I:  MARLEY'S GHOST", "STAVE II:  THE FIRST OF THE THREE SPIRITS"),
        1,
        ("title page", "contents"),
    ),
    "don-quijote_pg2000_es.txt": Expected(
        "485be638d952a55acbb944c964d0429418ca2da711df7bc48a36c612129ead9b",
        "Don Quijote",
        "Miguel de Cervantes Saavedra",
        "Spanish",
        "UTF-8",
        "TASA",
        "sin duda alguna. Vale.\n\nFin",
        142,
        ("TASA", "TESTIMONIO DE LAS ERRATAS", "EL REY"),
        15,
        ("title page", "contents"),
    ),
    "dracula_pg345.txt": Expected(
        "8e1e540114c1e5a3c78fea973ab67ec5afe921f07a8e3edac560926ef39ac6c3",
        "Dracula",
        "Bram Stoker",
        "English",
        "UTF-8",
        "How these papers have been placed in sequence",
        "JONATHAN HARKER.\n\nTHE END",
        27,
        ("CHAPTER I", "CHAPTER II", "CHAPTER III"),
        4,
        ("title page", "contents", "half title", "back matter"),
    ),
    "dubliners_2814-0.txt": Expected(
        "5d85658e92cee01590bf72905717947939fdae74650a5962db861d24f643cd58",
        "Dubliners",
        "James Joyce",
        "English",
        "UTF-8",
        "THE SISTERS",
        "upon all the living and the dead.",
        15,
        ("THE SISTERS", "AN ENCOUNTER", "ARABY", "EVELINE", "AFTER THE RACE", "TWO GALLANTS"),
        0,
        ("title page", "contents"),
    ),
    "jekyll-hyde_43-0_cp1252.txt": Expected(
        "07e1a97afaa8e5fb87a0412d67e39b2eedf94ad5d12fe59b640e5bcd5ab62ff4",
        "The Strange Case Of Dr. Jekyll And Mr. Hyde",
        "Robert Louis Stevenson",
        "English",
        "Windows-1252",
        "STORY OF THE DOOR",
        "I bring the life of that unhappy Henry Jekyll to an end.",
        10,
        ("STORY OF THE DOOR", "SEARCH FOR MR. HYDE", "DR. JEKYLL WAS QUITE AT EASE"),
        0,
        ("title page", "contents"),
    ),
    "shakespeare-sonnets_wssnt10_smallprint.txt": Expected(
        "c3bfdd7db2fd2f621bc9728a86a9229829a9b83cb11bdbb41349014f41169753",
        "Shakespeare's Sonnets",
        "William Shakespeare",
        None,
        "UTF-8",
        "I",
        "Love's fire heats water, water cools not love.",
        154,
        ("I", "II", "III", "IV"),
        154,
        ("title page",),
    ),
    "the-raven_pg1065.txt": Expected(
        "0d19974e3d684adfee838810c711676a4622864cb51c903876cffb7ad8929ad2",
        "The Raven",
        "Edgar Allan Poe",
        "English",
        "UTF-8",
        "Once upon a midnight dreary, while I pondered, weak and weary,\n",
        "Shall be lifted—nevermore!",
        0,
        (),
        18,
        ("title page",),
    ),
    "war-of-the-worlds_36-0_crlf.txt": Expected(
        "155bec6071f58c7d27fb1794e16f561b381cdf71545d52cdd2344ed98e79e76d",
        "The War of the Worlds",
        "H. G. Wells",
        "English",
        "UTF-8",
        "‘But who shall dwell in these worlds if they be inhabited?",
        "she has counted me, among the dead.",
        29,
        ("BOOK ONE", "I.", "II."),
        0,
        ("title page", "contents"),
    ),
}


@cache
def story(name: str) -> Story:
    return load_story(TEXTS / name)


@cache
def serial(name: str) -> Serial:
    return make_serial(story(name), 1200)


def posted(serial: Serial) -> str:
    return "\n\n".join(piece for part in serial.parts for piece in part.paragraphs)


NAMES = sorted(EXPECTED)


def test_every_file_in_the_folder_has_expectations():
    assert sorted(p.name for p in TEXTS.glob("*.txt")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_the_file_is_byte_exact(name: str):
    assert hashlib.sha256((TEXTS / name).read_bytes()).hexdigest() == EXPECTED[name].sha256


@pytest.mark.parametrize("name", NAMES)
def test_title_author_language_and_encoding_come_from_the_header(name: str):
    expected, found = EXPECTED[name], story(name)
    assert (found.title, found.meta.author, found.meta.language, found.source) == (
        expected.title,
        expected.author,
        expected.language,
        expected.source,
    )


@pytest.mark.parametrize("name", NAMES)
def test_no_licence_or_header_words_are_posted(name: str):
    text = posted(serial(name))
    assert LICENCE.search(text) is None, LICENCE.search(text)


@pytest.mark.parametrize("name", NAMES)
def test_the_story_opens_and_closes_where_the_author_does(name: str):
    expected, found = EXPECTED[name], story(name)
    first = found.paragraph_text(found.paragraphs[0])
    assert first.startswith(expected.opens)
    assert posted(serial(name)).endswith(expected.closes)


@pytest.mark.parametrize("name", NAMES)
def test_no_story_words_are_lost_and_parts_tile_the_text(name: str):
    found, cut = story(name), serial(name)
    assert "".join(found.text[p.start : p.end] for p in cut.parts) == found.text
    paragraph_words = [w for p in found.paragraphs for w in found.paragraph_text(p).split()]
    posted_words = [
        w
        for part in cut.parts
        for piece in part.paragraphs
        for w in piece.split()
        if any(ch.isalnum() for ch in piece)  # scene markers are not the author's words
    ]
    assert posted_words == paragraph_words
    # Everything between the paragraphs is an aside, a marker, an illustration or the title.
    covered = sum(p.end - p.start for p in found.paragraphs) + sum(
        a.end - a.start for a in found.asides
    )
    assert covered <= len(found.text)


@pytest.mark.parametrize("name", NAMES)
def test_the_structure_is_found(name: str):
    expected, found = EXPECTED[name], story(name)
    chapters = [
        found.paragraph_text(p)
        for p in found.paragraphs
        if p.heading and p.break_before == Break.CHAPTER
    ]
    assert len(chapters) == expected.chapters
    assert tuple(chapters[: len(expected.first_chapters)]) == expected.first_chapters
    assert tuple(a.kind for a in found.asides) == expected.asides


@pytest.mark.parametrize("name", NAMES)
def test_verse_and_signatures_keep_their_lines(name: str):
    expected, found = EXPECTED[name], story(name)
    assert sum(p.lines for p in found.paragraphs) == expected.kept_lines


def test_a_raven_stanza_is_posted_line_by_line_with_its_refrain_indented():
    pieces = [piece for part in serial("the-raven_pg1065.txt").parts for piece in part.paragraphs]
    assert len(pieces) == 18
    first = pieces[0].split("\n")
    assert first[0] == "Once upon a midnight dreary, while I pondered, weak and weary,"
    assert first[-1] == "        Only this and nothing more.”"
    assert all(len(piece.split("\n")) == 6 for piece in pieces)


def test_a_sonnet_keeps_its_fourteen_lines_and_couplet_indent():
    found = story("shakespeare-sonnets_wssnt10_smallprint.txt")
    pieces = [piece for part in serial(found.path.name).parts for piece in part.paragraphs]
    first_sonnet = pieces[1].split("\n")
    assert len(first_sonnet) == 14
    assert first_sonnet[0] == "From fairest creatures we desire increase,"
    assert first_sonnet[-1].startswith("  ") and not first_sonnet[-3].startswith(" ")


def test_a_sonnet_set_in_evenly_keeps_its_lines_in_a_file_whose_prose_ends_lines_early():
    # Sonnet XXV alone has every line at the same indent, its couplet included, so only the
    # lines themselves (each opening with a capital, most ending a phrase) say it is verse.
    found = story("shakespeare-sonnets_wssnt10_smallprint.txt")
    (sonnet,) = [
        p for p in found.paragraphs if found.paragraph_text(p).startswith("Let those who are in")
    ]
    assert sonnet.lines
    pieces = [p for part in serial(found.path.name).parts for p in part.paragraphs]
    (posted_sonnet,) = [p for p in pieces if p.startswith("Let those who are in")]
    assert len(posted_sonnet.split("\n")) == 14


def test_a_letter_signature_keeps_its_lines():
    pieces = [p for part in serial("christmas-carol_pg46.txt").parts for p in part.paragraphs]
    assert "Their faithful Friend and Servant,\n" in "\n\n".join(pieces)


def test_part_headers_name_the_book_and_chapter_the_reader_is_in():
    cut = serial("war-of-the-worlds_36-0_crlf.txt")
    headings = [part.heading for part in cut.parts]
    assert "BOOK ONE · I. THE EVE OF THE WAR." in headings
    assert any(h and h.startswith("BOOK TWO · ") for h in headings)
    inside = next(p for p in cut.parts[1:] if p.heading == cut.parts[p.index - 2].heading)
    header = render_part(cut, inside).header
    assert f"Part {inside.index} of {len(cut.parts)} · {inside.heading}" in header


def test_the_stories_of_a_collection_are_its_chapters_named_by_its_contents():
    cut = serial("dubliners_2814-0.txt")
    assert {p.heading for p in cut.parts} >= {"THE SISTERS", "ARABY", "THE DEAD"}
    # The newspaper headline in "A Painful Case" names the story but is not a heading.
    found = story("dubliners_2814-0.txt")
    headline = "DEATH OF A LADY AT SYDNEY PARADE"
    assert not any(
        p.heading and found.paragraph_text(p).startswith(headline) for p in found.paragraphs
    )


def test_a_part_never_straddles_a_chapter_it_could_have_ended_at():
    cut = serial("dubliners_2814-0.txt")
    found = cut.story
    starts = {p.start for p in found.paragraphs if p.break_before == Break.CHAPTER}
    for part in cut.parts:
        inside = [s for s in starts if part.start < s < part.end]
        for start in inside:
            before = sum(p.words for p in found.paragraphs if part.start <= p.start < start)
            assert before < 780, (part.index, before)


def test_preview_shows_what_is_left_out_and_the_kept_lines():
    cut = serial("dracula_pg345.txt")
    shown = "\n".join(preview.render(cut.story, cut.parts, 1200))
    assert "Left out (contents, 28 lines, not posted):" in shown
    assert "  | CHAPTER I. Jonathan Harker’s Journal" in shown
    assert "Left out (back matter, " in shown
    assert "  | _There’s More to Follow!_" in shown
    raven = serial("the-raven_pg1065.txt")
    shown = "\n".join(preview.render(raven.story, raven.parts, 1200))
    assert "weak and weary,\nOver many a quaint" in shown


def test_the_contents_of_the_second_volume_are_left_out_too():
    found = story("don-quijote_pg2000_es.txt")
    shown = posted(serial("don-quijote_pg2000_es.txt"))
    contents = [found.text[a.start : a.end] for a in found.asides if a.kind == "contents"]
    assert len(contents) == 1
    # The second list repeats the first one's opening entries, then names Part Two's chapters.
    assert "Fee de erratas" in contents[0] and "Dedicatoria, al conde de Lemos" in contents[0]
    assert "De cómo don Quijote cayó malo, y del testamento que\nhizo, y su muerte" in contents[0]
    assert "Fee de erratas" not in shown and "Prólogo al lector" not in shown
    # Part Two's own front matter and chapters are posted, under their headings.
    assert "FEE DE ERRATAS" in shown and "DEDICATORIA, AL CONDE DE LEMOS" in shown
    assert "Capítulo LXXIV. De cómo don Quijote cayó malo" in shown


def test_the_four_parts_of_the_first_volume_and_the_second_volume_are_books():
    found = story("don-quijote_pg2000_es.txt")
    books = [found.paragraph_text(p) for p in found.paragraphs if p.major]
    assert [b.split(" del ")[0] for b in books] == [
        "Primera parte",
        "Segunda parte",
        "Tercera parte",
        "Cuarta parte",
        "Segunda parte",
    ]
    # A part's header names the book it is in.
    book = "parte del ingenioso hidalgo don Quijote de la Mancha · Capítulo"
    headings = [part.heading or "" for part in serial("don-quijote_pg2000_es.txt").parts]
    assert any(h.startswith(f"Tercera {book} XXVII.") for h in headings)
    assert any(h.startswith(f"Cuarta {book} XXVIII.") for h in headings)
