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
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections.abc import Sequence
from itertools import pairwise
from operator import add

from bot.pieces import SCENE_MARK, chapters, readable_pieces
from bot.story import Break, Paragraph, Part, ReadPart, Story

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


_WEAKNESS_CHAPTER = 0.0
_WEAKNESS_SCENE = 20.0
_WEAKNESS_PARAGRAPH = 60.0
_WEAKNESS_DIALOGUE = 100.0
# After a lead-in ("... and says:"), what follows is what it leads in to.
_WEAKNESS_LEAD_IN = 200.0
_WEAKNESS_SENTENCE = 300.0
_WEAKNESS_WORD = 900.0

_AT_TOLERANCE = 100.0
# Per target's worth of words outside the bounds; large enough that no sum of in-bounds costs
# reaches it.
_OUT_OF_BOUNDS = 1e9
# Per chapter heading inside a part (not at its start): more than any in-bounds difference of
# size and break, less than a part out of bounds, so a part straddles a chapter heading only
# when no break at it is within the tolerance.
_STRADDLE = 10_000.0

# Word chunks inside a sentence that alone exceeds a part: cut points every maxw/64 words.
_WORD_CHUNKS_PER_PART = 64
# Units smaller than maxw/200 words are joined to the next at a weak break, so that a story of
# one-word paragraphs cannot make the look-back window thousands of units long.
_TINY_UNIT_FRACTION = 200
_DEV_TABLE_LIMIT = 1 << 17

# A sentence ends at a run of terminal punctuation (with closing quotes or brackets) followed by
# white space. The look-behind lets a run start only at its first character and the possessive
# quantifier never gives characters back, so the scan stays linear on long runs like "!!!!".
_SENTENCE_END = re.compile(r"(?<![.!?…])[.!?…][.!?…\"'”’)\]»]*+(?=\s)")
_WORD = re.compile(r"\S+")

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
    units = _Units(story, text, high)
    deviation = _Deviation(words_per_part, tolerance, low, high)
    chosen = _choose(units, deviation, high)
    return _parts(story, text, units, chosen)


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
    deviation = _Deviation(words_per_part, tolerance, low, high)
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
                total += _STRADDLE
            before += p.words
        if end < len(paragraphs):
            if paragraphs[end - 1].heading:
                return _INF
            total += _weakness(paragraphs[end - 1], paragraphs[end])
    return total


def _weakness(previous: Paragraph, paragraph: Paragraph) -> float:
    """Cost of ending a part between these two paragraphs."""
    strength = paragraph.break_before
    if strength >= Break.CHAPTER:
        return _WEAKNESS_CHAPTER
    if strength == Break.SCENE:
        return _WEAKNESS_SCENE
    if previous.lead_in:
        return _WEAKNESS_LEAD_IN
    if previous.dialogue and paragraph.dialogue:
        return _WEAKNESS_DIALOGUE
    return _WEAKNESS_PARAGRAPH


def _check(words_per_part: int, tolerance: float) -> None:
    if isinstance(words_per_part, bool) or not isinstance(words_per_part, int):
        raise TypeError(f"words_per_part must be an int, not {type(words_per_part).__name__}")
    if words_per_part < 1:
        raise ValueError(f"words_per_part must be at least 1, not {words_per_part}")
    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance must be between 0 and 1, not {tolerance}")


