"""What a story is once loaded: normalised text, paragraphs with the strength of the break before
each, and the installments (parts) the splitter cuts it into.

The core knows nothing of Discord. Offsets are positions in ``Story.text``, the normalised text, so
progress can be kept by text position and parts tile the text exactly.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from bot.paragraphs import (
    BREAK_BITS,
    DIALOGUE,
    HEADING,
    LEAD_IN,
    LINES,
    MAJOR,
    Break,
    Paragraph,
    ParagraphTable,
)

# Paragraphs are defined in ``bot.paragraphs``; most code finds them here, beside the story.
__all__ = [
    "BREAK_BITS",
    "DIALOGUE",
    "HEADING",
    "LEAD_IN",
    "LINES",
    "MAJOR",
    "WORDS_PER_MINUTE",
    "Aside",
    "Break",
    "Paragraph",
    "ParagraphTable",
    "Part",
    "PieceReader",
    "Rating",
    "ReadPart",
    "Serial",
    "StoredStory",
    "Story",
    "StoryError",
    "StoryMeta",
    "TextSource",
]

WORDS_PER_MINUTE = 230


class StoryError(Exception):
    """A story file that cannot be used; ``str()`` names the file and the reason."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path.name}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple[type[StoryError], tuple[Path, str]]:
        return (type(self), (self.path, self.reason))


class Rating(StrEnum):
    GENERAL = "general"
    TEEN = "teen"
    MATURE = "mature"
    EXPLICIT = "explicit"

    @property
    def age_restricted(self) -> bool:
        """Discord's policy: such stories may only be posted in age-restricted channels."""
        return self in (Rating.MATURE, Rating.EXPLICIT)


@dataclass(frozen=True, slots=True)
class StoryMeta:
    title: str
    author: str | None = None
    rating: Rating = Rating.GENERAL
    content_notes: tuple[str, ...] = ()
    summary: str | None = None
    words_per_part: int | None = None
    language: str | None = None
    # What else the file says about the work, in its order: ("Fandom", "Sherlock Holmes"), ...
    details: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Aside:
    """Text that stays in ``Story.text`` (parts still tile it) but is not posted: a contents list,
    a title page, a transcriber's note, a publisher's advertisement."""

    kind: str
    start: int
    end: int


class TextSource(Protocol):
    """A story's text kept outside Python objects (``bot.text_store``): read by span."""

    def __len__(self) -> int: ...

    def read(self, start: int, end: int) -> str:
        """The characters ``start`` to ``end`` (within the text)."""
        ...


@dataclass(frozen=True, slots=True)
class Story:
    """A loaded story, its text held as a ``str``. A library keeps its stories as
    ``StoredStory``, whose text stays in a ``TextSource``; code that needs only some of the
    text asks for a ``span`` and works with either."""

    slug: str
    path: Path
    meta: StoryMeta
    text: str
    paragraphs: Sequence[Paragraph]
    revision: str
    # True when a line break inside a paragraph is only wrapping (hard-wrapped plain text, or
    # Markdown), so readers should see it as a space.
    soft_wraps: bool = False
    asides: tuple[Aside, ...] = ()
    # How the file was read, for ``check``: "UTF-8", "Windows-1252", "EPUB", "AO3 HTML"...
    source: str = "UTF-8"
    # What a reader would notice about how the file was read: ``check`` shows them as warnings.
    warnings: tuple[str, ...] = ()
    # Italics and bold the file marks (HTML, EPUB): (start, end, style) runs of ``text`` in
    # ascending order, apart, each within a line; style 1 italic, 2 bold, 3 both. Empty for
    # plain text, whose asterisks are the author's and shown as written.
    emphasis: tuple[tuple[int, int, int], ...] = ()

    def replace(self, **changes: Any) -> Story:
        """A copy with the named fields changed (``text`` may be a ``TextSource``)."""
        values = {f.name: getattr(self, f.name) for f in fields(Story) if f.name != "text"}
        values["text"] = self._text_or_source()
        values.update(changes)
        text = values["text"]
        return Story(**values) if isinstance(text, str) else StoredStory(**values)

    def _text_or_source(self) -> str | TextSource:
        return self.text

    @property
    def stored(self) -> bool:
        """Whether the text is kept outside Python objects."""
        return False

    @property
    def length(self) -> int:
        """Characters in the text."""
        return len(self.text)

    def span(self, start: int, end: int) -> str:
        """``text[start:end]``, reading only that much of a stored text."""
        return self.text[start:end]

    def window(self, start: int, end: int) -> str | TextSource:
        """The text between two offsets as the text of another story: a view of the stored text
        when the text is stored, so that it stays off the heap."""
        return self.text[start:end]

    @property
    def title(self) -> str:
        return self.meta.title

    @property
    def words(self) -> int:
        paragraphs = self.paragraphs
        if isinstance(paragraphs, ParagraphTable):
            return paragraphs.total_words  # without making a Paragraph for each
        return sum(p.words for p in paragraphs)

    def paragraph_text(self, paragraph: Paragraph) -> str:
        return self.span(paragraph.start, paragraph.end)

    def paragraph_index(self, offset: int) -> int:
        """The number of paragraphs that start before or at ``offset``."""
        paragraphs = self.paragraphs
        if isinstance(paragraphs, ParagraphTable):
            return paragraphs.count_starting_by(offset)
        return bisect.bisect_right(paragraphs, offset, key=_start_of)


