"""The splitter: cuts a story into installments.

Like TeX breaking a paragraph into lines, it chooses every break at once rather than filling each
part greedily. A dynamic program runs over the places a part may end and minimises, summed over
the parts,

- the distance of the part's size from the target: quadratic inside the tolerance (100 at its
  edge), and so steep outside it that any arrangement inside the bounds is cheaper, and
- the weakness of the break that ends the part: a chapter end costs nothing, then a scene break, a
  paragraph after narration, a paragraph inside a dialogue exchange, a sentence end inside a
  paragraph, and last a plain word boundary.

A paragraph is cut only when it cannot fit in a part of the maximum size (target × (1 + tolerance))
together with the heading that must stay with it; then the candidates inside it are its sentence
ends, and inside a sentence that is still too long, word boundaries. A heading never ends a part.
A short last part (an epilogue) is therefore merged into the one before unless keeping it alone
is the cheaper arrangement.

The look-back of the dynamic program is bounded by the maximum part size, so the work is linear in
the number of paragraphs times the paragraphs per part. Parts tile the text exactly, so joining
their spans gives the story's text back.

The units the program arranges are made in ``bot.split_units``, the costs and the program itself
are in ``bot.split_choice``; this module cuts a story with them and makes its parts.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Sequence
from itertools import accumulate, pairwise

from bot.paragraphs import Break, Paragraph, ParagraphTable
from bot.pieces import SCENE_MARK, chapters, readable_pieces
from bot.split_choice import STRADDLE, Deviation, choose, weakness
from bot.split_units import Units
from bot.story import Part, ReadPart, Story

__all__ = [
    "DEFAULT_TOLERANCE",
    "DEFAULT_WORDS_PER_PART",
    "SCENE_MARK",
    "arrangement_cost",
    "bounds",
    "split",
]

DEFAULT_WORDS_PER_PART = 1200
DEFAULT_TOLERANCE = 0.35

_INF = math.inf


def bounds(words_per_part: int, tolerance: float = DEFAULT_TOLERANCE) -> tuple[int, int]:
    """The smallest and largest part size, in words, that the tolerance allows."""
    _check(words_per_part, tolerance)
    low = max(1, math.ceil(words_per_part * (1 - tolerance)))
    high = max(low, math.floor(words_per_part * (1 + tolerance)))
    return low, high


def split(
    story: Story, words_per_part: int, tolerance: float = DEFAULT_TOLERANCE
) -> tuple[Part, ...]:
    """Cut ``story`` into parts of about ``words_per_part`` words (see the module docstring)."""
    text = story.text
    if not story.paragraphs:
        return (Part(1, 0, len(text), (), 0, Break.END),)
    low, high = bounds(words_per_part, tolerance)
    # Columns, not a ``Paragraph`` object per paragraph (a loaded story has them already).
    paragraphs = ParagraphTable.of(story.paragraphs)
    units = Units(text, paragraphs, high)
    deviation = Deviation(words_per_part, tolerance, low, high)
    chosen = choose(units.words, units.breakable, units.strength, units.weakness, deviation)
    return _parts(story, text, paragraphs, units, chosen)


def arrangement_cost(
    story: Story,
    starts: Sequence[int],
    words_per_part: int,
    tolerance: float = DEFAULT_TOLERANCE,
) -> float:
    """The cost ``split`` minimises, for the arrangement whose parts 2..n begin at the paragraphs
    with indices ``starts`` (whole paragraphs only). Infinite when a part would end with a
    heading or exceed the maximum size, which ``split`` never allows while a paragraph could be
    cut instead. Lets a caller ask why one arrangement was preferred to another."""
    low, high = bounds(words_per_part, tolerance)
    deviation = Deviation(words_per_part, tolerance, low, high)
    paragraphs = story.paragraphs
    edges = [0, *starts, len(paragraphs)]
    total = 0.0
    for first, end in pairwise(edges):
        if not 0 <= first < end <= len(paragraphs):
            raise ValueError(f"part starts must increase within the paragraphs: {list(starts)}")
        size = sum(p.words for p in paragraphs[first:end])
        if size > high:
            return _INF
        total += deviation(size)
        before = 0
        for p in paragraphs[first:end]:
            if before >= low and p.break_before >= Break.CHAPTER:
                total += STRADDLE
            before += p.words
        if end < len(paragraphs):
            if paragraphs[end - 1].heading:
                return _INF
            total += _weakness(paragraphs[end - 1], paragraphs[end])
    return total


def _weakness(previous: Paragraph, paragraph: Paragraph) -> float:
    """Cost of ending a part between these two paragraphs."""
    return weakness(
        paragraph.break_before, previous.lead_in, previous.dialogue and paragraph.dialogue
    )


def _check(words_per_part: int, tolerance: float) -> None:
    if isinstance(words_per_part, bool) or not isinstance(words_per_part, int):
        raise TypeError(f"words_per_part must be an int, not {type(words_per_part).__name__}")
    if words_per_part < 1:
        raise ValueError(f"words_per_part must be at least 1, not {words_per_part}")
    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance must be between 0 and 1, not {tolerance}")


def _parts(
    story: Story, text: str, paragraphs: ParagraphTable, units: Units, starts: list[int]
) -> tuple[Part, ...]:
    paragraph_starts, paragraph_ends = paragraphs.starts, paragraphs.ends
    last_paragraph = len(paragraphs) - 1
    chapter_starts, chapter_titles = chapters(story)
    count = len(units.words)
    boundaries = [0, *starts, count]
    prefix_words = [0, *accumulate(units.words)]
    parts: list[Part] = []
    # Each part reads its pieces from the story's text when asked for them.
    reader = functools.partial(readable_pieces, story)
    for number, (first_unit, end_unit) in enumerate(pairwise(boundaries), start=1):
        span_start = 0 if first_unit == 0 else units.cut[first_unit]
        span_end = len(text) if end_unit == count else units.cut[end_unit]
        ends_with = Break.END if end_unit == count else Break(units.strength[end_unit])
        # The chapter in force where the part's reading begins.
        first = bisect.bisect_right(paragraph_starts, span_start) - 1
        if first < 0 or paragraph_ends[first] <= span_start:
            first += 1
        reading_at = paragraph_starts[min(first, last_paragraph)]
        chapter = bisect.bisect_right(chapter_starts, reading_at) - 1
        parts.append(
            ReadPart(
                index=number,
                start=span_start,
                end=span_end,
                paragraphs=reader,
                words=prefix_words[end_unit] - prefix_words[first_unit],
                ends_with=ends_with,
                heading=chapter_titles[chapter] if chapter >= 0 else None,
            )
        )
    return tuple(parts)
