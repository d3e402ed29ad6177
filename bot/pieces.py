"""The readable text of a part: its paragraphs as readers see them (wrapping undone, verse kept
line by line), the scene breaks inside it marked, and the chapter a reader is in."""

from __future__ import annotations

import re

from bot.paragraphs import BREAK_BITS, HEADING, MAJOR, Break, ParagraphTable
from bot.story import Story

# Shown between two scenes inside one part when the author marked the scene break only with
# extra blank lines, which a chat message would not keep.
SCENE_MARK = "* * *"
# A chapter heading this short is a bare number ("XI.", "CHAPTER 3"): its title line is added.
_BARE_NUMBER_CHARS = 12
# Spaces of indentation kept at most in verse, relative to its least indented line.
_MAX_INDENT = 8
# The flags of a chapter heading, whatever its other bits (``ParagraphTable.flags``).
_CHAPTER_HEADING = re.compile(
    b"[%s]"
    % b"".join(
        re.escape(bytes([flags]))
        for flags in range(256)
        if flags & (HEADING | BREAK_BITS) == HEADING | Break.CHAPTER
    )
)


def readable_pieces(story: Story, start: int, end: int) -> tuple[str, ...]:
    """The readable text of the span: paragraph texts (or the part of a cut paragraph that falls
    inside), with the scene breaks inside the span marked. Reads only the span's paragraphs (and
    the gap before the first, where its line starts) from the story's text."""
    paragraphs = story.paragraphs
    first = max(0, story.paragraph_index(start) - 1)
    count = len(paragraphs)
    while first < count and paragraphs[first].end <= start:
        first += 1
    last = first
    while last < count and paragraphs[last].start < end:
        last += 1
    if first == last:
        return ()
    # The window read: from the end of the paragraph before the first (its line starts after)
    # to the end of the last paragraph read.
    shift = paragraphs[first - 1].end if first > 0 else 0
    text = story.span(shift, paragraphs[last - 1].end)
    start -= shift
    end -= shift
    pieces: list[str] = []
    previous_end = -1
    for index in range(first, last):
        paragraph = paragraphs[index]
        p_start = paragraph.start - shift
        p_end = paragraph.end - shift
        if pieces and paragraph.break_before == Break.SCENE and previous_end >= 0:
            marker = text[previous_end:p_start].strip()
            pieces.append(marker if marker else SCENE_MARK)
        whole = start <= p_start and p_end <= end
        if whole and paragraph.lines:
            piece = _kept_lines(text, p_start, p_end)
        elif whole:
            piece = text[p_start:p_end]  # already without edge spaces
        else:
            piece = text[max(p_start, start) : min(p_end, end)].strip()
        if story.soft_wraps and "\n" in piece and not paragraph.lines:
            if "\n " in piece:
                piece = " ".join(line.strip() for line in piece.split("\n"))
            else:
                piece = piece.replace("\n", " ")
        if piece:
            pieces.append(piece)
        previous_end = p_end
    return tuple(pieces)


def _kept_lines(text: str, start: int, end: int) -> str:
    """A paragraph whose line breaks are kept, its indentation made relative to its least
    indented line and capped, so that a refrain set far to the right still fits a phone."""
    line_start = text.rfind("\n", 0, start) + 1
    lines = text[line_start:end].split("\n")
    common = min(len(line) - len(line.lstrip(" ")) for line in lines if line.strip())
    kept = []
    for line in lines:
        indent = len(line) - len(line.lstrip(" ")) - common
        kept.append(" " * min(max(indent, 0), _MAX_INDENT) + line.strip())
    return "\n".join(kept)


def chapters(story: Story) -> tuple[list[int], list[str]]:
    """Where each chapter starts and how a reader finds it in a printed copy: the heading, a
    bare number with its title ("I. The Eve of the War."), under the book it belongs to."""
    starts: list[int] = []
    titles: list[str] = []
    table = ParagraphTable.of(story.paragraphs)
    flags = table.flags
    count = len(flags)
    major = ""
    # The flags say which paragraphs are chapter headings, read as bytes by a pattern.
    for found in _CHAPTER_HEADING.finditer(flags):
        index = found.start()
        start, end = table.starts[index], table.ends[index]
        title = _heading_text(story.span(start, end))
        if (
            len(title) <= _BARE_NUMBER_CHARS
            and index + 1 < count
            and flags[index + 1] & HEADING
            and flags[index + 1] & BREAK_BITS < Break.SCENE
        ):
            following = _heading_text(story.span(table.starts[index + 1], table.ends[index + 1]))
            title = f"{title} {following}"
        if flags[index] & MAJOR:
            major = _heading_text(story.span(start, end).split("\n", 1)[0])
        elif major:
            title = f"{major} · {title}"
        starts.append(start)
        titles.append(title)
    return starts, titles


def _heading_text(heading: str) -> str:
    return " ".join(heading.lstrip("#").split())
