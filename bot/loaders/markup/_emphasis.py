"""Italics and bold from the page: the style an element gives, and the runs of a block's text
it covers.

Runs are in ascending order, apart, each within a line, starting and ending on a visible
character, so that each can be shown as Discord markdown as it stands.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Sequence

from bot.loaders.markup._whitespace import normalised

# Emphasis, as bits of a span's style: what a reader sees in italics, in bold, or both.
ITALIC = 1
BOLD = 2
_EMPHASIS = {"em": ITALIC, "i": ITALIC, "cite": ITALIC, "strong": BOLD, "b": BOLD}
_STYLE_ITALIC = re.compile(r"font-style\s*:\s*(?:italic|oblique)", re.IGNORECASE)
_STYLE_BOLD = re.compile(r"font-weight\s*:\s*(?:bold|bolder|[6-9]00)\b", re.IGNORECASE)

_VISIBLE = re.compile(r"\S+")
# (start, end, style): a run of emphasised text, by offsets into a block's text.
Span = tuple[int, int, int]


def emphasis_of(tag: str, attrs: list[tuple[str, str | None]]) -> int:
    """The style an element gives its content: by its tag, or by its inline style."""
    style = _EMPHASIS.get(tag, 0)
    for name, value in attrs:
        if name == "style" and value:
            if _STYLE_ITALIC.search(value):
                style |= ITALIC
            if _STYLE_BOLD.search(value):
                style |= BOLD
    return style


def emphasised_block(parts: Sequence[str | int], depth: list[int]) -> tuple[str, list[Span]]:
    """A block's text and its runs of emphasis, from its pieces of text and, between them, where
    emphasis opens (a style) and closes (minus the style). ``depth`` holds how many italic and
    bold elements are open where the block starts, and is left as they are where it ends.

    The text is normalised exactly as without emphasis: white space only goes, so the n-th
    visible character of the page's text is the n-th of the block's."""
    pieces: list[str] = []
    events: list[tuple[int, int]] = []  # (visible characters before, style or -style)
    visible = 0
    for part in parts:
        if isinstance(part, int):
            events.append((visible, part))
        else:
            pieces.append(part)
            visible += len("".join(part.split()))
    text = normalised("".join(pieces))
    if not text:
        for _, event in events:
            index = abs(event) - 1
            depth[index] = max(0, depth[index] + (1 if event > 0 else -1))
        return text, []
    starts = [0, 0]
    words = [m.span() for m in _VISIBLE.finditer(text)]
    before = list(itertools.accumulate((e - s for s, e in words), initial=0))

    def at(count: int) -> int:
        # Where the visible character with ``count`` others before it stands.
        if count >= before[-1]:
            return len(text)
        index = bisect.bisect_right(before, count) - 1
        return words[index][0] + count - before[index]

    def edge(count: int, closing: bool) -> int:
        # An opening falls on the next visible character, a closing after the last.
        return at(count - 1) + 1 if closing and count else at(count)

    ranges: list[Span] = []
    for count, event in events:
        bit = abs(event)
        index = bit - 1
        if event > 0:
            if depth[index] == 0:
                starts[index] = edge(count, False)
            depth[index] += 1
        elif depth[index] > 0:
            depth[index] -= 1
            if depth[index] == 0:
                ranges.append((starts[index], edge(count, True), bit))
    for index, bit in ((0, ITALIC), (1, BOLD)):
        if depth[index]:
            ranges.append((starts[index], len(text), bit))
    return text, _runs(text, ranges)


def _runs(text: str, ranges: list[Span]) -> list[Span]:
    """Italic and bold ranges as runs of one style each: cut at line breaks, trimmed to visible
    characters, and runs that touch merged (Discord could not tell ``*a***b**`` apart)."""
    if not ranges:
        return []
    changes: dict[int, list[int]] = {}
    for start, end, bit in ranges:
        changes.setdefault(start, []).append(bit)
        changes.setdefault(end, []).append(-bit)
    bounds = sorted(changes)
    open_bits = {ITALIC: 0, BOLD: 0}
    runs: list[Span] = []
    for start, end in itertools.pairwise(bounds):
        for change in changes[start]:
            open_bits[abs(change)] += 1 if change > 0 else -1
        style = (ITALIC if open_bits[ITALIC] else 0) | (BOLD if open_bits[BOLD] else 0)
        if not style:
            continue
        line_start = start
        while line_start < end:
            newline = text.find("\n", line_start, end)
            line_end = end if newline < 0 else newline
            a, b = line_start, line_end
            while a < b and text[a].isspace():
                a += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            if a < b:
                if runs and runs[-1][1] == a:
                    runs[-1] = (runs[-1][0], b, runs[-1][2] | style)
                else:
                    runs.append((a, b, style))
            line_start = line_end + 1
    return runs
