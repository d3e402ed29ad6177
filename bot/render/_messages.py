"""Text cut into messages that fit Discord's limit.

Text is cut at paragraph ends, then line breaks, then sentence ends, then between words; only a
single "word" longer than a message is cut inside. What lies between two messages is always the
white space they were cut at, so ``unescape_text`` of the messages, read in order, gives the text
back. A run of emphasis cut by a message split is closed at the end of one message and opened
again in the next.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Sequence

from bot.limits import MESSAGE_LIMIT
from bot.render._markdown import (
    Emphasis,
    emphasize_text,
    emphasized_size,
    escape_text,
    runs_within,
)

# The white space messages are cut at, and that a message never starts or ends with.
SPACE = " \t\n"
_PARAGRAPH_END = re.compile(r"\n[ \t]*\n")
_LINE_END = re.compile(r"\n")
# Terminal punctuation with any closing quotes, brackets or emphasis, before white space; the
# look-behind starts a run only at its first character, and the possessive quantifier keeps the
# scan linear on runs like "!!!!".
_SENTENCE_END = re.compile(r"(?<![.!?…])[.!?…][.!?…\"'”’)\]»*_~]*+(?=[ \t\n])")
_WORD_END = re.compile(r"(?<![ \t\n])[ \t\n]")

_JOINERS = frozenset("\u200d\u034f")
_MODIFIERS = re.compile(r"[\ufe00-\ufe0f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")

# Room for a run's markers around its first character, and then some text.
_MIN_EMPHASIS_LIMIT = 16


def split_text(
    text: str, *, limit: int = MESSAGE_LIMIT, emphasis: Emphasis = ()
) -> tuple[str, ...]:
    """``text`` escaped and cut into messages of at most ``limit`` characters (escapes and
    markers included), none empty. Cuts go at paragraph ends, then line breaks, then sentence
    ends, then between words; a word longer than a message is cut inside, never inside an
    escape or between a character and its combining marks. A run of ``emphasis`` cut by a
    message split is closed and opened again."""
    if limit < 2:
        raise ValueError(f"limit must be at least 2, not {limit}")
    if emphasis:
        if limit < _MIN_EMPHASIS_LIMIT:
            raise ValueError(f"limit must be at least {_MIN_EMPHASIS_LIMIT} with emphasis")
        return _split_emphasized(text, limit, list(emphasis))
    levels = _levels(text)
    messages: list[str] = []
    position = _skip_space(text, 0)
    while position < len(text):
        end = _cut(text, position, limit, levels)
        messages.append(escape_text(text[position:end]))
        position = _skip_space(text, end)
    return tuple(messages)


def _split_emphasized(
    text: str, limit: int, emphasis: list[tuple[int, int, int]]
) -> tuple[str, ...]:
    def measure(start: int, end: int) -> int:
        return emphasized_size(text[start:end], runs_within(emphasis, start, end))

    levels = _levels(text)
    messages: list[str] = []
    position = _skip_space(text, 0)
    while position < len(text):
        end = _cut(text, position, limit, levels, measure)
        messages.append(emphasize_text(text[position:end], runs_within(emphasis, position, end)))
        position = _skip_space(text, end)
    return tuple(messages)


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in SPACE:
        position += 1
    return position


def _levels(text: str) -> list[list[int]]:
    return [
        [m.start() for m in _PARAGRAPH_END.finditer(text)] + [len(text)],
        [m.start() for m in _LINE_END.finditer(text)],
        [m.end() for m in _SENTENCE_END.finditer(text)],
        [m.start() for m in _WORD_END.finditer(text)],
    ]


def _escaped_size(text: str, start: int, end: int) -> int:
    return len(escape_text(text[start:end]))


def _cut(
    text: str,
    start: int,
    limit: int,
    levels: Sequence[list[int]],
    measure: Callable[[int, int], int] | None = None,
) -> int:
    """Where the message that begins at ``start`` ends: the last cut of the strongest kind
    that fits, else a cut inside the word. ``measure`` gives a message's size (by default the
    escaped text's length)."""
    size = measure or (lambda a, b: _escaped_size(text, a, b))

    def fits(end: int) -> bool:
        return size(start, end) <= limit

    # Escaping only adds characters, so no cut further than ``limit`` raw characters can fit.
    reach = start + limit
    for cuts in levels:
        candidates = cuts[bisect_right(cuts, start) : bisect_right(cuts, reach)]
        best = _last_fitting(candidates, fits)
        if best is not None:
            return _trim(text, start, best)
    return _hard_cut(text, start, limit, size)


def _last_fitting(candidates: list[int], fits: Callable[[int], bool]) -> int | None:
    # The escaped length grows with the cut, so a binary search finds the last one that fits;
    # only a candidate that was tried and fits is ever returned.
    found = None
    low, high = 0, len(candidates) - 1
    while low <= high:
        middle = (low + high) // 2
        if fits(candidates[middle]):
            found = candidates[middle]
            low = middle + 1
        else:
            high = middle - 1
    return found


def _trim(text: str, start: int, end: int) -> int:
    while end > start + 1 and text[end - 1] in SPACE:
        end -= 1
    return end


def _hard_cut(text: str, start: int, limit: int, measure: Callable[[int, int], int]) -> int:
    size = min(limit, len(text) - start)
    while size > 1:
        excess = measure(start, start + size) - limit
        if excess <= 0:
            break
        # Each raw character escapes to at most two, so this never removes too much at once;
        # markers (at most six a run) may make it remove a few characters more than needed.
        size = max(1, size - max(1, (excess + 1) // 2))
    while size > 1 and _joined(text, start + size):
        size -= 1
    return start + size


def _joined(text: str, position: int) -> bool:
    """Whether a cut before ``position`` would split what a reader sees as one character."""
    if position >= len(text):
        return False
    after, before = text[position], text[position - 1]
    return (
        unicodedata.combining(after) != 0
        or unicodedata.category(after) in ("Mn", "Me", "Mc")
        or after in _JOINERS
        or before in _JOINERS
        or _MODIFIERS.fullmatch(after) is not None
    )
