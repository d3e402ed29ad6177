"""Project Gutenberg headers and footers of every era, and text in other encodings, on small
files written here (the real files are in test_gutenberg_texts.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.library import StoryError, load_story

STORY = "It was a dark night.\n\nThe wind howled all through it.\n"
LICENCE_HEADER = (
    "The Project Gutenberg eBook of Danger Signals\n\n"
    "This ebook is for the use of anyone anywhere.\n\n"
    "Title: Danger Signals\n        The Story of a Railway\n\n"
    "Author: Ann Other\n\nLanguage: English\n\n"
)
FOOTER = "\nUpdated editions will replace the previous one.\n\nSTART: FULL LICENSE\n" * 40


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (
            "*** START OF THE PROJECT GUTENBERG EBOOK DANGER SIGNALS ***",
            "*** END OF THE PROJECT GUTENBERG EBOOK DANGER SIGNALS ***",
        ),
        (
            "*** START OF THIS PROJECT GUTENBERG EBOOK DANGER\nSIGNALS: THE STORY OF A\n"
            "RAILWAY ***",
            "End of the Project Gutenberg EBook of Danger Signals\n\n*** END OF THIS PROJECT ***",
        ),
        (
            "***START OF THE PROJECT GUTENBERG EBOOK DANGER SIGNALS***",
            "            *** END OF THE PROJECT GUTENBERG EBOOK DANGER SIGNALS ***",
        ),
    ],
    ids=["current", "wrapped-start", "no-spaces-and-indented-end"],
)
def test_header_and_footer_are_stripped_in_every_era(tmp_path: Path, start: str, end: str):
    raw = f"{LICENCE_HEADER}{start}\n\n\n\nProduced by A. Volunteer\n\n\n{STORY}\n\n{end}\n{FOOTER}"
    story = load_story(write(tmp_path, "danger.txt", raw.replace("\n", "\r\n")))
    assert story.text == STORY
    assert (story.title, story.meta.author, story.meta.language) == (
        "Danger Signals",
        "Ann Other",
        "English",
    )


def test_the_small_print_era_ends_at_the_banner_and_the_etext_line(tmp_path: Path):
    raw = (
        "*******The Project Gutenberg Etext of Old Verses******\n"
        "#7 in our series by Jane Poet\n\nCopyright laws are changing.\n\n"
        "***START**THE SMALL PRINT!**FOR PUBLIC DOMAIN ETEXTS**START***\nlawyers.\n"
        "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*\n\n\n"
        "*******The Project Gutenberg Etext of Old Verses******\n#7 in our series by Jane Poet\n\n"
        "This Etext was prepared by the Project Gutenberg Team.\n\n\n"
        f"{STORY}\n\nEnd of The Project Gutenberg Etext of Old Verses\n\n[more notes]\n"
    )
    story = load_story(write(tmp_path, "verses.txt", raw))
    assert story.text == STORY
    assert (story.title, story.meta.author) == ("Old Verses", "Jane Poet")


def test_front_matter_wins_over_the_gutenberg_header(tmp_path: Path):
    raw = (
        f"---\ntitle: My Danger\n---\n{LICENCE_HEADER}"
        "*** START OF THE PROJECT GUTENBERG EBOOK X ***\n"
        f"{STORY}*** END OF THE PROJECT GUTENBERG EBOOK X ***\n"
    )
    story = load_story(write(tmp_path, "x.txt", raw))
    assert (story.title, story.meta.author) == ("My Danger", "Ann Other")


def test_a_windows_1252_file_is_read_as_such(tmp_path: Path):
    text = "“Well,” she said — “it’s café time.”\n\nHe agreed, naïvely.\n" * 20
    story = load_story(write(tmp_path, "win.txt", text.encode("cp1252")))
    assert story.text == text
    assert story.source == "Windows-1252"
    assert any("Windows-1252" in w for w in story.warnings)


def test_a_latin_1_file_is_read(tmp_path: Path):
    text = "Él dijo: «¿Qué pasó con el niño?» y se marchó a la montaña.\n\nFin del día.\n" * 20
    story = load_story(write(tmp_path, "es.txt", text.encode("latin-1")))
    assert story.text == text


def test_bytes_that_no_encoding_explains_are_refused_naming_the_problem(tmp_path: Path):
    data = bytes(range(0x80, 0x100)) * 40 + b"\n"
    with pytest.raises(StoryError, match=r"not UTF-8 text \(byte 0x80 at offset 0\).*UTF-8"):
        load_story(write(tmp_path, "junk.txt", data))
