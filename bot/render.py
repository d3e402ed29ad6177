"""How a part reads in a chat: a header, the text in messages that fit Discord's limits, and the
name of its discussion thread. Discord and the console demo both show parts through this module,
so what the demo prints is what a channel receives.

Story text is shown as written: every character that Discord's markdown would read as formatting
is escaped with a backslash (the escapes count against the limit), so an author's ``*stars*``,
``||bars||`` or a line starting ``1.`` stay literal. Mentions are left as they are: the client
sends with ``AllowedMentions.none()``, so text can never ping anyone.

The only markdown in story text is the emphasis a loader found in the file (HTML, EPUB
``<em>``, ``<strong>``...), kept beside the text as runs (``Story.emphasis``): each run is shown
as ``*…*``, ``**…**`` or ``***…***`` around its escaped text. Runs never hold a line break, start
and end on a visible character and never touch one another, so each pair of markers stands
alone; a run is closed at the end of a message and opened again in the next, and a run that
touches a link is shown plain (Discord would read the marker as part of the link).

Text is cut into messages at paragraph ends, then line breaks, then sentence ends, then between
words; only a single "word" longer than a message is cut inside. What lies between two messages
is always the white space they were cut at, so ``unescape_text`` of the messages, read in order,
gives the text back.
"""

from __future__ import annotations

import math
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.limits import MESSAGE_LIMIT, THREAD_NAME_LIMIT
from bot.splitter import SCENE_MARK
from bot.story import Break, Part, Rating, Serial

# The header needs this much room: a title, a reading-time line, content notes, a heading.
MIN_RENDER_LIMIT = 400

# Discord shows no centred text; leading em spaces set the ornament apart from the prose.
SCENE_BREAK = "\u2003" * 8 + "⁂"

# Inline formatting (emphasis, strikethrough, spoilers, code, masked links) and the backslash
# itself, escaped wherever they stand. Links are left alone: an escape inside a URL would break
# it, and Discord does not format inside links. A URL here never contains a backslash, which
# keeps ``unescape_text`` an exact inverse.
_URL = (
    r"<[^:\s>\\]+:/[^\s>\\]+>"
    r"|(?:https?|steam)://[^\s<\\]+[^<.,:;\"'\]\s\\]"
)
_ESCAPE = re.compile(
    rf"(?P<url>{_URL})"
    # Block syntax counts only at the start of a line: headings, -# subtext, lists, quotes.
    r"|^(?P<indent>[ \t]*)(?P<mark>[#>+-])"
    r"|^(?P<number>[ \t]*\d+)\.(?=[ \t]|$)"
    r"|(?P<char>[\\*_~|`\[])",
    re.MULTILINE,
)
_UNESCAPE = re.compile(rf"(?P<url>{_URL})|\\(?P<char>.)", re.DOTALL)
_READ = re.compile(rf"(?P<url>{_URL})|\\(?P<char>.)|\*+", re.DOTALL)
# Markers of a run's style: 1 italic, 2 bold, 3 both.
_MARKERS = ("", "*", "**", "***")
# (start, end, style) runs of emphasis, by offsets into the text they go with.
Emphasis = Sequence[tuple[int, int, int]]

_SPACE = " \t\n"
_PARAGRAPH_END = re.compile(r"\n[ \t]*\n")
_LINE_END = re.compile(r"\n")
# Terminal punctuation with any closing quotes, brackets or emphasis, before white space; the
# look-behind starts a run only at its first character, and the possessive quantifier keeps the
# scan linear on runs like "!!!!".
_SENTENCE_END = re.compile(r"(?<![.!?…])[.!?…][.!?…\"'”’)\]»*_~]*+(?=[ \t\n])")
_WORD_END = re.compile(r"(?<![ \t\n])[ \t\n]")

_JOINERS = frozenset("\u200d\u034f")
_MODIFIERS = re.compile(r"[\ufe00-\ufe0f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")


