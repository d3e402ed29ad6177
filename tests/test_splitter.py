"""The splitter: lossless, ordered, within bounds when the text allows, deterministic, cutting a
paragraph only when it must, and globally (not greedily) optimal."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.library import normalise, story_from_text
from bot.splitter import (
    DEFAULT_TOLERANCE,
    SCENE_MARK,
    arrangement_cost,
    bounds,
    split,
)
from bot.story import Break, Part, Story

VOCABULARY = [
    "the",
    "wolf",
    "ran",
    "far",
    "into",
    "dark",
    "woods",
    "and",
    "she",
    "said",
    "nothing",
    "while",
    "rain",
    "fell",
    "on",
    "us",
]


def make_story(text: str, name: str = "generated.txt") -> Story:
    return story_from_text(normalise(text), path=Path(name), fields={"title": "Generated"})


def words(count: int, seed: int = 0, end: str = ".") -> str:
    picked = [VOCABULARY[(seed * 7 + i * 3) % len(VOCABULARY)] for i in range(count)]
    return " ".join(picked).capitalize() + end


def line_start(story: Story, offset: int) -> int:
    return story.text.rfind("\n", 0, offset) + 1


def paragraph_starting_part(story: Story, part: Part) -> int | None:
    """Index of the paragraph whose line the part begins on, or None if the part begins inside a
    paragraph."""
    for index, paragraph in enumerate(story.paragraphs):
        if line_start(story, paragraph.start) == part.start:
            return index
    return None


def glued_sizes(story: Story) -> list[int]:
    """For each paragraph, its words plus those of the headings that must stay with it."""
    sizes = []
    chain = 0
    for index, paragraph in enumerate(story.paragraphs):
        glue = chain if index and story.paragraphs[index - 1].heading else 0
        sizes.append(glue + paragraph.words)
        chain = glue + paragraph.words if paragraph.heading else 0
    return sizes


# Generated stories ---------------------------------------------------------------------------

sentence = st.builds(
    lambda n, seed, end: words(n, seed, end),
    st.integers(1, 14),
    st.integers(0, 50),
    st.sampled_from([".", "!", "?", "...", '."']),
)
paragraph = st.lists(sentence, min_size=1, max_size=5).map(" ".join)
dialogue = paragraph.map(lambda p: f'"{p}" she said.')
giant = st.lists(sentence, min_size=30, max_size=60).map(" ".join)
run_on = st.integers(150, 400).map(lambda n: words(n, n, end=""))
heading = st.sampled_from(["Chapter 1", "CHAPTER XII", "Part Two", "# The Storm", "Prologue"])
marker = st.sampled_from(["* * *", "***", "#", "~~~"])
element = st.one_of(
    paragraph, paragraph, paragraph, dialogue, dialogue, heading, marker, giant, run_on
)
gap = st.sampled_from(["\n\n", "\n\n", "\n\n", "\n\n\n\n\n"])


@st.composite
def stories(draw: st.DrawFn, elements: st.SearchStrategy[str] = element) -> Story:
    parts = draw(st.lists(elements, min_size=1, max_size=40))
    parts.append(draw(paragraph))  # a story ends with text, not a heading
    text = parts[0]
    for item in parts[1:]:
        text += draw(gap) + item
    return make_story(text)


plain_element = st.one_of(paragraph, paragraph, dialogue, heading, marker)
targets = st.integers(20, 150)
tolerances = st.sampled_from([0.2, DEFAULT_TOLERANCE, 0.5])
quick = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@quick
@given(stories(), targets, tolerances)
def test_parts_tile_the_text_and_join_back_to_it(story: Story, target: int, tolerance: float):
    parts = split(story, target, tolerance)
    assert "".join(story.text[p.start : p.end] for p in parts) == story.text
    assert parts[0].start == 0
    assert parts[-1].end == len(story.text)
    for before, after in itertools.pairwise(parts):
        assert before.end == after.start
        assert before.start < before.end


@quick
@given(stories(), targets, tolerances)
def test_parts_are_numbered_in_order_and_only_the_last_ends_the_story(
    story: Story, target: int, tolerance: float
):
    parts = split(story, target, tolerance)
    assert [p.index for p in parts] == list(range(1, len(parts) + 1))
    assert [p.ends_with == Break.END for p in parts] == [False] * (len(parts) - 1) + [True]
    assert sum(p.words for p in parts) == story.words


@quick
@given(stories(), targets, tolerances)
def test_splitting_is_deterministic(story: Story, target: int, tolerance: float):
    assert split(story, target, tolerance) == split(story, target, tolerance)


@quick
@given(stories(), targets, tolerances)
def test_no_part_exceeds_the_maximum(story: Story, target: int, tolerance: float):
    _, high = bounds(target, tolerance)
    assert all(p.words <= high for p in split(story, target, tolerance))


def in_bounds_arrangement_exists(story: Story, low: int, high: int) -> bool:
    """Whether whole paragraphs can be grouped into parts all within [low, high], never ending a
    part on a heading."""
    paragraphs = story.paragraphs
    prefix = list(itertools.accumulate((p.words for p in paragraphs), initial=0))
    reachable = [True] + [False] * len(paragraphs)
    for end in range(1, len(paragraphs) + 1):
        if end < len(paragraphs) and paragraphs[end - 1].heading:
            continue
        reachable[end] = any(
            reachable[start] and low <= prefix[end] - prefix[start] <= high for start in range(end)
        )
    return reachable[-1]


@quick
@given(stories(plain_element), targets, tolerances)
def test_every_part_is_within_bounds_when_the_text_allows(
    story: Story, target: int, tolerance: float
):
    low, high = bounds(target, tolerance)
    parts = split(story, target, tolerance)
    if in_bounds_arrangement_exists(story, low, high):
        assert all(low <= p.words <= high for p in parts), [p.words for p in parts]


@quick
@given(stories(), targets, tolerances)
def test_a_paragraph_is_cut_only_when_it_cannot_fit_in_a_part(
    story: Story, target: int, tolerance: float
):
    _, high = bounds(target, tolerance)
    sizes = glued_sizes(story)
    parts = split(story, target, tolerance)
    for before, after in itertools.pairwise(parts):
        if paragraph_starting_part(story, after) is not None:
            assert before.ends_with >= Break.PARAGRAPH
            continue
        inside = [i for i, p in enumerate(story.paragraphs) if p.start < after.start < p.end]
        assert len(inside) == 1
        assert sizes[inside[0]] > high
        assert before.ends_with in (Break.SENTENCE, Break.WORD)
        if before.ends_with == Break.SENTENCE:
            assert story.text[: after.start].rstrip()[-1] in '.!?…"'


@settings(max_examples=40, deadline=None)
@given(stories(plain_element).filter(lambda s: len(s.paragraphs) <= 9), st.integers(20, 80))
def test_the_chosen_arrangement_is_the_cheapest_of_all(story: Story, target: int):
    assume(max(glued_sizes(story)) <= bounds(target)[1])  # no paragraph needs cutting
    parts = split(story, target)
    chosen = [paragraph_starting_part(story, p) for p in parts[1:]]
    assert None not in chosen
    best = min(
        arrangement_cost(story, list(starts), target)
        for size in range(len(story.paragraphs))
        for starts in itertools.combinations(range(1, len(story.paragraphs)), size)
    )
    assert arrangement_cost(story, chosen, target) == pytest.approx(best)


def test_a_part_below_the_minimum_is_not_credited_for_chapters_it_stops_short_of() -> None:
    # Every arrangement has a part below the minimum; the splitter once counted the chapter
    # headings after such a part's end as straddled in advance and then took them off it, so a
    # short first part looked 10,000 cheaper than it is.
    sentence = "The far woods said rain us ran dark she while on wolf into and."
    story = make_story(
        f"Chapter 1\n\nThe. The. The. The. {sentence}\n\nChapter 1\n\nChapter 1\n\n"
        f"The. The. The far woods. {sentence}\n\nChapter 1\n\nThe.\n\nThe. The. The. {sentence}\n"
    )
    parts = split(story, 34)
    chosen = [paragraph_starting_part(story, p) for p in parts[1:]]
    best = min(
        arrangement_cost(story, list(starts), 34)
        for size in range(len(story.paragraphs))
        for starts in itertools.combinations(range(1, len(story.paragraphs)), size)
    )
    assert chosen == [5]
    assert arrangement_cost(story, chosen, 34) == pytest.approx(best)


# Examples ------------------------------------------------------------------------------------


def test_a_chapter_end_is_preferred_to_a_paragraph_break_of_similar_size():
    text = "\n\n".join([words(45, 1), words(45, 2), "Chapter 2", words(50, 3), words(50, 4)])
    parts = split(make_story(text), 100)
    assert [p.ends_with for p in parts] == [Break.CHAPTER, Break.END]
    assert parts[1].paragraphs[0] == "Chapter 2"
    assert parts[1].heading == "Chapter 2"


def test_a_part_does_not_end_inside_a_dialogue_exchange_when_narration_offers_a_break():
    first_line, answer = (f'"{words(18, s)}" he said.' for s in (1, 2))
    text = "\n\n".join([words(40, 3), first_line, answer, words(20, 4), words(40, 5)])
    story = make_story(text)
    parts = split(story, 70)
    # Ending between the two lines of dialogue (60 | 80 words) or after the answer (80 | 60)
    # deviates from the target equally; only the weakness of the break differs.
    assert [p.words for p in parts] == [80, 60]
    assert parts[0].paragraphs[-1] == answer
    assert arrangement_cost(story, [2], 70) > arrangement_cost(story, [3], 70)


def test_heading_is_never_left_at_the_end_of_a_part():
    text = "\n\n".join([words(95, 1), "Chapter 2", words(95, 2)])
    parts = split(make_story(text), 100)
    assert all(p.paragraphs[-1] != "Chapter 2" for p in parts)
    assert parts[1].paragraphs[0] == "Chapter 2"


def test_a_tiny_epilogue_after_a_scene_break_is_merged_with_a_scene_mark():
    text = "\n\n".join([words(60, 1), words(60, 2), "* * *", "Years later, she came back."])
    parts = split(make_story(text), 120)
    assert len(parts) == 1
    assert parts[0].paragraphs[-2:] == ("* * *", "Years later, she came back.")


def test_a_scene_break_made_only_of_blank_lines_is_marked_inside_a_part():
    text = f"{words(30, 1)}\n\n{words(30, 2)}\n\n\n\n\n{words(30, 3)}\n\n{words(30, 4)}"
    parts = split(make_story(text), 200)
    assert parts[0].paragraphs[2] == SCENE_MARK


def test_a_giant_paragraph_is_cut_at_sentence_ends():
    giant = " ".join(words(10, s) for s in range(40))
    story = make_story(f"{words(20, 1)}\n\n{giant}\n\n{words(20, 2)}")
    parts = split(story, 100)
    assert all(p.words <= bounds(100)[1] for p in parts)
    assert {p.ends_with for p in parts[:-1]} <= {Break.SENTENCE, Break.PARAGRAPH}
    assert Break.SENTENCE in {p.ends_with for p in parts}
    pieces = [piece for p in parts for piece in p.paragraphs]
    assert " ".join(pieces[1:-1]) == giant


def test_a_giant_sentence_is_cut_at_word_boundaries():
    run_on = words(1000, 3, end="")
    parts = split(make_story(run_on), 100)
    assert all(p.words <= bounds(100)[1] for p in parts)
    assert Break.WORD in {p.ends_with for p in parts}
    assert " ".join(piece for p in parts for piece in p.paragraphs) == run_on


def test_long_punctuation_runs_do_not_slow_the_sentence_scan():
    text = "Stop" + "!" * 200_000 + " " + words(3000, 1, end="")
    story = make_story(text)
    started = time.perf_counter()
    parts = split(story, 200)
    assert time.perf_counter() - started < 2.0
    assert "".join(story.text[p.start : p.end] for p in parts) == story.text


def test_one_word_paragraphs_do_not_make_the_look_back_quadratic():
    story = make_story("\n\n".join("Yes." for _ in range(40_000)))
    started = time.perf_counter()
    parts = split(story, 1200)
    assert time.perf_counter() - started < 3.0
    assert sum(p.words for p in parts) == 40_000
    assert all(p.words <= bounds(1200)[1] for p in parts)


def test_a_giant_paragraph_of_one_word_sentences_is_split_quickly():
    story = make_story("Yes. " * 40_000)
    started = time.perf_counter()
    parts = split(story, 1200)
    assert time.perf_counter() - started < 3.0
    assert all(p.words <= bounds(1200)[1] for p in parts)
    assert {p.ends_with for p in parts[:-1]} == {Break.SENTENCE}


def test_soft_wrapped_lines_are_joined_for_readers():
    wrapped = "The wolf ran far into\nthe dark woods and\nshe said nothing."
    story = make_story("\n\n".join([wrapped, wrapped.replace("wolf", "fox"), wrapped]))
    assert story.soft_wraps
    part = split(story, 100)[0]
    assert part.paragraphs[0] == "The wolf ran far into the dark woods and she said nothing."


def test_a_huge_target_keeps_a_whole_story_in_one_part():
    story = make_story("\n\n".join(words(50, s) for s in range(10)))
    parts = split(story, 500_000)
    assert len(parts) == 1
    assert parts[0].words == 500


@pytest.mark.parametrize(("target", "tolerance"), [(0, 0.35), (100, 0.0), (100, 1.0)])
def test_nonsense_targets_are_refused(target: int, tolerance: float):
    with pytest.raises(ValueError):
        split(make_story(words(10)), target, tolerance)


def test_arrangement_cost_is_infinite_when_a_part_ends_on_a_heading():
    story = make_story("\n\n".join([words(20, 1), "Chapter 2", words(20, 2)]))
    assert arrangement_cost(story, [2], 20) == float("inf")
    assert arrangement_cost(story, [1], 20) < float("inf")
