"""What every loader hands the library: the text, the metadata the file itself gives, and for
markup formats the structure it states."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class BlockKind(StrEnum):
    CHAPTER = "chapter"  # a chapter heading
    MAJOR = "major"  # a book, volume or part heading, above chapters
    SECTION = "section"  # a heading inside a chapter: a letter, a diary entry, a sub-heading
    TEXT = "text"  # a paragraph whose line breaks are wrapping
    LINES = "lines"  # verse, a list, an address: its line breaks are kept
    SCENE = "scene"  # a scene break (its text is the marker to show, or empty)
    NOTE = "note"  # the author's notes, kept apart from the work's own text
    ASIDE = "aside"  # kept in the text but not posted (a contents list, a title page)


@dataclass(frozen=True, slots=True)
class Block:
    kind: BlockKind
    text: str


@dataclass(slots=True)
class Document:
    """``text`` is raw for plain text (normalised later) and ``None`` for markup, whose text is
    built from ``blocks``. ``fields`` are metadata fields as the front matter names them, found in
    the file itself; front matter and sidecars win over them."""

    text: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    blocks: list[Block] | None = None
    source: str = "UTF-8"
    warnings: list[str] = field(default_factory=list)
    details: list[tuple[str, str]] = field(default_factory=list)
