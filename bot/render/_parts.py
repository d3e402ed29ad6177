"""A part as it reads in a chat: a header, its text in messages, the name of its discussion
thread; and the message after the last part."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.limits import MESSAGE_LIMIT, THREAD_NAME_LIMIT
from bot.render._markdown import Emphasis, clip, emphasize_text, escape_text, runs_within
from bot.render._messages import SPACE, split_text
from bot.splitter import SCENE_MARK
from bot.story import Break, Part, Rating, Serial

# The header needs this much room: a title, a reading-time line, content notes, a heading.
MIN_RENDER_LIMIT = 400

# Discord shows no centred text; leading em spaces set the ornament apart from the prose.
SCENE_BREAK = "\u2003" * 8 + "⁂"


@dataclass(frozen=True, slots=True)
class RenderedPart:
    """``header`` and each of ``messages`` are one Discord message (at most the render limit);
    ``thread_name`` fits Discord's 100 characters."""

    header: str
    messages: tuple[str, ...]
    thread_name: str


def render_part(serial: Serial, part: Part, *, limit: int = MESSAGE_LIMIT) -> RenderedPart:
    """The header and the text of ``part`` as Discord messages of at most ``limit`` characters.

    The header holds the title, "Part n of N", the reading time, before part 1 the rating and
    content notes, and the chapter heading when the part opens a chapter. Scene breaks inside
    the part show as a ⁂ line, chapter headings as headings."""
    if limit < MIN_RENDER_LIMIT:
        raise ValueError(f"limit must be at least {MIN_RENDER_LIMIT}, not {limit}")
    blocks = _blocks(serial, part)
    opening: list[str] = []
    # A heading and its subtitle that open the part belong to the header.
    while blocks and blocks[0][1] == "heading" and len(opening) < 2:
        opening.append(blocks.pop(0)[0])
    header = _header(serial, part, opening, limit)
    messages = _pack(blocks, limit)
    return RenderedPart(
        header=header, messages=messages, thread_name=thread_name(serial.story.title, part.index)
    )


def render_end(serial: Serial, *, limit: int = MESSAGE_LIMIT) -> str:
    """The message after the last part: "The End", the title, author, size and summary."""
    story = serial.story
    meta = story.meta
    parts = len(serial.parts)
    facts = [f"{parts} part{'s' if parts != 1 else ''}", f"{story.words:,} words"]
    by = f" by {clip(_one_line(meta.author), limit // 8)}" if meta.author else ""
    lines = [
        "**The End**",
        f"*{clip(_one_line(story.title), limit // 4)}*{by} · {' · '.join(facts)}",
    ]
    text = "\n".join(lines)
    room = limit - len(text) - 2
    if meta.summary and meta.summary.strip() and room > 1:
        text += "\n\n" + clip(meta.summary.strip(), room)
    return text


def thread_name(title: str, index: int) -> str:
    """ "<title> · Part n" within Discord's 100 characters; a long title is shortened with …."""
    suffix = f"Part {index}"
    title = _one_line(title)
    if not title:
        return suffix[:THREAD_NAME_LIMIT]
    suffix = f" · {suffix}"
    room = THREAD_NAME_LIMIT - len(suffix)
    if len(title) > room:
        title = title[: max(0, room - 1)].rstrip() + "…"
    return (title + suffix)[:THREAD_NAME_LIMIT]


# A block of a part's text: (raw text, kind, emphasis) with kind "text", "scene" or "heading".
_Block = tuple[str, str, Emphasis]