@dataclass(frozen=True, slots=True)
class RenderedPart:
    """``header`` and each of ``messages`` are one Discord message (at most the render limit);
    ``thread_name`` fits Discord's 100 characters."""

    header: str
    messages: tuple[str, ...]
    thread_name: str


def escape_text(text: str) -> str:
    """``text`` with Discord markdown neutralised, to be shown literally. Each line start is
    taken to be a line start in Discord too (a message starts a line)."""
    return _ESCAPE.sub(_escape_match, text)


def unescape_text(text: str) -> str:
    """What a reader sees of escaped text: the inverse of ``escape_text``."""
    return _UNESCAPE.sub(lambda m: m.group("url") or m.group("char"), text)


def read_text(message: str) -> str:
    """What a reader reads of a message of story text: escapes undone, emphasis markers gone
    (every asterisk of the text itself is escaped, so an unescaped one is a marker)."""
    return _READ.sub(lambda m: m.group("url") or m.group("char") or "", message)


def emphasize_text(text: str, emphasis: Emphasis) -> str:
    """``text`` escaped as ``escape_text`` does, with its runs of emphasis as markdown around
    them. The runs are in ascending order and apart (``Story.emphasis``)."""
    runs = _showable(text, emphasis)
    escaped = escape_text(text)
    if not runs:
        return escaped
    # Where each backslash goes: a marker stands before the escape of its first character.
    inserted = [_escape_at(m) for m in _ESCAPE.finditer(text)]
    inserted = [i for i in inserted if i >= 0]
    pieces: list[str] = []
    done = 0
    for start, end, style in runs:
        a = start + bisect_left(inserted, start)
        b = end + bisect_left(inserted, end)
        marker = _MARKERS[style]
        pieces += (escaped[done:a], marker, escaped[a:b], marker)
        done = b
    pieces.append(escaped[done:])
    return "".join(pieces)


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
    by = f" by {_clip(_one_line(meta.author), limit // 8)}" if meta.author else ""
    lines = [
        "**The End**",
        f"*{_clip(_one_line(story.title), limit // 4)}*{by} · {' · '.join(facts)}",
    ]
    text = "\n".join(lines)
    room = limit - len(text) - 2
    if meta.summary and meta.summary.strip() and room > 1:
        text += "\n\n" + _clip(meta.summary.strip(), room)
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


def status_bar(done: int, total: int, width: int = 10) -> str:
    """A text progress bar such as "▰▰▰▱▱▱▱▱▱▱ 3/10". Full only when everything is done, and
    never empty once something is."""
    width = max(1, width)
    done = max(0, min(done, total))
    if total <= 0:
        filled = 0
    else:
        filled = done * width // total
        if done and not filled:
            filled = 1
    return "▰" * filled + "▱" * (width - filled) + f" {done}/{max(total, 0)}"


def format_duration(seconds: float | timedelta) -> str:
    """A wait as readers want to hear it: "12 min", "1 h 5 min", "2 d 3 h". Rounded up to the
    minute, so it never promises less than is left; "0 min" only when nothing is left."""
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    minutes = max(0, math.ceil(seconds / 60 - 1e-9))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


# Escaping -----------------------------------------------------------------------------------

# Room for a run's markers around its first character, and then some text.
_MIN_EMPHASIS_LIMIT = 16


def _escape_at(match: re.Match[str]) -> int:
    """Where in the text the backslash of this escape goes, or -1 for a link."""
    if match.group("url"):
        return -1
    if match.group("mark"):
        return match.start("mark")
    if match.group("number"):
        return match.end("number")
    return match.start("char")


