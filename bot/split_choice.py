"""Choosing where parts end (see ``bot.splitter``): what a part of a given size costs, what the
break that ends it costs, and the dynamic program that minimises their sum over the parts.

The program runs over the boundaries between units (``bot.split_units``), each a place a part
may end, and for each finds the cheapest arrangement of the text before it. The look-back is
bounded by the maximum part size, and the costs of a window of starts are computed in one
comprehension over a slice, so the work is linear in the number of units times the units per part.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate, compress, islice, repeat
from operator import mul

from bot.paragraphs import BREAK_BITS, DIALOGUE, LEAD_IN, Break

WEAKNESS_CHAPTER = 0.0
WEAKNESS_SCENE = 20.0
WEAKNESS_PARAGRAPH = 60.0
WEAKNESS_DIALOGUE = 100.0
# After a lead-in ("... and says:"), what follows is what it leads in to.
WEAKNESS_LEAD_IN = 200.0
WEAKNESS_SENTENCE = 300.0
WEAKNESS_WORD = 900.0

_AT_TOLERANCE = 100.0
# Per target's worth of words outside the bounds; large enough that no sum of in-bounds costs
# reaches it.
_OUT_OF_BOUNDS = 1e9
# Per chapter heading inside a part (not at its start): more than any in-bounds difference of
# size and break, less than a part out of bounds, so a part straddles a chapter heading only
# when no break at it is within the tolerance.
STRADDLE = 10_000.0
_DEV_TABLE_LIMIT = 1 << 17

_INF = math.inf


def weakness(strength: int, after_lead_in: bool, dialogue_on_both_sides: bool) -> float:
    """Cost of ending a part at a paragraph boundary of this strength (``Break``)."""
    if strength >= Break.CHAPTER:
        return WEAKNESS_CHAPTER
    if strength == Break.SCENE:
        return WEAKNESS_SCENE
    if after_lead_in:
        return WEAKNESS_LEAD_IN
    if dialogue_on_both_sides:
        return WEAKNESS_DIALOGUE
    return WEAKNESS_PARAGRAPH


# ``weakness`` by the flags (``ParagraphTable.flags``) of the paragraphs either side of the
# boundary: the strength and dialogue of the second, and the dialogue and lead-in of the first
# moved one bit up, clear of them. The splitter looks it up once per paragraph.
WEAKNESS_BY_FLAGS = tuple(
    weakness(
        key & BREAK_BITS,
        bool(key & LEAD_IN << 1),
        bool(key & DIALOGUE) and bool(key & DIALOGUE << 1),
    )
    for key in range(256)
)


class Deviation:
    """Cost of a part of ``w`` words: quadratic inside the tolerance (100 at its edge), and so
    steep outside it that any arrangement inside the bounds is cheaper; a table lookup for the
    sizes the window can see."""

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

    def __init__(self, deviation: Deviation) -> None:
        self.deviation = deviation

    def __getitem__(self, words: int) -> float:
        return self.deviation(words)


def choose(
    words: Sequence[int],
    breakable: Sequence[bool],
    strength: Sequence[int],
    weakness: Sequence[float],
    deviation: Deviation,
) -> list[int]:
    """The units that begin parts 2..n, by dynamic programming. Unit k has ``words[k]`` words;
    a part may begin with it when ``breakable[k]``, and ending a part before it costs
    ``weakness[k]``; ``strength[k]`` is the kind of the boundary before it (``Break``)."""
    count = len(words)
    low, high = deviation.low, deviation.high
    prefix = [0, *accumulate(words)]
    # A part of units j..k-1 pays for each chapter boundary inside it at which a part from j
    # could have ended within the bounds: those from unit max(j + 1, u) on, where u is the first
    # unit with at least ``low`` words from j. So each start carries the part of that cost known
    # once its own cost is: adjusted[j] = best[j] - STRADDLE * reached[j].
    chapter_units = list(compress(range(count), map(Break.CHAPTER.__le__, strength)))
    # chapters[i]: chapter boundaries before unit i (one more entry, for a unit past the end).
    # reached[j]: those before the first unit a part from j reaches the minimum at, which are
    # the boundaries less than ``low`` words after j.
    chapter_steps = [0] * (count + 2)
    reached_steps = [0] * (count + 2)
    for unit in chapter_units:
        chapter_steps[unit + 1] += 1
        reached_steps[bisect_right(prefix, prefix[unit] - low)] += 1
    chapters = list(accumulate(chapter_steps))
    reached = list(accumulate(reached_steps))
    straddles = list(map(mul, repeat(STRADDLE), chapters))
    reached_straddles = list(map(mul, repeat(STRADDLE), reached))
    best = [_INF] * (count + 1)
    best[0] = 0.0
    # (adjusted[j], prefix[j]) together, so that a window of starts is one slice.
    known = list(zip(repeat(_INF), prefix))
    known[0] = (-STRADDLE * reached[0], 0)
    back = [0] * (count + 1)
    table = deviation.table if deviation.table is not None else _Lookup(deviation)
    ending = [*weakness, 0.0]  # nothing to pay for ending the story
    # Any part outside the bounds costs at least this much, so a cost below it found among the
    # starts that give an in-bounds part is the minimum over the whole window.
    in_bounds_enough = deviation(low - 1) if low > 1 else _INF

    def outside(k: int, first: int, full: int) -> tuple[float, int]:
        """(cost, start) of the cheapest part ending before unit k when no part within the
        bounds is cheaper than any part below the minimum; ``first``: the first start within
        the maximum, ``full``: the end of the starts that give a part within the bounds."""
        end_words = prefix[k]
        cost = _INF
        start = k
        if first < k:
            costs = [so_far + table[end_words - words] for so_far, words in known[first:k]]
            # A part below the minimum ends before the chapter boundaries adjusted[j] counted
            # on as straddled: none of them is inside it, so take back what was subtracted.
            here = chapters[k]
            for j in range(max(first, full), k):
                if reached[j] > here:
                    costs[j - first] += STRADDLE * (reached[j] - here)
            cost = min(costs)
            start = first + costs.index(cost)
            cost += straddles[k]
        if cost == _INF:
            # Nothing within the maximum can end here (a heading glued to a paragraph that just
            # fits): take the nearest reachable start and pay for the excess.
            start = first - 1
            while best[start] == _INF:
                start -= 1
            cost = best[start] + deviation(end_words - prefix[start])
        return cost, start

    first = 0  # the first start that keeps the part within the maximum
    last = 0  # the last start that keeps the part at or above the minimum
    for k in [*compress(range(1, count), islice(breakable, 1, None)), count]:
        end_words = prefix[k]
        while end_words - prefix[first] > high:
            first += 1
        while last < k - 1 and end_words - prefix[last + 1] >= low:
            last += 1
        if first <= last and end_words - prefix[last] >= low:
            # adjusted[j] + the size's cost over the starts giving a part within the bounds.
            costs = [so_far + table[end_words - words] for so_far, words in known[first : last + 1]]
            cost = min(costs)
            start = first + costs.index(cost)
            cost += straddles[k]
            if cost >= in_bounds_enough:
                cost, start = outside(k, first, last + 1)
        else:
            cost, start = outside(k, first, first)
        cost += ending[k]
        best[k] = cost
        if cost < _INF:
            known[k] = (cost - reached_straddles[k], end_words)
        back[k] = start
    starts: list[int] = []
    k = back[count]
    while k > 0:
        starts.append(k)
        k = back[k]
    starts.reverse()
    return starts
