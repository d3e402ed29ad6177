"""Story text as Discord markdown that shows it as written.

Every character that Discord's markdown would read as formatting is escaped with a backslash
(the escapes count against the limit), so an author's ``*stars*``, ``||bars||`` or a line
starting ``1.`` stay literal. Mentions are left as they are: the client sends with
``AllowedMentions.none()``, so text can never ping anyone.

The only markdown in story text is the emphasis a loader found in the file (HTML, EPUB
``<em>``, ``<strong>``...), kept beside the text as runs (``Story.emphasis``): each run is shown
as ``*…*``, ``**…**`` or ``***…***`` around its escaped text. Runs never hold a line break, start
and end on a visible character and never touch one another, so each pair of markers stands
alone; a run that touches a link is shown plain (Discord would read the marker as part of the
link).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence

# Inline formatting (emphasis, strikethrough, spoilers, code, masked links) and the backslash
# itself, escaped wherever they stand. Links are left alone: an escape inside a URL would break
# it, and Discord does not format inside links. A URL here never contains a backslash, which
# keeps ``unescape_text`` an exact inverse.
URL_PATTERN = (
    r"<[^:\s>\\]+:/[^\s>\\]+>"
    r"|(?:https?|steam)://[^\s<\\]+[^<.,:;\"'\]\s\\]"
)
_ESCAPE = re.compile(
    rf"(?P<url>{URL_PATTERN})"
    # Block syntax counts only at the start of a line: headings, -# subtext, lists, quotes.
    r"|^(?P<indent>[ \t]*)(?P<mark>[#>+-])"
    r"|^(?P<number>[ \t]*\d+)\.(?=[ \t]|$)"
    r"|(?P<char>[\\*_~|`\[])",
    re.MULTILINE,
)
_UNESCAPE = re.compile(rf"(?P<url>{URL_PATTERN})|\\(?P<char>.)", re.DOTALL)
_READ = re.compile(rf"(?P<url>{URL_PATTERN})|\\(?P<char>.)|\*+", re.DOTALL)
# Markers of a run's style: 1 italic, 2 bold, 3 both.
_MARKERS = ("", "*", "**", "***")
# (start, end, style) runs of emphasis, by offsets into the text they go with.
Emphasis = Sequence[tuple[int, int, int]]


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


def emphasized_size(text: str, emphasis: Emphasis) -> int:
    """The length of ``emphasize_text(text, emphasis)``, without building it."""
    runs = _showable(text, emphasis)
    return len(escape_text(text)) + sum(2 * len(_MARKERS[style]) for _, _, style in runs)


def runs_within(emphasis: Emphasis, start: int, end: int) -> list[tuple[int, int, int]]:
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


def clip(raw: str, budget: int) -> str:
    """``raw`` escaped, shortened with … (at a word boundary when one is near) to at most
    ``budget`` characters."""
    return clip_emphasized(raw, (), budget)


def clip_emphasized(raw: str, emphasis: Emphasis, budget: int) -> str:
    """``emphasize_text(raw, emphasis)`` shortened with … (at a word boundary when one is near)
    to at most ``budget`` characters; a run cut short is closed before the …."""
    if emphasized_size(raw, emphasis) <= budget:
        return emphasize_text(raw, emphasis)
    if budget < 1:
        return ""
    low, high = 0, min(len(raw), budget)
    while low < high:
        middle = (low + high + 1) // 2
        if emphasized_size(raw[:middle].rstrip(), emphasis) + 1 <= budget:
            low = middle
        else:
            high = middle - 1
    space = raw.rfind(" ", 0, low + 1)
    if space > low // 2:
        low = space
    return emphasize_text(raw[:low].rstrip(), emphasis) + "…"


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


def _escape_match(match: re.Match[str]) -> str:
    if url := match.group("url"):
        return url
    if mark := match.group("mark"):
        return f"{match.group('indent')}\\{mark}"
    if number := match.group("number"):
        return f"{number}\\."
    return "\\" + match.group("char")
