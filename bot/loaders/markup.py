"""HTML to blocks of text, with the standard library's ``html.parser``.

A real, forgiving HTML parser (the one Beautiful Soup uses by default) read as a stream: nothing
is built but the blocks, so memory follows the text, not the markup. Styles, forms, media and the
like are dropped with their content. A page with active or embedded content (a script, an event
handler, a ``javascript:`` link, a frame, an object or embed) or with tags nested deeper than any
real page nests them is refused (``Refused``): such a page is not a story as its author wrote it,
and reading it without those parts would hide that. Each block remembers the few ids and classes
around it that loaders care about (an Archive of Our Own download marks its preface, chapters
and notes that way).
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from html.parser import HTMLParser

# Active or embedded content: a page holding any is refused, not read without it.
_REFUSED = {
    "script": "a script",
    "iframe": "an embedded frame (iframe)",
    "frame": "a frame",
    "frameset": "a frameset",
    "object": "an embedded object (object)",
    "embed": "an embedded object (embed)",
    "applet": "an applet",
}
_LINK_ATTRIBUTES = frozenset(["href", "src", "action", "formaction", "data", "xlink:href"])
# Deeper than any real page nests its elements (browsers stop building the tree at 512).
MAX_NESTING = 512
# Elements whose end tag may be left out: a run of them is a run of siblings, not nesting.
_OPTIONAL_END = frozenset(
    ["p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead", "tbody", "tfoot"]
)

# Elements whose content is never story text.
_DROPPED = frozenset(
    [
        "script",
        "style",
        "iframe",
        "frame",
        "frameset",
        "noscript",
        "template",
        "svg",
        "math",
        "object",
        "embed",
        "canvas",
        "form",
        "select",
        "textarea",
        "button",
        "head",
        "title",
        "audio",
        "applet",
        "video",
        "map",
    ]
)
_BLOCKS = frozenset(
    [
        "p",
        "div",
        "section",
        "article",
        "main",
        "header",
        "footer",
        "aside",
        "nav",
        "blockquote",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "table",
        "tr",
        "td",
        "th",
        "pre",
        "figure",
        "figcaption",
        "address",
        "center",
        "body",
        "html",
        "hgroup",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
    ]
)
_VOID = frozenset(
    [
        "br",
        "hr",
        "img",
        "input",
        "meta",
        "link",
        "col",
        "area",
        "base",
        "wbr",
        "source",
        "track",
        "param",
        "embed",
    ]
)
# The ids and classes worth remembering (Archive of Our Own downloads), and how many at most.
MARKS = frozenset(
    [
        "#preface",
        "#chapters",
        "#afterword",
        "#endnotes",
        ".meta",
        ".group",
        ".userstuff",
        ".tags",
        ".byline",
        ".heading",
        ".toc-heading",
        ".message",
        ".endnote-link",
        ".notes",
        ".summary",
        ".chapter",
    ]
)
_MAX_CONTEXT = 24


# Emphasis, as bits of a span's style: what a reader sees in italics, in bold, or both.
ITALIC = 1
BOLD = 2
_EMPHASIS = {"em": ITALIC, "i": ITALIC, "cite": ITALIC, "strong": BOLD, "b": BOLD}
_STYLE_ITALIC = re.compile(r"font-style\s*:\s*(?:italic|oblique)", re.IGNORECASE)
_STYLE_BOLD = re.compile(r"font-weight\s*:\s*(?:bold|bolder|[6-9]00)\b", re.IGNORECASE)

_VISIBLE = re.compile(r"\S+")
# (start, end, style): a run of emphasised text, by offsets into a block's text.
Span = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Chunk:
    """A block of text as the page has it: its element (``p``, ``h2``, ``li``, ``hr``...), its
    text (line breaks only where the page has ``<br>``), the marks around it, and its emphasis:
    runs in ascending order, apart, each within a line, starting and ending on a visible
    character, so that each can be shown as Discord markdown as it stands."""

    tag: str
    text: str
    marks: tuple[str, ...]
    spans: tuple[Span, ...] = ()


class Refused(ValueError):
    """A page that is not read: ``str()`` says what it holds and at which line."""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[Chunk] = []
        # (tag, context before it, the emphasis it opened)
        self._stack: list[tuple[str, tuple[str, ...], int]] = []
        self._open: dict[str, int] = {}
        self._context: tuple[str, ...] = ()
        # Text, and (as numbers) where emphasis opens (a style) and closes (minus the style).
        self._parts: list[str | int] = []
        self._emphasis = [0, 0]  # italic and bold elements open where the last block ended
        self._emphasised = False
        self._block_tag = "p"
        self._dropping = ""
        self._dropped_depth = 0
        self._pre = 0
        self._depth = 0

    # Structure ------------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._refuse_active(tag, attrs)
        if self._dropping:
            if tag == self._dropping:
                self._dropped_depth += 1
            return
        if tag in _DROPPED:
            self._dropping, self._dropped_depth = tag, 1
            return
        if tag == "br":
            self._parts.append("\n")
            return
        if tag == "img":
            alt = " ".join((dict(attrs).get("alt") or "").split())
            self._parts.append(f" [{alt}] " if alt else " [image] ")
            return
        if tag == "hr":
            self._flush()
            self.chunks.append(Chunk("hr", "", self._context))
            return
        if tag in _BLOCKS:
            self._flush()
            self._block_tag = tag
        if tag == "pre":
            self._pre += 1
        if tag in _VOID:
            return
        marks = _marks(tag, attrs)
        style = _emphasis(tag, attrs)
        if style:
            self._parts.append(style)
            self._emphasised = True
        self._stack.append((tag, self._context, style))
        self._open[tag] = self._open.get(tag, 0) + 1
        if tag not in _OPTIONAL_END:
            self._depth += 1
            if self._depth > MAX_NESTING:
                line = self.getpos()[0]
                raise Refused(
                    f"tags nested more than {MAX_NESTING} deep (line {line}); no real page "
                    "nests that deep"
                )
        if marks and len(self._context) < _MAX_CONTEXT:
            self._context = self._context + marks

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID and not self._dropping:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._dropping:
            if tag == self._dropping:
                self._dropped_depth -= 1
                if self._dropped_depth == 0:
                    self._dropping = ""
            return
        if not self._open.get(tag):
            return  # a stray end tag
        if tag in _BLOCKS:
            self._flush()
        # Close what was left open inside it (an unclosed <p> or <li>).
        while self._stack:
            open_tag, context, style = self._stack.pop()
            if style:
                self._parts.append(-style)
                self._emphasised = True
            self._open[open_tag] -= 1
            if open_tag not in _OPTIONAL_END:
                self._depth -= 1
            self._context = context
            if open_tag == "pre":
                self._pre -= 1
            if open_tag == tag:
                break

    def _refuse_active(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        what = _REFUSED.get(tag)
        if what is None:
            for name, value in attrs:
                if name.startswith("on"):
                    what = f"a script (the {name} attribute of <{tag}>)"
                elif name in _LINK_ATTRIBUTES and value and _is_script_link(value):
                    what = f"a script (a javascript: link in <{tag}>)"
                if what is not None:
                    break
            else:
                return
        line = self.getpos()[0]
        raise Refused(
            f"the page holds {what} at line {line}; active or embedded content is refused"
        )

    def handle_data(self, data: str) -> None:
        if not self._dropping:
            self._parts.append(data if self._pre else _spaces(data))

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        if not self._parts:
            return
        if self._emphasised:
            self._flush_emphasised()
            return
        raw = "".join(self._parts)  # type: ignore[arg-type]  # only text without emphasis
        self._parts.clear()
        text = _normalised(raw)
        if text:
            self.chunks.append(Chunk(self._block_tag, text, self._context))

    def _flush_emphasised(self) -> None:
        """Like ``_flush``, with the emphasis that opens and closes in the block as runs of the
        block's text. The text is normalised exactly as without emphasis: white space only
        goes, so the n-th visible character of the page's text is the n-th of the block's."""
        pieces: list[str] = []
        events: list[tuple[int, int]] = []  # (visible characters before, style or -style)
        visible = 0
        for part in self._parts:
            if isinstance(part, int):
                events.append((visible, part))
            else:
                pieces.append(part)
                visible += len("".join(part.split()))
        self._parts.clear()
        text = _normalised("".join(pieces))
        depth = self._emphasis
        starts = [0, 0]
        runs: list[Span] = []
        if text:
            words = [m.span() for m in _VISIBLE.finditer(text)]
            before = list(itertools.accumulate((e - s for s, e in words), initial=0))

            def at(count: int) -> int:
                # Where the visible character with ``count`` others before it stands.
                if count >= before[-1]:
                    return len(text)
                index = bisect.bisect_right(before, count) - 1
                return words[index][0] + count - before[index]

            def edge(count: int, closing: bool) -> int:
                # An opening falls on the next visible character, a closing after the last.
                return at(count - 1) + 1 if closing and count else at(count)

            ranges: list[Span] = []
            for count, event in events:
                bit = abs(event)
                index = bit - 1
                if event > 0:
                    if depth[index] == 0:
                        starts[index] = edge(count, False)
                    depth[index] += 1
                elif depth[index] > 0:
                    depth[index] -= 1
                    if depth[index] == 0:
                        ranges.append((starts[index], edge(count, True), bit))
            for index, bit in ((0, ITALIC), (1, BOLD)):
                if depth[index]:
                    ranges.append((starts[index], len(text), bit))
            runs = _runs(text, ranges)
            self.chunks.append(Chunk(self._block_tag, text, self._context, tuple(runs)))
        else:
            for _, event in events:
                index = abs(event) - 1
                depth[index] = max(0, depth[index] + (1 if event > 0 else -1))
        self._emphasised = any(depth)


def _marks(tag: str, attrs: list[tuple[str, str | None]]) -> tuple[str, ...]:
    found: list[str] = ["blockquote"] if tag == "blockquote" else []
    for name, value in attrs:
        if not value:
            continue
        if name == "id" and f"#{value}" in MARKS:
            found.append(f"#{value}")
        elif name == "class":
            found.extend(f".{c}" for c in value.split() if f".{c}" in MARKS)
    return tuple(found)


def _emphasis(tag: str, attrs: list[tuple[str, str | None]]) -> int:
    style = _EMPHASIS.get(tag, 0)
    for name, value in attrs:
        if name == "style" and value:
            if _STYLE_ITALIC.search(value):
                style |= ITALIC
            if _STYLE_BOLD.search(value):
                style |= BOLD
    return style


def _normalised(raw: str) -> str:
    # HTML white space: runs are one space, a <br> one line break, blank lines none.
    lines = [" ".join(line.split()) for line in raw.split("\n")]
    text = "\n".join(lines).strip("\n ")
    while "\n\n" in text:
        text = text.replace("\n\n", "\n")
    return text


def _runs(text: str, ranges: list[Span]) -> list[Span]:
    """Italic and bold ranges as runs of one style each: cut at line breaks, trimmed to visible
    characters, and runs that touch merged (Discord could not tell ``*a***b**`` apart)."""
    if not ranges:
        return []
    changes: dict[int, list[int]] = {}
    for start, end, bit in ranges:
        changes.setdefault(start, []).append(bit)
        changes.setdefault(end, []).append(-bit)
    bounds = sorted(changes)
    open_bits = {ITALIC: 0, BOLD: 0}
    runs: list[Span] = []
    for start, end in itertools.pairwise(bounds):
        for change in changes[start]:
            open_bits[abs(change)] += 1 if change > 0 else -1
        style = (ITALIC if open_bits[ITALIC] else 0) | (BOLD if open_bits[BOLD] else 0)
        if not style:
            continue
        line_start = start
        while line_start < end:
            newline = text.find("\n", line_start, end)
            line_end = end if newline < 0 else newline
            a, b = line_start, line_end
            while a < b and text[a].isspace():
                a += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            if a < b:
                if runs and runs[-1][1] == a:
                    runs[-1] = (runs[-1][0], b, runs[-1][2] | style)
                else:
                    runs.append((a, b, style))
            line_start = line_end + 1
    return runs


def _is_script_link(value: str) -> bool:
    # Browsers ignore white space and control characters inside the scheme.
    scheme = "".join(ch for ch in value[:64] if ch > " ").lower()
    return scheme.startswith(("javascript:", "vbscript:"))


def _spaces(data: str) -> str:
    # HTML white space is one space; what is kept as a line break is only <br>.
    return (
        " ".join(data.split()).join(
            (" " if data[:1].isspace() else "", " " if data[-1:].isspace() else "")
        )
        if data.strip()
        else (" " if data else "")
    )


def read_html(markup: str) -> list[Chunk]:
    """The blocks of text of an HTML document, in order; ``Refused`` for a page with active or
    embedded content or pathological nesting."""
    reader = _Reader()
    reader.feed(markup)
    reader.close()
    return reader.chunks
