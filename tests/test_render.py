from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import overload

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.defaults import stories_folder
from bot.render import (
    MESSAGE_LIMIT,
    MIN_RENDER_LIMIT,
    SCENE_BREAK,
    THREAD_NAME_LIMIT,
    escape_text,
    format_duration,
    render_end,
    render_part,
    split_text,
    status_bar,
    thread_name,
    unescape_text,
)
from bot.story import Break, Paragraph, Part, Rating, Serial, Story, StoryMeta

SEED = stories_folder() / "you-left.txt"
SPACE = " \t\n"

# Pieces that stress escaping and cutting: markdown at line starts and inline, mentions, links,
# invisible and right-to-left characters, combining marks, sentence punctuation.
TOKENS = [
    "*", "**", "_", "~~", "|", "||", "`", "```", "\\", "[", "](", ")", ">", ">>> ", "#", "## ",
    "-", "-# ", "+ ", "1. ", "12.", ".", "!", "?", "…", "”", "’", ")", "@everyone", "@here",
    "<@123456789012345678>", "<#1234>", "https://example.com/a_b*c", "http://x", "<https://x.y/_>",
    "steam://run/1", "\u200b", "\u200d", "\u200f", "\u202e", "\u2066", "e\u0301", "👍🏽", "👩‍👩‍👧",
    " ", " ", "  ", "\t", "\n", "\n\n", "\n \n", "word", "Derek", "she said.",
]  # fmt: skip
token = st.one_of(
    st.sampled_from(TOKENS),
    st.text(min_size=1, max_size=12),
    st.integers(min_value=1, max_value=2600).map(lambda n: "w" * n),
)
texts = st.one_of(st.lists(token, max_size=60).map("".join), st.text(max_size=400))
limits = st.one_of(st.integers(min_value=2, max_value=300), st.just(MESSAGE_LIMIT))


def assert_tiles(messages: tuple[str, ...], body: str) -> None:
    """Read in order and unescaped, the messages are consecutive stretches of ``body``, and only
    the white space they were cut at lies between them."""
    position = 0
    for number, message in enumerate(messages):
        while position < len(body) and body[position] in SPACE:
            position += 1
        shown = unescape_text(message)
        assert body.startswith(shown, position), f"message {number} does not continue the text"
        position += len(shown)
    assert body[position:].strip(SPACE) == "", "text after the last message is lost"


