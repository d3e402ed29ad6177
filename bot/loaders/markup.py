"""HTML to blocks of text, with the standard library's ``html.parser``.

A real, forgiving HTML parser (the one Beautiful Soup uses by default) read as a stream: nothing
is built but the blocks, so memory follows the text, not the markup, and 50,000 nested tags cost
a counter, not a tree or a recursion. Scripts, styles, frames, forms and the like are dropped
with their content. Each block remembers the few ids and classes around it that loaders care
about (an Archive of Our Own download marks its preface, chapters and notes that way).
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

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


@dataclass(frozen=True, slots=True)
class Chunk:
    """A block of text as the page has it: its element (``p``, ``h2``, ``li``, ``hr``...), its
    text (line breaks only where the page has ``<br>``), and the marks around it."""

    tag: str
    text: str
    marks: tuple[str, ...]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[Chunk] = []
        self._stack: list[tuple[str, tuple[str, ...]]] = []  # (tag, context before it)
        self._open: dict[str, int] = {}
        self._context: tuple[str, ...] = ()
        self._parts: list[str] = []
        self._block_tag = "p"
        self._dropping = ""
        self._dropped_depth = 0
        self._pre = 0

    # Structure ------------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
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
        self._stack.append((tag, self._context))
        self._open[tag] = self._open.get(tag, 0) + 1
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
            open_tag, context = self._stack.pop()
            self._open[open_tag] -= 1
            self._context = context
            if open_tag == "pre":
                self._pre -= 1
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self._dropping:
            self._parts.append(data if self._pre else _spaces(data))

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        if not self._parts:
            return
        raw = "".join(self._parts)
        self._parts.clear()
        lines = [" ".join(line.split()) for line in raw.split("\n")]
        text = "\n".join(lines).strip("\n ")
        while "\n\n" in text:
            text = text.replace("\n\n", "\n")
        if text:
            self.chunks.append(Chunk(self._block_tag, text, self._context))


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
    """The blocks of text of an HTML document, in order."""
    reader = _Reader()
    reader.feed(markup)
    reader.close()
    return reader.chunks