def _blocks(serial: Serial, part: Part) -> list[_Block]:
    """The part's pieces, told apart by the story's structure: chapter headings and the scene
    markers the splitter put between scenes."""
    story = serial.story
    headings: set[str] = set()
    markers: set[str] = set()
    previous_end = -1
    paragraphs = story.paragraphs
    # Only the part's own paragraphs: the text is read span by span, not whole.
    for index in range(max(0, story.paragraph_index(part.start) - 1), len(paragraphs)):
        paragraph = paragraphs[index]
        if paragraph.start >= part.end:
            break
        if paragraph.end <= part.start:
            continue
        if paragraph.heading:
            headings.add(story.span(paragraph.start, paragraph.end).strip())
        if paragraph.break_before == Break.SCENE and previous_end >= 0:
            markers.add(story.span(previous_end, paragraph.start).strip() or SCENE_MARK)
        previous_end = paragraph.end

    emphasis = story.emphasis
    # Where the next piece is looked for in the part's text, to find its emphasis.
    text = story.span(part.start, part.end) if emphasis else ""
    cursor = part.start
    blocks: list[_Block] = []
    for piece in part.paragraphs:
        piece = piece.strip(SPACE)
        if not piece:
            continue
        if piece in markers:
            blocks.append((SCENE_BREAK, "scene", ()))
            continue
        runs: Emphasis = ()
        if emphasis:
            at = text.find(piece, cursor - part.start)
            if at >= 0:
                at += part.start
                cursor = at + len(piece)
                runs = runs_within(emphasis, at, cursor)
        if piece in headings:
            blocks.append((_heading_text(piece), "heading", ()))
        else:
            blocks.append((piece, "text", runs))
    return blocks


def text_blocks(serial: Serial, part: Part) -> list[tuple[str, Emphasis]]:
    """The part's paragraphs of text as ``render_part`` posts them (headings and scene breaks
    aside), each with its emphasis relative to it."""
    return [(raw, runs) for raw, kind, runs in _blocks(serial, part) if kind == "text"]


def _heading_text(heading: str) -> str:
    return " ".join(heading.lstrip("#").split())


def _pack(blocks: Sequence[_Block], limit: int) -> tuple[str, ...]:
    """Blocks into messages: whole paragraphs while they fit, a paragraph too long for one
    message cut by ``split_text`` (its last piece may share a message with what follows)."""
    messages: list[str] = []
    current: list[str] = []
    size = 0

    def flush() -> None:
        nonlocal size
        if current:
            messages.append("\n\n".join(current))
            current.clear()
        size = 0

    for raw, kind, emphasis in blocks:
        if kind == "heading":
            pieces: tuple[str, ...] = (f"### {clip(raw, limit - 4)}",)
        elif kind == "scene":
            pieces = (raw,)
        else:
            escaped = emphasize_text(raw, emphasis) if emphasis else escape_text(raw)
            if len(escaped) > limit:
                pieces = split_text(raw, limit=limit, emphasis=emphasis)
            else:
                pieces = (escaped,)
        first = pieces[0]
        if current and size + 2 + len(first) <= limit and len(pieces) == 1:
            current.append(first)
            size += 2 + len(first)
            continue
        flush()
        messages.extend(pieces[:-1])
        current.append(pieces[-1])
        size = len(pieces[-1])
    flush()
    return tuple(messages)


def _header(serial: Serial, part: Part, headings: Sequence[str], limit: int) -> str:
    story = serial.story
    meta = story.meta
    # Shares of the limit chosen so that the whole header fits whenever limit >= MIN_RENDER_LIMIT.
    title = clip(_one_line(story.title), limit // 8) or "Untitled"
    first_line = f"**{title}**"
    if part.index == 1 and meta.author:
        first_line += f" by {clip(_one_line(meta.author), limit // 16)}"
    # Where the reader is, when the part does not open with its chapter's heading.
    where = "" if headings or not part.heading else f" · {clip(part.heading, limit // 16)}"
    lines = [
        first_line,
        f"Part {part.index} of {len(serial.parts)}{where} · about {part.minutes} min read",
    ]
    if part.index == 1:
        notes = []
        if meta.rating != Rating.GENERAL:
            notes.append(f"Rating: {meta.rating.value.capitalize()}")
        if meta.content_notes:
            joined = ", ".join(_one_line(n) for n in meta.content_notes if n.strip())
            notes.append(f"Content notes: {clip(joined, limit // 4)}")
        if notes:
            lines.append(" · ".join(notes))
    for number, heading in enumerate(headings[:2]):
        clipped = clip(heading, limit // 16)
        lines.append(f"### {clipped}" if number == 0 else f"**{clipped}**")
    while len("\n".join(lines)) > limit and len(lines) > 1:
        lines.pop()
    return "\n".join(lines)


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())