class _Units:
    """The atoms the dynamic program arranges: whole paragraphs, or for a paragraph too large for
    any part, its sentences or word chunks. Index k describes the boundary before unit k."""

    __slots__ = ("breakable", "cut", "strength", "weakness", "words")

    def __init__(self, story: Story, text: str, high: int) -> None:
        self.cut: list[int] = []  # where a part that begins with this unit begins in the text
        self.words: list[int] = []
        self.breakable: list[bool] = []  # may a part begin with this unit
        self.strength: list[Break] = []  # kind of the boundary before this unit
        self.weakness: list[float] = []
        tiny = high // _TINY_UNIT_FRACTION
        paragraphs = story.paragraphs
        cuts, sizes, breakables = self.cut, self.words, self.breakable
        strengths, weaknesses = self.strength, self.weakness
        chain = 0  # words of the run of headings that must stay with the next paragraph
        previous: Paragraph | None = None
        # Locals and ``_weakness`` inline: this loop runs once per paragraph.
        chapter, scene, paragraph_break = Break.CHAPTER, Break.SCENE, Break.PARAGRAPH
        for paragraph in paragraphs:
            words = paragraph.words
            strength = paragraph.break_before
            if previous is None:
                breakable, glue, weakness = False, 0, 0.0
            else:
                breakable = not previous.heading
                glue = 0 if breakable else chain
                if strength >= chapter:
                    weakness = _WEAKNESS_CHAPTER
                elif strength == scene:
                    weakness = _WEAKNESS_SCENE
                elif previous.lead_in:
                    weakness = _WEAKNESS_LEAD_IN
                elif previous.dialogue and paragraph.dialogue:
                    weakness = _WEAKNESS_DIALOGUE
                else:
                    weakness = _WEAKNESS_PARAGRAPH
            if words + glue > high:
                start = paragraph.start
                first = len(cuts)
                self._add_giant(text, start, paragraph.end, high - glue, high, tiny)
                # The first piece begins the paragraph: give it the paragraph's own boundary.
                cuts[first] = _line_start(text, start)
                breakables[first] = breakable
                strengths[first] = strength
                weaknesses[first] = weakness
            elif (
                sizes
                and strength <= paragraph_break
                and sizes[-1] < tiny
                and sizes[-1] + words <= high
            ):
                sizes[-1] += words
            else:
                cuts.append(_line_start(text, paragraph.start))
                sizes.append(words)
                breakables.append(breakable)
                strengths.append(strength)
                weaknesses.append(weakness)
            chain = glue + words if paragraph.heading else 0
            previous = paragraph

    def _add_giant(
        self, text: str, start: int, end: int, first_budget: int, high: int, tiny: int
    ) -> None:
        """Sentence units for a paragraph too large for a part; word chunks for a sentence too
        large as well. The caller gives the first piece the paragraph's own boundary."""
        sentence_start = start
        spans: list[tuple[int, int]] = []
        for match in _SENTENCE_END.finditer(text, start, end):
            spans.append((sentence_start, match.end()))
            following = _WORD.search(text, match.end(), end)
            if following is None:
                sentence_start = end
                break
            sentence_start = following.start()
        if sentence_start < end:
            spans.append((sentence_start, end))
        first = len(self.cut)
        chunk = max(1, high // _WORD_CHUNKS_PER_PART)

        def append(cut: int, words: int, strength: Break, weakness: float) -> None:
            last = len(self.cut) - 1
            if last >= first:
                budget = first_budget if last == first else high
                if self.words[last] < tiny and self.words[last] + words <= budget:
                    self.words[last] += words
                    return
            self.cut.append(cut)
            self.words.append(words)
            self.breakable.append(True)
            self.strength.append(strength)
            self.weakness.append(weakness)

        for s, e in spans:
            budget = first_budget if len(self.cut) == first else high
            words = len(text[s:e].split())
            if words <= budget:
                append(s, words, Break.SENTENCE, _WEAKNESS_SENTENCE)
                continue
            size = max(1, min(chunk, budget))
            count = 0
            chunk_start = s
            strength, weakness = Break.SENTENCE, _WEAKNESS_SENTENCE
            for word in _WORD.finditer(text, s, e):
                if count == size:
                    append(chunk_start, count, strength, weakness)
                    strength, weakness = Break.WORD, _WEAKNESS_WORD
                    chunk_start = word.start()
                    count = 0
                count += 1
            if count:
                append(chunk_start, count, strength, weakness)


def _line_start(text: str, start: int) -> int:
    return start if text[start - 1 : start] == "\n" else text.rfind("\n", 0, start) + 1


class _Deviation:
    """Cost of a part of ``w`` words; a table lookup for the sizes the window can see."""

    def __init__(self, target: int, tolerance: float, low: int, high: int) -> None:
        self.target = target
        self.span = tolerance * target
        self.low = low
        self.high = high
        self.table: list[float] | None = None
        if high < _DEV_TABLE_LIMIT:
            self.table = [self(w) for w in range(high + 1)]

    def __call__(self, words: int) -> float:
        if words < self.low:
            return _AT_TOLERANCE + _OUT_OF_BOUNDS * (self.low - words) / self.target
        if words > self.high:
            return _AT_TOLERANCE + _OUT_OF_BOUNDS * (words - self.high) / self.target
        x = (words - self.target) / self.span
        return _AT_TOLERANCE * x * x


class _Lookup:
    """Deviation costs by index, computed on demand when a table would be too large."""

    __slots__ = ("deviation",)

    def __init__(self, deviation: _Deviation) -> None:
        self.deviation = deviation

    def __getitem__(self, words: int) -> float:
        return self.deviation(words)


def _choose(units: _Units, deviation: _Deviation, high: int) -> list[int]:
    """Indices of the boundaries that begin parts 2..n, by dynamic programming."""
    count = len(units.words)
    prefix = [0] * (count + 1)
    total = 0
    for k, words in enumerate(units.words):
        total += words
        prefix[k + 1] = total
    # chapters[i]: chapter boundaries before unit i. A part of units j..k-1 pays for each chapter
    # boundary inside it at which a part from j could have ended within the bounds: those from
    # unit max(j + 1, u) on, where u is the first unit with at least ``low`` words from j. So
    # adjusted[j] carries the part of that cost known once best[j] is.
    chapters = [0] * (count + 2)
    seen = 0
    for k, strength in enumerate(units.strength):
        chapters[k] = seen
        if strength >= Break.CHAPTER:
            seen += 1
    chapters[count] = chapters[count + 1] = seen
    best = [_INF] * (count + 1)
    best[0] = 0.0
    adjusted = [_INF] * (count + 1)
    # reached[j]: the chapter boundaries before the first unit a part from j reaches the minimum
    # at, the straddles adjusted[j] takes off in advance.
    reached = [0] * (count + 1)
    reached[0] = chapters[max(1, bisect.bisect_left(prefix, deviation.low))]
    adjusted[0] = -_STRADDLE * reached[0]
    back = [0] * (count + 1)
    table = deviation.table if deviation.table is not None else _Lookup(deviation)
    lookup = table.__getitem__
    breakable = units.breakable
    weakness = units.weakness
    low = deviation.low
    # Any part outside the bounds costs at least this much, so a cost below it found among the
    # starts that give an in-bounds part is the minimum over the whole window.
    in_bounds_enough = deviation(low - 1) if low > 1 else _INF
    first = 0  # first start that keeps the part within the maximum
    last = 0  # last start that keeps the part at or above the minimum
    for k in range(1, count + 1):
        if k < count and not breakable[k]:
            continue
        end_words = prefix[k]
        while end_words - prefix[first] > high:
            first += 1
        while last < k - 1 and end_words - prefix[last + 1] >= low:
            last += 1
        cost = _INF
        start = k
        straddled = _STRADDLE * chapters[k]
        in_bounds = first <= last and end_words - prefix[last] >= low
        if in_bounds:
            # so_far + table[end_words - words] over the window, the loops run in C.
            costs = list(
                map(
                    add,
                    adjusted[first : last + 1],
                    map(lookup, map(end_words.__sub__, prefix[first : last + 1])),
                )
            )
            cost = min(costs)
            start = first + costs.index(cost)
            cost += straddled
        if cost >= in_bounds_enough and first < k:
            costs = list(
                map(add, adjusted[first:k], map(lookup, map(end_words.__sub__, prefix[first:k])))
            )
            # A part below the minimum ends before the chapter boundaries adjusted[j] counted
            # on as straddled: none of them is inside it, so take back what was subtracted.
            here = chapters[k]
            for j in range(last + 1 if in_bounds else first, k):
                if reached[j] > here:
                    costs[j - first] += _STRADDLE * (reached[j] - here)
            cost = min(costs)
            start = first + costs.index(cost)
            cost += straddled
        if cost == _INF:
            # Nothing within the maximum can end here (a heading glued to a paragraph that just
            # fits): take the nearest reachable start and pay for the excess.
            start = first - 1
            while best[start] == _INF:
                start -= 1
            cost = best[start] + deviation(end_words - prefix[start])
        best[k] = cost + (weakness[k] if k < count else 0.0)
        if best[k] < _INF:
            reach = bisect.bisect_left(prefix, end_words + low, k + 1)
            reached[k] = chapters[min(reach, count + 1)]
            adjusted[k] = best[k] - _STRADDLE * reached[k]
        back[k] = start
    starts: list[int] = []
    k = back[count]
    while k > 0:
        starts.append(k)
        k = back[k]
    starts.reverse()
    return starts


def _parts(story: Story, text: str, units: _Units, starts: list[int]) -> tuple[Part, ...]:
    paragraphs = story.paragraphs
    paragraph_starts = [p.start for p in paragraphs]
    chapter_starts, chapter_titles = chapters(story)
    boundaries = [0, *starts, len(units.words)]
    prefix_words = [0]
    for words in units.words:
        prefix_words.append(prefix_words[-1] + words)
    parts: list[Part] = []
    # Each part reads its pieces from the story's text when asked for them.
    reader = functools.partial(readable_pieces, story)
    for number, (first_unit, end_unit) in enumerate(pairwise(boundaries), start=1):
        span_start = 0 if first_unit == 0 else units.cut[first_unit]
        span_end = len(text) if end_unit == len(units.words) else units.cut[end_unit]
        ends_with = Break.END if end_unit == len(units.words) else units.strength[end_unit]
        # The chapter in force where the part's reading begins.
        first = bisect.bisect_right(paragraph_starts, span_start) - 1
        if first < 0 or paragraphs[first].end <= span_start:
            first += 1
        reading_at = paragraph_starts[min(first, len(paragraphs) - 1)]
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
