"""The dynamic program that chooses where parts end, against a reference written to be read: the
same costs and the same tie-breaking (for each end, the earliest of the cheapest starts), but
every start tried for every end, each part's cost summed from its definition, nothing carried
ahead and no window.

With a target and tolerance whose part costs are exact in binary floating point (the spread a
power of two), both sum exactly, so the arrangements must be the same ones, ties included; with
any other, the costs agree to rounding."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import accumulate, pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.split_choice import (
    STRADDLE,
    WEAKNESS_CHAPTER,
    WEAKNESS_DIALOGUE,
    WEAKNESS_LEAD_IN,
    WEAKNESS_PARAGRAPH,
    WEAKNESS_SCENE,
    WEAKNESS_SENTENCE,
    WEAKNESS_WORD,
    Deviation,
    choose,
)
from bot.splitter import bounds
from bot.story import Break

Units = tuple[list[int], list[bool], list[int], list[float]]


def part_cost(units: Units, deviation: Deviation, first: int, end: int, low: int) -> float:
    """A part of units first..end-1: its size's cost, and a straddle for each chapter boundary
    inside it at which it could have ended at or above the minimum."""
    words, _, strength, _ = units
    prefix = [0, *accumulate(words)]
    inside = sum(
        1
        for i in range(first + 1, end)
        if strength[i] >= Break.CHAPTER and prefix[i] - prefix[first] >= low
    )
    return deviation(prefix[end] - prefix[first]) + STRADDLE * inside


def reference_choose(units: Units, deviation: Deviation) -> tuple[list[int], float]:
    """(the units that begin parts 2..n, the arrangement's cost)."""
    words, breakable, _, weakness = units
    count = len(words)
    low, high = deviation.low, deviation.high
    prefix = [0, *accumulate(words)]
    best = [math.inf] * (count + 1)
    back = [0] * (count + 1)
    best[0] = 0.0
    for k in range(1, count + 1):
        if k < count and not breakable[k]:
            continue  # a part may not end here
        reachable = [j for j in range(k) if best[j] < math.inf]
        within = [j for j in reachable if prefix[k] - prefix[j] <= high]
        if within:
            costs = [best[j] + part_cost(units, deviation, j, k, low) for j in within]
            cheapest = min(costs)
            start = within[costs.index(cheapest)]
        else:
            # No part within the maximum ends here: the nearest start, paying for the excess.
            start = max(reachable)
            cheapest = best[start] + deviation(prefix[k] - prefix[start])
        best[k] = cheapest + (weakness[k] if k < count else 0.0)
        back[k] = start
    starts: list[int] = []
    k = back[count]
    while k > 0:
        starts.append(k)
        k = back[k]
    return starts[::-1], best[count]


def arrangement(units: Units, deviation: Deviation, starts: Sequence[int]) -> float:
    """The cost of an arrangement as the reference counts it (a part over the maximum, made
    only when nothing else can end there, pays for its size alone)."""
    words, _, _, weakness = units
    edges = [0, *starts, len(words)]
    total = 0.0
    for first, end in pairwise(edges):
        size = sum(words[first:end])
        if size > deviation.high:
            total += deviation(size)
        else:
            total += part_cost(units, deviation, first, end, deviation.low)
        total += weakness[end] if end < len(words) else 0.0
    return total


WEAKNESSES = [
    WEAKNESS_CHAPTER,
    WEAKNESS_SCENE,
    WEAKNESS_PARAGRAPH,
    WEAKNESS_DIALOGUE,
    WEAKNESS_LEAD_IN,
    WEAKNESS_SENTENCE,
    WEAKNESS_WORD,
]


@st.composite
def units(draw: st.DrawFn, high: int) -> Units:
    count = draw(st.integers(1, 40))
    if draw(st.booleans()):
        # Units of one size with the same break between each: arrangements tie everywhere.
        words = [draw(st.integers(1, 3))] * count
        breakable = [False, *[True] * (count - 1)]
        strength = [int(Break.PARAGRAPH)] * count
        for chapter in draw(st.lists(st.integers(1, max(1, count - 1)), max_size=3)):
            strength[min(chapter, count - 1)] = int(Break.CHAPTER)
        return words, breakable, strength, [0.0, *[WEAKNESS_PARAGRAPH] * (count - 1)]
    size = st.one_of(
        st.integers(1, max(1, high // 6)),  # paragraphs
        st.integers(1, high),  # up to a whole part
        st.integers(high, 2 * high),  # too large for any part
        st.just(1),  # tiny
    )
    words = draw(st.lists(size, min_size=count, max_size=count))
    # Mostly breakable: a heading is followed by the one paragraph it heads.
    breakable = [False, *(draw(st.integers(0, 3)) > 0 for _ in range(count - 1))]
    kinds = st.sampled_from([*list(Break)[:-1], Break.CHAPTER, Break.CHAPTER])
    strength = [int(draw(kinds)) for _ in range(count)]
    weakness = [0.0, *(draw(st.sampled_from(WEAKNESSES)) for _ in range(count - 1))]
    return words, breakable, strength, weakness


# Target and tolerance with a spread (target × tolerance) that is a power of two: every part
# cost is then a binary fraction summed exactly.
EXACT = [(16, 0.25), (32, 0.5), (64, 0.25), (64, 0.5), (128, 0.25)]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EXACT).flatmap(lambda t: st.tuples(st.just(t), units(bounds(*t)[1]))))
def test_the_program_chooses_what_the_reference_does_ties_included(case):
    (target, tolerance), found = case
    low, high = bounds(target, tolerance)
    deviation = Deviation(target, tolerance, low, high)
    expected, _ = reference_choose(found, deviation)
    assert choose(*found, deviation) == expected


@settings(max_examples=150, deadline=None)
@given(
    st.integers(5, 300).flatmap(
        lambda target: st.tuples(
            st.just(target),
            st.sampled_from([0.2, 0.35, 0.5]),
            units(bounds(target, 0.5)[1]),
        )
    )
)
def test_the_program_finds_the_cheapest_arrangement_at_any_target(case):
    target, tolerance, found = case
    low, high = bounds(target, tolerance)
    deviation = Deviation(target, tolerance, low, high)
    _, cheapest = reference_choose(found, deviation)
    chosen = choose(*found, deviation)
    if cheapest < math.inf:
        assert arrangement(found, deviation, chosen) == pytest.approx(cheapest, rel=1e-9)


def test_the_reference_prefers_the_earliest_of_equal_starts():
    # Eleven one-word units in parts of about four, free to end anywhere: 3 + 4 + 4, 4 + 3 + 4
    # and 4 + 4 + 3 cost the same; for each end the earliest start wins, so 3 + 4 + 4.
    deviation = Deviation(4, 0.5, *bounds(4, 0.5))
    found: Units = ([1] * 11, [False, *[True] * 10], [int(Break.PARAGRAPH)] * 11, [0.0] * 11)
    starts, _ = reference_choose(found, deviation)
    assert starts == [3, 7]
    assert choose(*found, deviation) == starts
