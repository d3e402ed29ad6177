"""The reader: the page read as a stream of tags and text, into blocks of text with their marks
and emphasis."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

from bot.loaders.markup._elements import (
    BLOCK_ELEMENTS,
    DROPPED_ELEMENTS,
    MAX_MARKS,
    OPTIONAL_END_ELEMENTS,
    VOID_ELEMENTS,
    marks,
)
from bot.loaders.markup._emphasis import Span, emphasis_of, emphasised_block
from bot.loaders.markup._refusal import MAX_NESTING, Refused, active_content
from bot.loaders.markup._whitespace import normalised, spaces


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


def read_html(markup: str) -> list[Chunk]:
    """The blocks of text of an HTML document, in order; ``Refused`` for a page with active or
    embedded content or pathological nesting."""
    reader = _Reader()
    reader.feed(markup)
    reader.close()
    return reader.chunks


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

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        what = active_content(tag, attrs)
        if what is not None:
            raise Refused.holding(what, self.getpos()[0])
        if self._dropping:
            if tag == self._dropping:
                self._dropped_depth += 1
            return
        if tag in DROPPED_ELEMENTS:
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
        if tag in BLOCK_ELEMENTS:
            self._flush()
            self._block_tag = tag
        if tag == "pre":
            self._pre += 1
        if tag in VOID_ELEMENTS:
            return
        found = marks(tag, attrs)
        style = emphasis_of(tag, attrs)
        if style:
            self._parts.append(style)
            self._emphasised = True
        self._stack.append((tag, self._context, style))
        self._open[tag] = self._open.get(tag, 0) + 1
        if tag not in OPTIONAL_END_ELEMENTS:
            self._depth += 1
            if self._depth > MAX_NESTING:
                raise Refused.nested(self.getpos()[0])
        if found and len(self._context) < MAX_MARKS:
            self._context = self._context + found

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS and not self._dropping:
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
        if tag in BLOCK_ELEMENTS:
            self._flush()
        # Close what was left open inside it (an unclosed <p> or <li>).
        while self._stack:
            open_tag, context, style = self._stack.pop()
            if style:
                self._parts.append(-style)
                self._emphasised = True
            self._open[open_tag] -= 1
            if open_tag not in OPTIONAL_END_ELEMENTS:
                self._depth -= 1
            self._context = context
            if open_tag == "pre":
                self._pre -= 1
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self._dropping:
            self._parts.append(data if self._pre else spaces(data))

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        if not self._parts:
            return
        if self._emphasised:
            text, runs = emphasised_block(self._parts, self._emphasis)
            self._parts.clear()
            if text:
                self.chunks.append(Chunk(self._block_tag, text, self._context, tuple(runs)))
            self._emphasised = any(self._emphasis)
            return
        raw = "".join(self._parts)  # type: ignore[arg-type]  # only text without emphasis
        self._parts.clear()
        text = normalised(raw)
        if text:
            self.chunks.append(Chunk(self._block_tag, text, self._context))
