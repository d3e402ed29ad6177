"""What every loader hands the library: the text, the metadata the file itself gives, and for
markup formats the structure it states."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.story import Paragraph


class BlockKind(StrEnum):
    CHAPTER = "chapter"  # a chapter heading
    MAJOR = "major"  # a book, volume or part heading, above chapters
    SECTION = "section"  # a heading inside a chapter: a letter, a diary entry, a sub-heading
    TEXT = "text"  # a paragraph whose line breaks are wrapping
    LINES = "lines"  # verse, a list, an address: its line breaks are kept
    SCENE = "scene"  # a scene break (its text is the marker to show, or empty)
    NOTE = "note"  # the author's notes, kept apart from the work's own text
    NOTE_HEADING = "note heading"  # says whose notes follow
    ASIDE = "aside"  # kept in the text but not posted (a contents list, a title page)


@dataclass(frozen=True, slots=True)
class Block:
    kind: BlockKind
    text: str
    # Emphasis as runs of the text (``bot.loaders.markup.Chunk.spans``); kept in paragraphs,
    # lines and notes, not in headings.
    spans: tuple[tuple[int, int, int], ...] = ()


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


_DIALOGUE_OPENERS = frozenset("\"“”„«»‹›「『'‘’—―")


def build(
    blocks: list[Block], *, notes: bool = True
) -> tuple[str, list[Paragraph], list[tuple[int, int, int]]]:
    """The story text (blocks joined by blank lines), its paragraphs and its emphasis (runs by
    offsets into the text), from blocks whose kind says what they are. A scene break shows in
    the text as ``* * *``; notes are left out when ``notes`` is false."""
    from bot.story import Break, Paragraph  # the story module imports nothing of ours

    pieces: list[str] = []
    paragraphs: list[Paragraph] = []
    emphasis: list[tuple[int, int, int]] = []
    position = 0
    pending = Break.PARAGRAPH
    previous: Paragraph | None = None
    for block in blocks:
        kind = block.kind
        if kind == BlockKind.ASIDE:
            continue
        if not notes and kind in (BlockKind.NOTE, BlockKind.NOTE_HEADING):
            continue
        raw = block.text
        text = raw.strip()
        if kind == BlockKind.SCENE:
            if previous is not None:
                pending = max(pending, Break.SCENE)
                text = text or "* * *"
            else:
                continue
        if not text:
            continue
        start = position + (2 if pieces else 0)
        pieces.append(text)
        position = start + len(text)
        if kind == BlockKind.SCENE:
            continue
        if kind == BlockKind.NOTE_HEADING:
            kind = BlockKind.SECTION
        heading = kind in (BlockKind.CHAPTER, BlockKind.MAJOR, BlockKind.SECTION)
        if block.spans and not heading:
            lead = len(raw) - len(raw.lstrip())
            for a, b, style in block.spans:
                a, b = max(a - lead, 0), min(b - lead, len(text))
                if a < b:
                    emphasis.append((start + a, start + b, style))
        if kind in (BlockKind.CHAPTER, BlockKind.MAJOR):
            strength = Break.CHAPTER
        elif previous is None or previous.heading:
            strength = Break.PARAGRAPH if kind != BlockKind.SECTION else pending
        else:
            strength = max(pending, Break.SCENE if kind == BlockKind.SECTION else Break.PARAGRAPH)
        dialogue = not heading and text[0] in _DIALOGUE_OPENERS
        previous = Paragraph(
            start,
            position,
            len(text.split()),
            strength,
            heading,
            dialogue,
            kind == BlockKind.LINES and "\n" in text,
            not heading and text.endswith(":"),
            kind == BlockKind.MAJOR,
        )
        paragraphs.append(previous)
        pending = Break.PARAGRAPH
    text = "\n\n".join(pieces)
    return (text + "\n" if text else ""), paragraphs, emphasis