def make_serial(
    pieces: list[str],
    *,
    title: str = "A Story",
    scene_before: frozenset[int] = frozenset(),
    headings: frozenset[int] = frozenset(),
    parts: int = 1,
    meta: StoryMeta | None = None,
) -> Serial:
    """One story whose paragraphs are ``pieces`` separated by blank lines, in ``parts`` equal
    parts. Indexes in ``scene_before`` get a "***" marker line (and a scene break) before them;
    those in ``headings`` are chapter headings."""
    text = ""
    paragraphs: list[Paragraph] = []
    shown: list[list[str]] = [[] for _ in range(parts)]
    spans: list[tuple[int, int]] = []
    for index, piece in enumerate(pieces):
        if index in scene_before:
            text += "***\n\n"
        start = len(text)
        text += piece + "\n\n"
        if index in headings:
            kind = Break.CHAPTER
        elif index in scene_before:
            kind = Break.SCENE
        else:
            kind = Break.PARAGRAPH
        paragraphs.append(
            Paragraph(start, start + len(piece), len(piece.split()), kind, index in headings)
        )
        spans.append((start, start + len(piece)))
    per_part = max(1, -(-len(pieces) // parts))
    made: list[Part] = []
    for number in range(parts):
        chosen = range(number * per_part, min(len(pieces), (number + 1) * per_part))
        for index in chosen:
            if index in scene_before and index != chosen[0]:
                shown[number].append("***")
            shown[number].append(pieces[index])
        start = 0 if number == 0 else spans[chosen[0]][0]
        end = len(text) if number == parts - 1 else spans[chosen[-1] + 1][0]
        made.append(
            Part(
                index=number + 1,
                start=start,
                end=end,
                paragraphs=tuple(shown[number]),
                words=sum(len(pieces[i].split()) for i in chosen),
                ends_with=Break.END if number == parts - 1 else Break.PARAGRAPH,
            )
        )
    story = Story(
        slug="a-story",
        path=Path("a-story.txt"),
        meta=meta or StoryMeta(title=title),
        text=text,
        paragraphs=tuple(paragraphs),
        revision="0",
    )
    return Serial(story=story, parts=tuple(made))


# Splitting text into messages ----------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, limit=limits)
def test_split_messages_fit_are_never_empty_and_give_the_text_back(text: str, limit: int) -> None:
    messages = split_text(text, limit=limit)
    assert all(0 < len(m) <= limit for m in messages)
    assert all(m.strip(SPACE) == m for m in messages)
    assert_tiles(messages, text)


@settings(max_examples=300, deadline=None)
@given(text=texts)
def test_unescaping_gives_back_exactly_the_escaped_text(text: str) -> None:
    assert unescape_text(escape_text(text)) == text


def test_a_paragraph_end_is_preferred_to_a_sentence_end() -> None:
    first = "One sentence. " * 5 + "End of the first paragraph."
    second = "Second paragraph here. It goes on."
    messages = split_text(f"{first}\n\n{second}", limit=len(first) + 20)
    assert messages == (first, second)


def test_a_sentence_end_is_preferred_to_a_word_boundary() -> None:
    text = "Short one. Then a sentence that runs on and on without a stop"
    assert split_text(text, limit=40) == (
        "Short one.",
        "Then a sentence that runs on and on",
        "without a stop",
    )


def test_a_sentence_ends_after_its_closing_quote() -> None:
    text = '"Where are we going?" Derek asked, and I grinned at him for a while.'
    assert split_text(text, limit=30)[0] == '"Where are we going?"'


def test_a_word_longer_than_a_message_is_cut_hard() -> None:
    word = "a" * (MESSAGE_LIMIT + 1)
    assert split_text(word) == ("a" * MESSAGE_LIMIT, "a")


def test_escapes_count_against_the_limit_and_are_never_cut_in_two() -> None:
    messages = split_text("_" * 1500)
    assert [len(m) for m in messages] == [2000, 1000]
    assert all(m == "\\_" * (len(m) // 2) for m in messages)


def test_a_hard_cut_keeps_a_letter_with_its_combining_accent() -> None:
    messages = split_text("e\u0301" * 30, limit=11)
    assert all(m.startswith("e") and len(m) <= 11 for m in messages)


# Escaping ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("*bold* _it_ ~~gone~~", "\\*bold\\* \\_it\\_ \\~\\~gone\\~\\~"),
        ("||spoiler||", "\\|\\|spoiler\\|\\|"),
        ("```code```", "\\`\\`\\`code\\`\\`\\`"),
        ("# Heading", "\\# Heading"),
        ("> quote\n>>> more", "\\> quote\n\\>>> more"),
        ("- item\n  - nested\n+ plus", "\\- item\n  \\- nested\n\\+ plus"),
        ("-# small print", "\\-# small print"),
        ("1. first\n12. twelfth", "1\\. first\n12\\. twelfth"),
        ("[label](https://example.com)", "\\[label](https://example.com)"),
        ("a back\\slash", "a back\\\\slash"),
    ],
)
def test_markdown_is_escaped(text: str, escaped: str) -> None:
    assert escape_text(text) == escaped


@pytest.mark.parametrize(
    "text",
    [
        "It cost 3.50 - a bargain. 1.5 times more > less, a-b, 2 # 3",
        "See https://example.com/some_page*x and <https://example.com/a_b>.",
        "@everyone and @here and <@123456789012345678> stay exactly as written",
        "zero\u200bwidth, joiner\u200d, right-to-left \u202eטקסט\u202c and \u2067isolate\u2069",
    ],
)
def test_text_without_markdown_meaning_passes_through_unchanged(text: str) -> None:
    assert escape_text(text) == text


# Rendering parts -----------------------------------------------------------------------------

paragraphs = st.lists(texts.map(str.strip).filter(bool), min_size=1, max_size=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=paragraphs, limit=st.integers(min_value=MIN_RENDER_LIMIT, max_value=MESSAGE_LIMIT))
def test_rendered_parts_fit_and_read_as_the_paragraphs(pieces: list[str], limit: int) -> None:
    serial = make_serial(pieces)
    rendered = render_part(serial, serial.part(1), limit=limit)
    assert all(0 < len(m) <= limit for m in rendered.messages)
    assert len(rendered.header) <= limit
    assert_tiles(rendered.messages, "\n\n".join(pieces))


def test_short_paragraphs_share_a_message_separated_by_a_blank_line() -> None:
    serial = make_serial(["First.", "Second.", "Third."])
    assert render_part(serial, serial.part(1)).messages == ("First.\n\nSecond.\n\nThird.",)


def test_a_paragraph_that_does_not_fit_starts_the_next_message() -> None:
    long = "word " * 78  # 389 characters once stripped: fits alone, not with a neighbour
    serial = make_serial(["Opening line.", long.strip(), "Closing line."])
    messages = render_part(serial, serial.part(1), limit=MIN_RENDER_LIMIT).messages
    assert messages == ("Opening line.", long.strip(), "Closing line.")


def test_a_scene_break_inside_a_part_shows_as_an_ornament_line() -> None:
    serial = make_serial(["Before.", "After."], scene_before=frozenset({1}))
    assert serial.part(1).paragraphs == ("Before.", "***", "After.")
    messages = render_part(serial, serial.part(1)).messages
    assert messages == (f"Before.\n\n{SCENE_BREAK}\n\nAfter.",)
    assert SCENE_BREAK.strip() == "⁂"


class _ReadCounting(Sequence[Paragraph]):
    """A story's paragraphs that note which ones are read."""

    def __init__(self, paragraphs: tuple[Paragraph, ...]) -> None:
        self._paragraphs = paragraphs
        self.read: list[int] = []

    def __len__(self) -> int:
        return len(self._paragraphs)

    @overload
    def __getitem__(self, index: int) -> Paragraph: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Paragraph]: ...
    def __getitem__(self, index: int | slice) -> Paragraph | Sequence[Paragraph]:
        if isinstance(index, slice):
            raise AssertionError("the paragraphs are read one by one")
        self.read.append(index)
        return self._paragraphs[index]


def test_rendering_a_late_part_reads_only_its_own_paragraphs() -> None:
    count, parts = 2048, 64
    serial = make_serial(
        [f"Paragraph {n}." for n in range(count)],
        scene_before=frozenset(range(5, count, 7)),
        headings=frozenset(range(0, count, 100)),
        parts=parts,
    )
    counting = _ReadCounting(tuple(serial.story.paragraphs))
    watched = Serial(story=serial.story.replace(paragraphs=counting), parts=serial.parts)
    part = serial.part(parts - 3)
    first = serial.story.paragraph_index(part.start) - 1
    last = serial.story.paragraph_index(part.end - 1) - 1

    assert render_part(watched, part) == render_part(serial, part)
    # Finding the part's first paragraph is a binary search; the rest is the part itself.
    outside = [i for i in counting.read if not first - 1 <= i <= last + 1]
    assert len(outside) <= math.ceil(math.log2(count)) + 1
    assert len(counting.read) <= (last - first + 3) + math.ceil(math.log2(count)) + 1


def test_a_part_that_opens_a_chapter_has_the_heading_in_its_header() -> None:
    serial = make_serial(
        ["Chapter One", "It began.", "Chapter Two", "It went on."], headings=frozenset({0, 2})
    )
    rendered = render_part(serial, serial.part(1))
    assert rendered.header.splitlines()[-1] == "### Chapter One"
    assert rendered.messages == ("It began.\n\n### Chapter Two\n\nIt went on.",)


def test_the_header_gives_title_part_count_and_reading_time() -> None:
    serial = make_serial(["word " * 460, "more"], parts=2)
    header = render_part(serial, serial.part(1)).header
    assert header.splitlines()[:2] == ["**A Story**", "Part 1 of 2 · about 2 min read"]


def test_content_notes_and_rating_come_before_part_one_only() -> None:
    meta = StoryMeta(
        title="Dark *Tale*",
        author="Someone",
        rating=Rating.MATURE,
        content_notes=("grief", "violence"),
    )
    serial = make_serial(["One.", "Two."], parts=2, meta=meta)
    first = render_part(serial, serial.part(1)).header
    second = render_part(serial, serial.part(2)).header
    assert first.splitlines() == [
        "**Dark \\*Tale\\*** by Someone",
        "Part 1 of 2 · about 1 min read",
        "Rating: Mature · Content notes: grief, violence",
    ]
    assert "Content notes" not in second and "Rating" not in second
    assert "Someone" not in second


def test_general_stories_without_notes_show_no_notes_line() -> None:
    serial = make_serial(["One."], meta=StoryMeta(title="Plain"))
    assert len(render_part(serial, serial.part(1)).header.splitlines()) == 2


def test_a_header_with_huge_metadata_still_fits() -> None:
    meta = StoryMeta(
        title="T*" * 3000,
        author="A_" * 3000,
        rating=Rating.EXPLICIT,
        content_notes=tuple("note|" * 50 for _ in range(100)),
    )
    serial = make_serial(["# " * 2000, "x"], meta=meta, headings=frozenset({0}))
    for limit in (MIN_RENDER_LIMIT, MESSAGE_LIMIT):
        rendered = render_part(serial, serial.part(1), limit=limit)
        assert len(rendered.header) <= limit
        assert "…" in rendered.header


def test_a_limit_too_small_for_a_header_is_refused() -> None:
    serial = make_serial(["One."])
    with pytest.raises(ValueError, match="at least"):
        render_part(serial, serial.part(1), limit=MIN_RENDER_LIMIT - 1)


# Thread names --------------------------------------------------------------------------------


@given(title=st.text(max_size=300), index=st.integers(min_value=1, max_value=10**6))
def test_thread_names_always_fit_discord(title: str, index: int) -> None:
    name = thread_name(title, index)
    assert 0 < len(name) <= THREAD_NAME_LIMIT
    assert name.endswith(f"Part {index}")


def test_a_long_title_is_shortened_with_an_ellipsis() -> None:
    serial = make_serial(["One."], title="A very long title " * 10)
    name = render_part(serial, serial.part(1)).thread_name
    assert len(name) == THREAD_NAME_LIMIT or len(name) == THREAD_NAME_LIMIT - 1
    assert name.endswith("… · Part 1")


def test_a_short_title_is_kept_whole() -> None:
    assert thread_name("You Left", 3) == "You Left · Part 3"


# The end -------------------------------------------------------------------------------------


def test_the_end_names_the_story_its_size_and_summary() -> None:
    meta = StoryMeta(title="You Left", author="Someone", summary="A drive, and what is said.")
    serial = make_serial(["one two three", "four"], parts=2, meta=meta)
    assert render_end(serial) == (
        "**The End**\n*You Left* by Someone · 2 parts · 4 words\n\nA drive, and what is said."
    )


def test_the_end_fits_a_message_whatever_the_summary() -> None:
    meta = StoryMeta(title="T", summary="*" * 5000)
    serial = make_serial(["One."], meta=meta)
    text = render_end(serial)
    assert len(text) <= MESSAGE_LIMIT
    assert text.endswith("…")


# The bundled story ---------------------------------------------------------------------------


@pytest.mark.parametrize("words_per_part", [1200, 150])
def test_the_bundled_story_renders_within_discord_limits(words_per_part: int) -> None:
    library = pytest.importorskip("bot.library")
    serial = library.make_serial(library.load_story(SEED), words_per_part)
    for part in serial.parts:
        rendered = render_part(serial, part)
        assert len(rendered.header) <= MESSAGE_LIMIT
        assert all(0 < len(m) <= MESSAGE_LIMIT for m in rendered.messages)
        assert len(rendered.thread_name) <= THREAD_NAME_LIMIT
        shown = [SCENE_BREAK if set(p) <= set("*#~-=_ ") else p for p in part.paragraphs]
        assert_tiles(rendered.messages, "\n\n".join(shown))
    assert any(SCENE_BREAK in m for p in serial.parts for m in render_part(serial, p).messages)
    assert "Content notes" in render_part(serial, serial.part(1)).header
    assert len(render_end(serial)) <= MESSAGE_LIMIT


# Status and durations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("done", "total", "bar"),
    [
        (3, 10, "▰▰▰▱▱▱▱▱▱▱ 3/10"),
        (0, 7, "▱▱▱▱▱▱▱▱▱▱ 0/7"),
        (1, 30, "▰▱▱▱▱▱▱▱▱▱ 1/30"),
        (29, 30, "▰▰▰▰▰▰▰▰▰▱ 29/30"),
        (7, 7, "▰▰▰▰▰▰▰▰▰▰ 7/7"),
        (0, 0, "▱▱▱▱▱▱▱▱▱▱ 0/0"),
    ],
)
def test_status_bar_shows_progress(done: int, total: int, bar: str) -> None:
    assert status_bar(done, total) == bar


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 min"),
        (1, "1 min"),
        (60, "1 min"),
        (61, "2 min"),
        (12 * 60, "12 min"),
        (3600, "1 h"),
        (3900, "1 h 5 min"),
        (86400 + 3 * 3600, "1 d 3 h"),
        (-5, "0 min"),
    ],
)
def test_durations_read_naturally_and_round_up(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