class StoredStory(Story):
    """A story whose text is read from a ``TextSource`` (``bot.text_store``) span by span, so
    that a library of many stories holds none of their text. ``text`` still reads it whole."""

    __slots__ = ("_source",)
    _source: str | TextSource

    @property  # type: ignore[override]
    def text(self) -> str:
        source = self._source
        return source if isinstance(source, str) else source.read(0, len(source))

    @text.setter
    def text(self, value: str | TextSource) -> None:
        # Only the dataclass's ``__init__`` sets it (``object.__setattr__``): the story is frozen.
        object.__setattr__(self, "_source", value)

    def _text_or_source(self) -> str | TextSource:
        return self._source

    @property
    def stored(self) -> bool:
        return not isinstance(self._source, str)

    @property
    def length(self) -> int:
        return len(self._source)

    def span(self, start: int, end: int) -> str:
        source = self._source
        if isinstance(source, str):
            return source[start:end]
        start, end, _ = slice(start, end).indices(len(source))
        return source.read(start, end) if start < end else ""

    def window(self, start: int, end: int) -> str | TextSource:
        source = self._source
        if isinstance(source, str):
            return source[start:end]
        start, end, _ = slice(start, end).indices(len(source))
        return _Window(source, start, max(start, end))

    def __repr__(self) -> str:
        return (
            f"StoredStory(slug={self.slug!r}, path={self.path!r}, "
            f"revision={self.revision!r}, length={self.length})"
        )

    __hash__ = object.__hash__


class _Window:
    """Part of a stored text, read through it."""

    __slots__ = ("_end", "_source", "_start")

    def __init__(self, source: TextSource, start: int, end: int) -> None:
        self._source = source
        self._start = start
        self._end = end

    def __len__(self) -> int:
        return self._end - self._start

    def read(self, start: int, end: int) -> str:
        return self._source.read(self._start + start, self._start + end)


def _start_of(paragraph: Paragraph) -> int:
    return paragraph.start


# Reads the readable pieces of a part's span (``bot.pieces``); a part made by the splitter keeps
# one instead of the text, so only the text of a part being read is ever on the heap.
PieceReader = Callable[[int, int], tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Part:
    """One installment. ``start``/``end`` tile ``Story.text``: joining every part's span gives the
    whole normalised text back. ``paragraphs`` are the readable pieces (a giant paragraph may be
    cut at a sentence or word boundary, then its pieces appear in two parts). The splitter makes
    ``ReadPart``s, which read their pieces from the story's text when asked."""

    index: int
    start: int
    end: int
    paragraphs: tuple[str, ...]
    words: int
    ends_with: Break
    heading: str | None = None

    @property
    def minutes(self) -> int:
        return max(1, round(self.words / WORDS_PER_MINUTE))

    def _pieces_or_reader(self) -> tuple[str, ...] | PieceReader:
        return self.paragraphs

    def shifted(self, offset: int, numbers: int) -> Part:
        """The part of a story cut from ``offset`` of a longer text, placed in the longer text
        and numbered after ``numbers`` parts."""
        pieces = self._pieces_or_reader()
        if not isinstance(pieces, tuple):
            inner = pieces

            def pieces(start: int, end: int) -> tuple[str, ...]:
                return inner(start - offset, end - offset)

        made = ReadPart if callable(pieces) else Part
        return made(
            self.index + numbers,
            self.start + offset,
            self.end + offset,
            pieces,  # type: ignore[arg-type]
            self.words,
            self.ends_with,
            self.heading,
        )


class ReadPart(Part):
    """A part whose ``paragraphs`` are read from its story's text when asked for (given to the
    constructor as a ``PieceReader``), so that only the text being read is ever on the heap."""

    __slots__ = ("_pieces",)
    _pieces: tuple[str, ...] | PieceReader

    @property  # type: ignore[override]
    def paragraphs(self) -> tuple[str, ...]:
        pieces = self._pieces
        return pieces if isinstance(pieces, tuple) else pieces(self.start, self.end)

    @paragraphs.setter
    def paragraphs(self, value: tuple[str, ...] | PieceReader) -> None:
        # Only the dataclass's ``__init__`` sets it (``object.__setattr__``): the part is frozen.
        object.__setattr__(self, "_pieces", value)

    def _pieces_or_reader(self) -> tuple[str, ...] | PieceReader:
        return self._pieces

    def __repr__(self) -> str:
        return (
            f"ReadPart(index={self.index}, start={self.start}, end={self.end}, "
            f"words={self.words}, ends_with={self.ends_with!r}, heading={self.heading!r})"
        )


@dataclass(frozen=True, slots=True)
class Serial:
    """A story together with its installments: what a channel subscribes to."""

    story: Story
    parts: tuple[Part, ...]

    @property
    def slug(self) -> str:
        return self.story.slug

    def part(self, index: int) -> Part:
        """``index`` is 1-based, as readers count."""
        return self.parts[index - 1]

    def part_at(self, offset: int) -> Part:
        """The part containing text position ``offset`` (used to keep progress when a story is
        edited and its parts change)."""
        for part in self.parts:
            if offset < part.end:
                return part
        return self.parts[-1]
