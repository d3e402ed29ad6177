"""Properties over generated stories in every format: the parts tile the story's text, every
word of the body is posted once and in order, and verse blocks keep their lines (a verse block is
at most 42 words, so no part size here has to cut one)."""

from __future__ import annotations

import tempfile
import textwrap
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.library import load_story, make_serial
from bot.story import Break
from tests.story_formats import Work, paragraph_html, write_epub

WORD = st.text(alphabet="abcdefghjkmnpqrsuvwyz", min_size=1, max_size=9)
PROSE = st.lists(WORD, min_size=3, max_size=80).map(lambda ws: " ".join(ws).capitalize() + ".")
VERSE = st.lists(
    st.lists(WORD, min_size=2, max_size=7).map(lambda ws: " ".join(ws).capitalize() + ","),
    min_size=2,
    max_size=6,
).map(lambda lines: "\n".join(lines))
PARAGRAPH = st.one_of(PROSE, PROSE, PROSE, VERSE)
CHAPTERS = st.lists(st.lists(PARAGRAPH, min_size=1, max_size=12), min_size=1, max_size=5)
FORMATS = st.sampled_from(["txt", "html", "epub", "ao3.html", "ao3.epub"])


def write(folder: Path, form: str, chapters: list[list[str]]) -> Path:
    titled = [(f"Part {n}", paragraphs) for n, paragraphs in enumerate(chapters, start=1)]
    path = folder / f"story.{form}"
    if form == "txt":
        blocks = ["Generated Story"]
        for title, paragraphs in titled:
            blocks.append(f"Chapter {title.split()[1]}")
            for paragraph in paragraphs:
                if "\n" in paragraph:
                    lines = paragraph.split("\n")
                    # Verse as printed: indented, its last line set in further.
                    blocks.append(
                        "\n".join(["  " + line for line in lines[:-1]] + ["      " + lines[-1]])
                    )
                else:
                    blocks.append(textwrap.fill(paragraph, 70))
        path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    elif form == "html":
        body = "".join(
            f"<h2>{title}</h2>" + "".join(paragraph_html(p) for p in paragraphs)
            for title, paragraphs in titled
        )
        path.write_text(f"<html><body><h1>Generated</h1>{body}</body></html>", encoding="utf-8")
    elif form == "epub":
        pages = [
            (f"c{n}", title, "".join(paragraph_html(p) for p in paragraphs))
            for n, (title, paragraphs) in enumerate(titled)
        ]
        write_epub(path, title="Generated", author="A", pages=pages)
    elif form == "ao3.html":
        path.write_text(Work(chapters=titled).html_download(), encoding="utf-8")
    else:
        Work(chapters=titled).epub_download(path)
    return path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chapters=CHAPTERS, form=FORMATS, words=st.integers(60, 400))
def test_parts_join_back_to_the_body_and_verse_keeps_its_lines(
    chapters: list[list[str]], form: str, words: int
):
    with tempfile.TemporaryDirectory() as folder:
        story = load_story(write(Path(folder), form, chapters), max_bytes=1 << 24)
    serial = make_serial(story, words)
    assert "".join(story.text[p.start : p.end] for p in serial.parts) == story.text
    pieces = [piece for part in serial.parts for piece in part.paragraphs]
    body = [p for p in story.paragraphs if not p.heading]
    headings = {story.paragraph_text(p) for p in story.paragraphs if p.heading}
    posted_words = [
        w for piece in pieces if piece not in headings and piece != "* * *" for w in piece.split()
    ]
    expected = [w for paragraphs in chapters for p in paragraphs for w in p.split()]
    if form.startswith("ao3"):
        expected = ["From", "the", "Strand,", "1892.", *expected, "Thank", "you", "for", "reading."]
    assert posted_words == expected
    assert sum(p.words for p in body) == len(expected)
    for paragraphs in chapters:
        for paragraph in paragraphs:
            if "\n" in paragraph and form != "txt":
                assert paragraph in pieces
            elif "\n" in paragraph:
                lines = paragraph.split("\n")
                assert "\n".join([*lines[:-1], "    " + lines[-1]]) in pieces
    chapter_count = sum(1 for p in story.paragraphs if p.break_before == Break.CHAPTER)
    assert chapter_count == len(chapters)
