"""Loaders: one per file format, each turning a file into a ``Document`` the library builds a story
from. Plain text (``.txt``, ``.md``) is read here and its structure found by ``bot.structure``;
markup formats (HTML, EPUB, Archive of Our Own downloads) say their structure themselves, as
``Block``s.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bot.loaders.document import Block, BlockKind, Document
from bot.loaders.reading import decode, read_bytes
from bot.story import StoryError

if TYPE_CHECKING:
    from bot.loaders.markup import Chunk

TEXT_SUFFIXES = (".txt", ".md")
MARKUP_SUFFIXES = (".html", ".htm", ".xhtml", ".epub")


def load_markup(path: Path, max_bytes: int) -> Document:
    """An HTML page or an EPUB book as blocks, with the metadata it states."""
    # Imported here: the HTML parser, zipfile and XML take memory a library of plain text (or
    # one read back from the library cache) does not need.
    from bot.loaders import html
    from bot.loaders.epub import Book
    from bot.loaders.markup import Refused, read_html

    if path.suffix.lower() == ".epub":
        book = Book(path, max_bytes)
        chunks = [chunk for _, page in book.pages for chunk in page]
        if html.is_ao3(chunks):
            blocks, fields, warnings = html.ao3(chunks)
            return Document(None, {**book.fields, **fields}, blocks, "AO3 EPUB", warnings)
        return Document(None, dict(book.fields), _book_blocks(book.pages), "EPUB")
    text, encoding = decode(path, read_bytes(path, max_bytes))
    try:
        chunks = read_html(text)
    except Refused as refused:
        raise StoryError(path, str(refused)) from None
    source = "HTML" if encoding == "UTF-8" else f"HTML ({encoding})"
    if html.is_ao3(chunks):
        blocks, fields, warnings = html.ao3(chunks)
        return Document(None, fields, blocks, f"AO3 {source}", warnings)
    blocks, fields = html.generic(chunks)
    return Document(None, fields, blocks, source)


def _book_blocks(pages: list[tuple[str | None, list[Chunk]]]) -> list[Block]:
    """A book's pages in order: each page a chapter, titled by its first heading or else by the
    navigation; the page's other headings are sections."""
    from bot.loaders import html

    blocks: list[Block] = []
    for title, chunks in pages:
        page = html.body(chunks, dict.fromkeys(range(1, 7), BlockKind.SECTION))
        first = next((i for i, b in enumerate(page) if b.kind != BlockKind.SCENE), None)
        if first is None:
            continue
        if page[first].kind == BlockKind.SECTION:
            page[first] = Block(BlockKind.CHAPTER, page[first].text)
        elif title:
            page.insert(0, Block(BlockKind.CHAPTER, title))
        blocks.extend(page)
    return blocks
