"""Italics and bold that HTML, EPUB and Archive of Our Own downloads mark are posted as Discord
markdown around the escaped story text: balanced in every message, closed and opened again where
a part or a message is cut, never empty, while plain text stays literal and the words, their
count and the parts' tiling of the text do not change."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.library import load_story, make_serial
from bot.render import emphasize_text, escape_text, read_text, render_part, split_text
from bot.story import Serial
from tests.discord_markdown import read_emphasis, styles
from tests.story_formats import Work, paragraph_html, without_emphasis, write_epub


def html_story(tmp_path: Path, body: str, name: str = "story.html") -> Path:
    path = tmp_path / name
    path.write_text(f"<html><body><h1>Title</h1>{body}</body></html>", encoding="utf-8")
    return path


def messages(serial: Serial) -> list[str]:
    return [m for part in serial.parts for m in render_part(serial, part).messages]


# What the loaders find ---------------------------------------------------------------------


def test_html_emphasis_becomes_markdown_around_escaped_text(tmp_path: Path):
    path = html_story(
        tmp_path,
        "<p>It began <em>badly</em>, and <strong>then *worse*</strong>.</p>"
        "<p><i>whole</i> <b>words</b> and <i>nested <b>bold</b></i>.</p>"
        '<p><span style="font-style: italic">styled</span> and <cite>Dracula</cite>.</p>'
        "<ul><li><em>eggs</em></li><li>milk</li></ul>",
    )
    story = load_story(path)
    assert messages(make_serial(story, 1200)) == [
        "It began *badly*, and **then \\*worse\\***.\n\n"
        "*whole* **words** and *nested* ***bold***.\n\n"
        "*styled* and *Dracula*.\n\n"
        "• *eggs*\n• milk"
    ]
    # The text itself is unchanged: the words, their count, and what the parts hold.
    assert story.text.count("*") == 2 and "badly" in story.text
    assert story.words == len(without_emphasis(story.text).split())


def test_emphasis_is_trimmed_kept_within_lines_and_never_empty(tmp_path: Path):
    path = html_story(
        tmp_path,
        "<p>A <em> spaced </em> word, <em></em>none, <em> </em>none.</p>"
        "<p>Roses <em>are red,<br/>violets</em> are blue.</p>"
        "<p>un<i>believ</i>able, <i>a</i><b>b</b> touching</p>",
    )
    (shown,) = messages(make_serial(load_story(path), 1200))
    assert shown == (
        "A *spaced* word, none, none.\n\n"
        "Roses *are red,*\n*violets* are blue.\n\n"
        "un*believ*able, ***ab*** touching"
    )


def test_emphasis_across_paragraphs_is_closed_and_opened_in_each(tmp_path: Path):
    path = html_story(tmp_path, "<i><p>One two.</p><p>Three.</p></i><p>Plain.</p>")
    (shown,) = messages(make_serial(load_story(path), 1200))
    assert shown == "*One two.*\n\n*Three.*\n\nPlain."


@pytest.mark.parametrize(
    ("text", "runs", "shown"),
    [
        ("see https://x.org/a_b now", [(4, 21, 1)], "see https://x.org/a_b now"),
        ("at https://x.org/ ok", [(0, 2, 1)], "*at* https://x.org/ ok"),
        ("# not a heading", [(0, 5, 2)], "**\\# not** a heading"),
        ("1. first", [(3, 8, 1)], "1\\. *first*"),
        ("a \\ b", [(0, 5, 1)], "*a \\\\ b*"),
        ("@everyone look", [(0, 9, 1)], "*@everyone* look"),
    ],
)
def test_markers_stand_outside_escapes_and_never_touch_a_link(text, runs, shown):
    assert emphasize_text(text, runs) == shown
    plain, _ = read_emphasis(shown)
    assert plain == text == read_text(shown)


def test_plain_text_stays_literal_and_has_no_emphasis(tmp_path: Path):
    path = tmp_path / "stars.txt"
    path.write_text("Stars\n\nShe said *never* and **never** again.\n", encoding="utf-8")
    story = load_story(path)
    assert story.emphasis == ()
    (shown,) = messages(make_serial(story, 1200))
    assert shown == "She said \\*never\\* and \\*\\*never\\*\\* again."


def test_an_italic_paragraph_cut_into_messages_and_parts_is_balanced_in_each(tmp_path: Path):
    sentence = "The sea rolled in under a grey sky and the gulls cried over the harbour wall."
    long = " ".join([sentence] * 120)  # about 9,000 characters, 1,800 words
    path = html_story(tmp_path, f"<p>Before.</p><p><em>{long}</em></p><p>After.</p>")
    story = load_story(path)
    serial = make_serial(story, 500)
    assert len(serial.parts) >= 3
    for part in serial.parts:
        for message in render_part(serial, part).messages:
            assert len(message) <= 2000
            plain, runs = read_emphasis(message)
            style_of = styles(plain, runs)
            position = 0
            # Every word of the long paragraph is in italics, in every message of every part.
            for word in plain.split():
                position = plain.index(word, position)
                italic = set(style_of[position : position + len(word)]) == {1}
                assert italic == (word not in ("Before.", "After.")), message
                position += len(word)
    posted = "".join(read_emphasis(m)[0] for m in messages(serial))
    assert posted.replace(" ", "").replace("\n", "") == ("Before." + long + "After.").replace(
        " ", ""
    )


# Properties --------------------------------------------------------------------------------

CHARS = st.sampled_from([*"abc xyz*_~|`#>-1.\\\n[]()@:", "  ", "é", "😀"])


@st.composite
def emphasised_text(draw: st.DrawFn) -> tuple[str, list[tuple[int, int, int]]]:
    """Text with runs as a loader makes them: ascending, apart, within a line, trimmed."""
    text = "".join(draw(st.lists(CHARS, min_size=1, max_size=300)))
    cuts = sorted(set(draw(st.lists(st.integers(0, len(text)), max_size=24))))
    runs: list[tuple[int, int, int]] = []
    for start, end in zip(cuts[::2], cuts[1::2], strict=False):
        style = draw(st.integers(1, 3))
        line_end = text.find("\n", start, end)
        end = end if line_end < 0 else line_end
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end and (not runs or runs[-1][1] < start):
            runs.append((start, end, style))
    return text, runs


@settings(max_examples=400, deadline=None)
@given(case=emphasised_text(), limit=st.integers(16, 120))
def test_split_text_keeps_every_run_balanced_in_every_message(case, limit: int):
    text, runs = case
    shown = split_text(text, limit=limit, emphasis=runs)
    expected = styles(text, runs)
    position = 0
    for message in shown:
        assert 0 < len(message) <= limit
        plain, found = read_emphasis(message)
        assert read_text(message) == plain
        while text[position] in " \t\n":
            position += 1
        assert text[position : position + len(plain)] == plain
        for index, style in enumerate(styles(plain, found)):
            if not plain[index].isspace():
                assert style == expected[position + index], (text, runs, shown)
        position += len(plain)
    assert not text[position:].strip(" \t\n")
    if not runs:
        assert shown == split_text(text, limit=limit)


@settings(max_examples=200, deadline=None)
@given(case=emphasised_text())
def test_a_message_s_measured_size_is_its_size(case):
    text, runs = case
    shown = emphasize_text(text, runs)
    assert read_text(shown) == text
    assert len(shown) == len(escape_text(text)) + sum(2 * style for _, _, style in runs) or any(
        "://" in text[a:b] for a, b, _ in runs
    )


WORD = st.text(alphabet="abcdefghjkmnpqrsuvwyz", min_size=1, max_size=9)
STYLED = st.tuples(WORD, st.sampled_from([0, 0, 0, 1, 2, 3]))
MARKS = {0: ("", ""), 1: ("⸢", "⸣"), 2: ("⸤", "⸥"), 3: ("⸢⸤", "⸥⸣")}


def marked(words: list[tuple[str, int]]) -> str:
    return " ".join(MARKS[s][0] + w + MARKS[s][1] for w, s in words)


PARAGRAPH = st.one_of(
    st.lists(STYLED, min_size=3, max_size=60).map(lambda ws: marked(ws) + " end."),
    st.lists(st.lists(STYLED, min_size=2, max_size=6).map(marked), min_size=2, max_size=5).map(
        "\n".join
    ),
)
CHAPTERS = st.lists(st.lists(PARAGRAPH, min_size=1, max_size=10), min_size=1, max_size=4)


def write(folder: Path, form: str, chapters: list[list[str]]) -> Path:
    titled = [(f"Part {n}", paragraphs) for n, paragraphs in enumerate(chapters, start=1)]
    path = folder / f"story.{form}"
    if form == "html":
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


def styled_words(paragraph: str) -> list[tuple[str, int]]:
    found = []
    for token in paragraph.split():
        style = (1 if "⸢" in token else 0) | (2 if "⸤" in token else 0)
        found.append((without_emphasis(token), style))
    return found


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chapters=CHAPTERS,
    form=st.sampled_from(["html", "epub", "ao3.html", "ao3.epub"]),
    words=st.integers(30, 300),
)
def test_every_format_posts_its_emphasis_word_for_word_and_its_text_unchanged(
    chapters: list[list[str]], form: str, words: int
):
    with tempfile.TemporaryDirectory() as folder:
        story = load_story(write(Path(folder), form, chapters), max_bytes=1 << 24)
    serial = make_serial(story, words)
    assert "".join(story.text[p.start : p.end] for p in serial.parts) == story.text
    expected = [w for paragraphs in chapters for p in paragraphs for w in styled_words(p)]
    assert sum(p.words for p in story.paragraphs if not p.heading) == len(expected) + (
        8 if form.startswith("ao3") else 0  # the work's notes and end notes
    )
    found: list[tuple[str, int]] = []
    for message in messages(serial):
        plain, runs = read_emphasis(message)
        style_of = styles(plain, runs)
        position = 0
        for word in plain.split():
            position = plain.index(word, position)
            word_styles = set(style_of[position : position + len(word)])
            assert len(word_styles) == 1, (message, word)
            found.append((word, word_styles.pop()))
            position += len(word)
    assert [f for f in found if f[1]] == [e for e in expected if e[1]]
    posted = [w for w, _ in found]
    body = [w for w, _ in expected]
    # The body's words in order, among headings and notes.
    iterator = iter(posted)
    assert all(word in iterator for word in body)