def _showable(text: str, emphasis: Emphasis) -> list[tuple[int, int, int]]:
    """The runs inside ``text``, clipped to it and trimmed to visible characters, without those
    that touch a link."""
    runs: list[tuple[int, int, int]] = []
    for start, end, style in emphasis:
        start, end = max(start, 0), min(end, len(text))
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end and 0 < style < len(_MARKERS):
            runs.append((start, end, style))
    if runs and ("://" in text or "<" in text):
        links = [m.span() for m in _ESCAPE.finditer(text) if m.group("url")]
        runs = [r for r in runs if not any(a <= r[1] and r[0] <= b for a, b in links)]
    return runs


def _clipped(emphasis: Emphasis, start: int, end: int) -> list[tuple[int, int, int]]:
    """The runs of ``emphasis`` (ascending, apart) that overlap ``[start, end)``, relative to
    ``start``."""
    first = bisect_left(emphasis, (start,))
    if first and emphasis[first - 1][1] > start:
        first -= 1
    found = []
    while first < len(emphasis) and emphasis[first][0] < end:
        a, b, style = emphasis[first]
        found.append((a - start, b - start, style))
        first += 1
    return found


def _split_emphasized(
    text: str, limit: int, emphasis: list[tuple[int, int, int]]
) -> tuple[str, ...]:
    def measure(start: int, end: int) -> int:
        piece = text[start:end]
        runs = _showable(piece, _clipped(emphasis, start, end))
        return len(escape_text(piece)) + sum(2 * len(_MARKERS[style]) for _, _, style in runs)

    levels = _levels(text)
    messages: list[str] = []
    position = _skip_space(text, 0)
    while position < len(text):
        end = _cut(text, position, limit, levels, measure)
        messages.append(emphasize_text(text[position:end], _clipped(emphasis, position, end)))
        position = _skip_space(text, end)
    return tuple(messages)


def _escape_match(match: re.Match[str]) -> str:
    if url := match.group("url"):
        return url
    if mark := match.group("mark"):
        return f"{match.group('indent')}\\{mark}"
    if number := match.group("number"):
        return f"{number}\\."
    return "\\" + match.group("char")


def _clip(raw: str, budget: int) -> str:
    """``raw`` escaped, shortened with … (at a word boundary when one is near) to at most
    ``budget`` characters."""
    escaped = escape_text(raw)
    if len(escaped) <= budget:
        return escaped
    if budget < 1:
        return ""
    low, high = 0, min(len(raw), budget)
    while low < high:
        middle = (low + high + 1) // 2
        if len(escape_text(raw[:middle].rstrip())) + 1 <= budget:
            low = middle
        else:
            high = middle - 1
    space = raw.rfind(" ", 0, low + 1)
    if space > low // 2:
        low = space
    return escape_text(raw[:low].rstrip()) + "…"


# Cutting ------------------------------------------------------------------------------------


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in _SPACE:
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
    while end > start + 1 and text[end - 1] in _SPACE:
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


# Parts --------------------------------------------------------------------------------------

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
        piece = piece.strip(_SPACE)
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
                runs = _clipped(emphasis, at, cursor)
        if piece in headings:
            blocks.append((_heading_text(piece), "heading", ()))
        else:
            blocks.append((piece, "text", runs))
    return blocks


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
            pieces: tuple[str, ...] = (f"### {_clip(raw, limit - 4)}",)
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
    title = _clip(_one_line(story.title), limit // 8) or "Untitled"
    first_line = f"**{title}**"
    if part.index == 1 and meta.author:
        first_line += f" by {_clip(_one_line(meta.author), limit // 16)}"
    # Where the reader is, when the part does not open with its chapter's heading.
    where = "" if headings or not part.heading else f" · {_clip(part.heading, limit // 16)}"
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
            notes.append(f"Content notes: {_clip(joined, limit // 4)}")
        if notes:
            lines.append(" · ".join(notes))
    for number, heading in enumerate(headings[:2]):
        clipped = _clip(heading, limit // 16)
        lines.append(f"### {clipped}" if number == 0 else f"**{clipped}**")
    while len("\n".join(lines)) > limit and len(lines) > 1:
        lines.pop()
    return "\n".join(lines)


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())
