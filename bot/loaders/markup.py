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


@dataclass(frozen=True, slots=True)
class Chunk:
    """A block of text as the page has it: its element (``p``, ``h2``, ``li``, ``hr``...), its
    text (line breaks only where the page has ``<br>``), and the marks around it."""

    tag: str
    text: str
    marks: tuple[str, ...]


class Refused(ValueError):
    """A page that is not read: ``str()`` says what it holds and at which line."""


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
        self._stack.append((tag, self._context))
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
            open_tag, context = self._stack.pop()
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
