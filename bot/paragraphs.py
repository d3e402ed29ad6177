"""A paragraph of a loaded story: where it is in the text, its words, the strength of the break
before it and what kind of paragraph it is; and a story's paragraphs packed into arrays, so that
a long story holds no object per paragraph until one is asked for."""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import overload


class Break(IntEnum):
    """Strength of a boundary; a larger value is a better place to end a part."""

    WORD = 0
    SENTENCE = 1
    PARAGRAPH = 2
    SCENE = 3
    CHAPTER = 4
    END = 5


@dataclass(frozen=True, slots=True)
class Paragraph:
    start: int
    end: int
    words: int
    break_before: Break
    heading: bool = False
    dialogue: bool = False
    # The author's line breaks are meant (verse, a letter's address, a list): keep them.
    lines: bool = False
    # Ends by leading in to what follows ("... and says:"), a weak place to end a part.
    lead_in: bool = False
    # A heading that opens a book, volume or act: chapters below it are named under it.
    major: bool = False


# Flags of a paragraph in a ``ParagraphTable``: the break strength in the low three bits.
BREAK_BITS = 7
HEADING, DIALOGUE, LINES, LEAD_IN, MAJOR = 8, 16, 32, 64, 128


class ParagraphTable(Sequence[Paragraph]):
    """Paragraphs packed in arrays (about 25 bytes each instead of a ``Paragraph`` object's
    hundred and more); a ``Paragraph`` is made when one is asked for."""

    __slots__ = ("ends", "flags", "starts", "total_words", "words")

    def __init__(
        self, starts: array[int], ends: array[int], words: array[int], flags: bytes
    ) -> None:
        if not len(starts) == len(ends) == len(words) == len(flags):
            raise ValueError("paragraph arrays of different lengths")
        self.starts = starts
        self.ends = ends
        self.words = words
        self.flags = flags
        self.total_words = sum(words)

    @classmethod
    def of(cls, paragraphs: Sequence[Paragraph]) -> ParagraphTable:
        if isinstance(paragraphs, ParagraphTable):
            return paragraphs
        flags = bytes(
            int(p.break_before)
            | (HEADING if p.heading else 0)
            | (DIALOGUE if p.dialogue else 0)
            | (LINES if p.lines else 0)
            | (LEAD_IN if p.lead_in else 0)
            | (MAJOR if p.major else 0)
            for p in paragraphs
        )
        return cls(
            array("q", [p.start for p in paragraphs]),
            array("q", [p.end for p in paragraphs]),
            array("q", [p.words for p in paragraphs]),
            flags,
        )

    def __len__(self) -> int:
        return len(self.flags)

    @overload
    def __getitem__(self, index: int) -> Paragraph: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Paragraph, ...]: ...

    def __getitem__(self, index: int | slice) -> Paragraph | tuple[Paragraph, ...]:
        if isinstance(index, slice):
            return tuple(self._make(i) for i in range(*index.indices(len(self))))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("paragraph index out of range")
        return self._make(index)

    def __iter__(self) -> Iterator[Paragraph]:
        return (self._make(i) for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ParagraphTable):
            return (self.starts, self.ends, self.words, self.flags) == (
                other.starts,
                other.ends,
                other.words,
                other.flags,
            )
        if isinstance(other, Sequence):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        # As the tuple of its paragraphs, which it equals.
        return hash(tuple(self))

    def _make(self, i: int) -> Paragraph:
        flags = self.flags[i]
        return Paragraph(
            self.starts[i],
            self.ends[i],
            self.words[i],
            Break(flags & BREAK_BITS),
            bool(flags & HEADING),
            bool(flags & DIALOGUE),
            bool(flags & LINES),
            bool(flags & LEAD_IN),
            bool(flags & MAJOR),
        )

    def count_starting_by(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)
