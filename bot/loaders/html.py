"""HTML stories: any page's text with its paragraphs and headings, and Archive of Our Own
downloads, whose preface (rating, warnings, fandom, summary...) becomes metadata and whose
chapter headings, notes and end notes are kept apart from the work's own text."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.loaders.document import Block, BlockKind
from bot.loaders.markup import Chunk

_HEADING = re.compile(r"h([1-6])")
_BULLET = "• "
_MARKER = re.compile(r"[\s*#~\-_=+•·◦⁂❦§†‡—–o0xX.]{1,40}")
AO3_RATINGS = {
    "general audiences": "general",
    "teen and up audiences": "teen",
    "mature": "mature",
    "explicit": "explicit",
    "not rated": "mature",
}
NO_WARNINGS = "No Archive Warnings Apply"
# Shown for each kind of author's note, so readers can tell them from the work.
NOTE_LABELS = {
    "notes": "Author's notes",
    "chapter notes": "Author's chapter notes",
    "chapter summary": "Chapter summary (the author's)",
    "chapter end notes": "Author's end-of-chapter notes",
    "end notes": "Author's end notes",
}
_DETAILS = ("Fandom", "Relationship", "Character", "Category", "Additional Tags")


def is_ao3(chunks: Iterable[Chunk]) -> bool:
    return any(".tags" in c.marks and c.tag == "dt" and c.text.startswith("Rating") for c in chunks)


def generic(chunks: list[Chunk]) -> tuple[list[Block], dict[str, object]]:
    """Blocks of any HTML page: the first top-level heading before any text is the title; of
    the other headings, the most used level is a chapter, a rarer level above it a book or
    part, and levels below it sections."""
    fields: dict[str, object] = {}
    levels = [int(m.group(1)) for c in chunks if (m := _HEADING.fullmatch(c.tag))]
    first_text = next((i for i, c in enumerate(chunks) if not _HEADING.fullmatch(c.tag)), 0)
    if chunks and _HEADING.fullmatch(chunks[0].tag) and first_text > 0:
        fields["title"] = " ".join(chunks[0].text.split())
        levels = levels[1:]
        chunks = chunks[1:]
    return body(chunks, _kinds(levels)), fields


def _kinds(levels: list[int]) -> dict[int, BlockKind]:
    if not levels:
        return {}
    counts = {level: levels.count(level) for level in set(levels)}
    chapter = max(counts, key=lambda level: (counts[level], -level))
    return {
        level: BlockKind.CHAPTER
        if level == chapter
        else BlockKind.MAJOR
        if level < chapter
        else BlockKind.SECTION
        for level in counts
    }


def body(chunks: Iterable[Chunk], kinds: dict[int, BlockKind]) -> list[Block]:
    blocks: list[Block] = []
    items: list[str] = []
    item_spans: list[tuple[int, int, int]] = []
    size = 0

    def end_list() -> None:
        nonlocal size
        if items:
            blocks.append(Block(BlockKind.LINES, "\n".join(items), tuple(item_spans)))
            items.clear()
            item_spans.clear()
            size = 0

    for chunk in chunks:
        if chunk.tag == "li":
            start = size + (1 if items else 0) + len(_BULLET)
            item_spans.extend((start + a, start + b, style) for a, b, style in chunk.spans)
            items.append(_BULLET + chunk.text.replace("\n", " "))
            size = start + len(chunk.text)
            continue
        end_list()
        heading = _HEADING.fullmatch(chunk.tag)
        if heading is not None:
            kind = kinds.get(int(heading.group(1)), BlockKind.CHAPTER)
            blocks.append(Block(kind, " ".join(chunk.text.split())))
        elif chunk.tag == "hr" or (chunk.text and _MARKER.fullmatch(chunk.text)):
            blocks.append(Block(BlockKind.SCENE, chunk.text.strip()))
        elif chunk.tag == "pre" or "\n" in chunk.text:
            blocks.append(Block(BlockKind.LINES, chunk.text, chunk.spans))
        else:
            blocks.append(Block(BlockKind.TEXT, chunk.text, chunk.spans))
    end_list()
    return blocks


def ao3(chunks: list[Chunk]) -> tuple[list[Block], dict[str, object], list[str]]:
    """(blocks, fields, warnings) of an Archive of Our Own download (HTML, or the documents of
    its EPUB in reading order)."""
    fields: dict[str, object] = {}
    warnings: list[str] = []
    tags: dict[str, str] = {}
    blocks: list[Block] = []
    label = ""
    key = ""
    summary: list[str] = []
    for chunk in chunks:
        marks = chunk.marks
        if ".tags" in marks:
            if chunk.tag == "dt":
                key = chunk.text.rstrip(":").strip()
            elif chunk.tag == "dd" and key:
                tags[key] = " ".join(chunk.text.split())
            continue
        if "#preface" in marks:
            if ".message" in marks:
                continue  # "Posted originally on the Archive of Our Own..."
            if chunk.tag == "h1" and "title" not in fields:
                fields["title"] = " ".join(chunk.text.split())
            elif ".byline" in marks:
                fields["author"] = re.sub(r"^by\s+", "", " ".join(chunk.text.split()))
            elif "blockquote" in marks and label == "summary":
                summary.append(chunk.text)
            elif "blockquote" in marks and label:
                blocks.extend(_note(label, chunk, blocks))
            else:
                label = chunk.text.strip().rstrip(":").lower()
            continue
        if ".meta" in marks or "#afterword" in marks or "#endnotes" in marks:
            if ".heading" in marks:
                blocks.append(Block(BlockKind.CHAPTER, " ".join(chunk.text.split())))
                label = ""
            elif "blockquote" in marks and label:
                blocks.extend(_note(label, chunk, blocks))
            else:
                label = chunk.text.strip().rstrip(":").lower()
            continue
        if "#chapters" in marks or ".userstuff" in marks:
            blocks.extend(body([chunk], {}))
    if summary:
        fields["summary"] = "\n\n".join(summary)
    _map_tags(tags, fields, warnings)
    return blocks, fields, warnings


def _note(label: str, chunk: Chunk, blocks: list[Block]) -> list[Block]:
    """The note's paragraph, under its label when it opens a run of notes."""
    title = NOTE_LABELS.get(label, "Author's notes")
    opens = not blocks or blocks[-1].kind not in (BlockKind.NOTE, BlockKind.NOTE_HEADING)
    opens = opens or _last_note_label(blocks) != title
    heading = [Block(BlockKind.NOTE_HEADING, title)] if opens else []
    return [*heading, Block(BlockKind.NOTE, chunk.text, chunk.spans)]


def _last_note_label(blocks: list[Block]) -> str:
    for block in reversed(blocks):
        if block.kind == BlockKind.NOTE_HEADING:
            return block.text
        if block.kind != BlockKind.NOTE:
            break
    return ""


def _map_tags(tags: dict[str, str], fields: dict[str, object], warnings: list[str]) -> None:
    rating = tags.get("Rating", "")
    if rating:
        value = AO3_RATINGS.get(rating.lower())
        if value is not None:
            fields["rating"] = value
        if rating.lower() == "not rated":
            warnings.append("AO3 rating 'Not Rated' is treated as mature")
    notes: list[str] = []
    for warning in re.split(r",\s*", tags.get("Archive Warning", tags.get("Archive Warnings", ""))):
        warning = warning.strip()
        if warning and warning != NO_WARNINGS:
            notes.append(warning)
    if notes:
        fields["content_notes"] = notes
    if tags.get("Language"):
        fields["language"] = tags["Language"]
    fields["details"] = [(name, tags[name]) for name in _DETAILS if tags.get(name)]
