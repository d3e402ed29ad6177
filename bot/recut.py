"""A channel's own parts after its story was edited under it.

A channel that has received parts 1..k of an earlier version keeps those numbers; the rest of the
new text, from the channel's reading point on, is cut anew into parts k+1, k+2, ... A channel
whose story was never edited while it followed it simply has the serial's parts.

``Cuts`` records this: where the parts the channel received begin in the current text, and
where the rest begins. Everything here is pure; the splitter does the cutting.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from itertools import pairwise

from bot.splitter import split
from bot.story import Break, Paragraph, Part, Serial, Story

__all__ = ["Cuts", "carried", "channel_serial", "cut_from"]

_WORD = re.compile(r"\S+")

# (start of each part received, then the start of the rest); ``None`` for the serial's own parts.
Cuts = tuple[int, ...]


def carried(starts: Sequence[int], place: int, received: int) -> Cuts:
    """The cuts of a channel that received ``received`` parts, whose known starts in the new
    text are ``starts``, and whose reading continues at ``place``: no start after the place,
    none before the one ahead of it."""
    kept = [min(s, place) for s in starts[:received]]
    kept += [place] * (received - len(kept))
    for i in range(1, len(kept)):
        kept[i] = max(kept[i], kept[i - 1])
    return (*kept, place)


def channel_serial(
    serial: Serial, cuts: Cuts | None, words_per_part: int, tolerance: float
) -> Serial:
    """The serial as this channel numbers it: its received parts, then the rest cut anew."""
    if not cuts:
        return serial
    target = serial.story.meta.words_per_part or words_per_part
    return _channel_serial(serial, cuts, target, tolerance)


def _channel_serial(serial: Serial, cuts: Cuts, target: int, tolerance: float) -> Serial:
    key = (id(serial), serial.story.revision, cuts, target, tolerance)
    entry = _CACHE.get(key)
    if entry is not None and entry[0] is serial:
        return entry[1]
    built = _build(serial, cuts, target, tolerance)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = (serial, built)
    return built


# Re-cutting a long tail costs a split: keep the few channel views in use. The serial is kept
# with its view so that an id reused by another object cannot match.
_CACHE: dict[tuple[int, str, Cuts, int, float], tuple[Serial, Serial]] = {}
_CACHE_SIZE = 64


def _build(serial: Serial, cuts: Cuts, target: int, tolerance: float) -> Serial:
    story = serial.story
    end = story.length
    bounds = [min(max(0, b), end) for b in cuts]
    for i in range(1, len(bounds)):
        bounds[i] = max(bounds[i], bounds[i - 1])
    received = tuple(
        _whole(story, first, last, number)
        for number, (first, last) in enumerate(pairwise(bounds), start=1)
    )
    rest = cut_from(story, bounds[-1], len(received) + 1, target, tolerance)
    return dataclasses.replace(serial, parts=received + rest)


def cut_from(
    story: Story, start: int, first_number: int, words_per_part: int, tolerance: float
) -> tuple[Part, ...]:
    """The text from offset ``start`` to the end cut into parts numbered from ``first_number``;
    nothing when no words are left."""
    piece = _slice(story, start, story.length)
    if not piece.paragraphs:
        return ()
    parts = [p.shifted(start, first_number - 1) for p in split(piece, words_per_part, tolerance)]
    if parts[0].heading is None:
        # The rest may begin inside a chapter whose heading lies before it.
        parts[0] = dataclasses.replace(parts[0], heading=_chapter_at(story, start))
    return tuple(parts)


def _whole(story: Story, start: int, end: int, number: int) -> Part:
    """The text between two offsets as one part (a part the channel received)."""
    piece = _slice(story, start, end)
    if not piece.paragraphs:
        return Part(number, start, end, (), 0, Break.PARAGRAPH)
    words = sum(p.words for p in piece.paragraphs)
    # With the whole span as the target, the splitter keeps it in one part; it still lays out
    # the paragraphs (scene marks, soft line breaks) as for any part.
    parts = split(piece, max(1, words), 0.5)
    return Part(
        index=number,
        start=start,
        end=end,
        paragraphs=tuple(text for part in parts for text in part.paragraphs),
        words=words,
        ends_with=Break.PARAGRAPH,
        heading=parts[0].heading or _chapter_at(story, start),
    )


def _chapter_at(story: Story, offset: int) -> str | None:
    """The title of the chapter in force at ``offset``."""
    paragraphs = story.paragraphs
    for index in range(_count_before(paragraphs, offset) - 1, -1, -1):
        paragraph = paragraphs[index]
        if paragraph.heading and paragraph.break_before == Break.CHAPTER:
            return " ".join(story.paragraph_text(paragraph).lstrip("#").split())
    return None


def _count_before(paragraphs: Sequence[Paragraph], offset: int) -> int:
    lo, hi = 0, len(paragraphs)
    while lo < hi:
        mid = (lo + hi) // 2
        if paragraphs[mid].start < offset:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _slice(story: Story, start: int, end: int) -> Story:
    """The story's text between two offsets as a story of its own (offsets from 0)."""
    paragraphs: list[Paragraph] = []
    span = story.span(start, end)
    for paragraph in _overlapping(story.paragraphs, start, end):
        first, last = max(paragraph.start, start), min(paragraph.end, end)
        whole = (first, last) == (paragraph.start, paragraph.end)
        text = span[first - start : last - start]
        if not whole:
            # Only part of the paragraph: trim to its words, which a part starts and ends with.
            words = list(_WORD.finditer(text))
            if not words:
                continue
            first, last = first + words[0].start(), first + words[-1].end()
        paragraphs.append(
            dataclasses.replace(
                paragraph,
                start=first - start,
                end=last - start,
                words=paragraph.words if whole else len(words),
                heading=paragraph.heading and whole,
            )
        )
    return story.replace(text=story.window(start, end), paragraphs=tuple(paragraphs))


def _overlapping(paragraphs: Sequence[Paragraph], start: int, end: int) -> list[Paragraph]:
    lo, hi = 0, len(paragraphs)
    while lo < hi:  # first paragraph ending after ``start``
        mid = (lo + hi) // 2
        if paragraphs[mid].end <= start:
            lo = mid + 1
        else:
            hi = mid
    found = []
    for index in range(lo, len(paragraphs)):
        paragraph = paragraphs[index]
        if paragraph.start >= end:
            break
        found.append(paragraph)
    return found
