"""Story files in other formats, written by the tests: EPUB 2 and 3 (with ``zipfile``) and
Archive of Our Own downloads (HTML and EPUB) laid out as the Archive lays them out."""

from __future__ import annotations

import html
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

Chapter = tuple[str, Sequence[str]]  # (title, paragraphs; a paragraph with "\n" is verse)


# Emphasis in a paragraph given to ``paragraph_html``: ⸢italic⸣, ⸤bold⸥ (and ⸢⸤both⸥⸣).
EMPHASIS_TAGS = {"⸢": "<em>", "⸣": "</em>", "⸤": "<strong>", "⸥": "</strong>"}


def paragraph_html(paragraph: str) -> str:
    lines = "<br/>\n".join(html.escape(line) for line in paragraph.split("\n"))
    for mark, tag in EMPHASIS_TAGS.items():
        lines = lines.replace(mark, tag)
    return f"<p>{lines}</p>"


def without_emphasis(paragraph: str) -> str:
    for mark in EMPHASIS_TAGS:
        paragraph = paragraph.replace(mark, "")
    return paragraph


def xhtml(title: str, body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">'
        f"<head><title>{html.escape(title)}</title>"
        '<link rel="stylesheet" type="text/css" href="style.css"/></head>'
        f"<body>{body}</body></html>"
    )


@dataclass
class Work:
    title: str = "The Adventure of the Copper Beeches"
    author: str = "Arthur Conan Doyle"
    rating: str = "Teen And Up Audiences"
    warnings: Sequence[str] = ("No Archive Warnings Apply",)
    fandom: str = "Sherlock Holmes - Arthur Conan Doyle"
    relationships: Sequence[str] = ("Sherlock Holmes & John Watson",)
    characters: Sequence[str] = ("Sherlock Holmes", "John Watson", "Violet Hunter")
    tags: Sequence[str] = ("Case Fic",)
    summary: str = "A governess is offered a strange position."
    notes: str = "From the Strand, 1892."
    chapters: Sequence[Chapter] = ()
    chapter_notes: dict[int, str] = field(default_factory=dict)
    end_notes: str = "Thank you for reading."

    def preface(self) -> str:
        def dd(values: Sequence[str]) -> str:
            return ", ".join(f'<a class="tag" href="#">{html.escape(v)}</a>' for v in values)

        words = sum(len(p.split()) for _, ps in self.chapters for p in ps)
        return (
            '<div id="preface">'
            f'<p class="message"><b>{html.escape(self.title)}</b><br/>Posted originally on the '
            '<a href="http://archiveofourown.org/">Archive of Our Own</a> at '
            '<a href="http://archiveofourown.org/works/1">http://archiveofourown.org/works/1</a>.'
            "</p>"
            '<div class="meta"><dl class="tags">'
            f"<dt>Rating:</dt><dd>{dd([self.rating])}</dd>"
            f"<dt>Archive Warning:</dt><dd>{dd(self.warnings)}</dd>"
            f"<dt>Category:</dt><dd>{dd(['Gen'])}</dd>"
            f"<dt>Fandom:</dt><dd>{dd([self.fandom])}</dd>"
            f"<dt>Relationship:</dt><dd>{dd(self.relationships)}</dd>"
            f"<dt>Character:</dt><dd>{dd(self.characters)}</dd>"
            f"<dt>Additional Tags:</dt><dd>{dd(self.tags)}</dd>"
            "<dt>Language:</dt><dd>English</dd>"
            f"<dt>Stats:</dt><dd>Published: 2020-01-01 Words: {words} "
            f"Chapters: {len(self.chapters)}/{len(self.chapters)}</dd>"
            "</dl>"
            f"<h1>{html.escape(self.title)}</h1>"
            f'<div class="byline">by <a rel="author" href="#">{html.escape(self.author)}</a></div>'
            "<p>Summary</p>"
            f'<blockquote class="userstuff"><p>{html.escape(self.summary)}</p></blockquote>'
            "<p>Notes</p>"
            f'<blockquote class="userstuff"><p>{html.escape(self.notes)}</p></blockquote>'
            "</div></div>"
        )

    def chapter(self, number: int) -> str:
        title, paragraphs = self.chapters[number - 1]
        notes = self.chapter_notes.get(number)
        note_html = (
            f'<p>Chapter Notes</p><blockquote class="userstuff"><p>{html.escape(notes)}</p>'
            "</blockquote>"
            if notes
            else ""
        )
        return (
            '<div class="meta group">'
            f'<h2 class="heading">Chapter {number}: {html.escape(title)}</h2>{note_html}</div>'
            '<div class="userstuff">' + "\n".join(paragraph_html(p) for p in paragraphs) + "</div>"
        )

    def afterword(self) -> str:
        return (
            '<div id="afterword"><div class="meta"><p>End Notes</p>'
            f'<blockquote class="userstuff"><p>{html.escape(self.end_notes)}</p></blockquote>'
            '</div><div id="endnotes"><p>Please <a href="#">drop by the Archive and comment</a>'
            " to let the creator know if you enjoyed their work!</p></div></div>"
        )

    def html_download(self) -> str:
        chapters = "".join(self.chapter(n) for n in range(1, len(self.chapters) + 1))
        return (
            '<!DOCTYPE html><html><head><meta charset="UTF-8"/>'
            f"<title>{html.escape(self.title)} - {html.escape(self.author)}</title>"
            '<style type="text/css">body { font-family: serif; }</style></head><body>'
            f'{self.preface()}<div id="chapters" class="userstuff">{chapters}</div>'
            f"{self.afterword()}</body></html>"
        )

    def epub_download(self, path: Path) -> Path:
        pages = [("preface", self.preface())]
        pages += [
            (f"chapter_{n}", f'<div id="chapters" class="userstuff">{self.chapter(n)}</div>')
            for n in range(1, len(self.chapters) + 1)
        ]
        pages.append(("afterword", self.afterword()))
        return write_epub(
            path,
            title=self.title,
            author=self.author,
            pages=[(name, f"Chapter {i}", body) for i, (name, body) in enumerate(pages)],
            version=2,
        )


def write_epub(
    path: Path,
    *,
    title: str,
    author: str,
    pages: Sequence[tuple[str, str, str]],  # (file stem, navigation title, body html)
    version: int = 3,
    language: str = "en",
    subjects: Sequence[str] = (),
    description: str = "",
    cover: bool = True,
    missing: str | None = None,
) -> Path:
    """An EPUB with a cover, a contents page and the pages, listed in the guide (EPUB 2) or
    the landmarks (EPUB 3)."""
    items = [(name, label, xhtml(label, body)) for name, label, body in pages]
    if cover:
        items.insert(0, ("cover", "Cover", xhtml("Cover", '<img src="cover.jpg" alt="Cover"/>')))
    nav_links = "".join(
        f'<li><a href="{name}.xhtml">{html.escape(label)}</a></li>' for name, label, _ in items[1:]
    )
    manifest = "".join(
        f'<item id="{name}" href="{name}.xhtml" media-type="application/xhtml+xml"/>'
        for name, _, _ in items
    )
    spine = "".join(f'<itemref idref="{name}"/>' for name, _, _ in items)
    if missing:
        manifest += f'<item id="gone" href="{missing}" media-type="application/xhtml+xml"/>'
        spine += '<itemref idref="gone"/>'
    meta = (
        f"<dc:title>{html.escape(title)}</dc:title><dc:creator>{html.escape(author)}</dc:creator>"
        f"<dc:language>{language}</dc:language>"
        + "".join(f"<dc:subject>{html.escape(s)}</dc:subject>" for s in subjects)
        + (f"<dc:description>{html.escape(description)}</dc:description>" if description else "")
    )
    if version == 3:
        manifest += (
            '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
        )
        guide = ""
        nav = xhtml(
            "Contents",
            f'<nav epub:type="toc"><ol>{nav_links}</ol></nav>'
            '<nav epub:type="landmarks"><ol><li><a epub:type="cover" href="cover.xhtml">Cover</a>'
            "</li></ol></nav>",
        )
    else:
        manifest += '<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>'
        guide = '<guide><reference type="cover" href="cover.xhtml" title="Cover"/></guide>'
        points = "".join(
            f'<navPoint id="p{i}" playOrder="{i}"><navLabel><text>{html.escape(label)}</text>'
            f'</navLabel><content src="{name}.xhtml"/></navPoint>'
            for i, (name, label, _) in enumerate(items[1:], start=1)
        )
        nav = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1">'
            f"<navMap>{points}</navMap></ncx>"
        )
    spine_toc = ' toc="ncx"' if version == 2 else ""
    package = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<package xmlns="http://www.idpf.org/2007/opf" version="{version}.0" '
        'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<dc:identifier id="id">urn:uuid:1</dc:identifier>{meta}</metadata>'
        f"<manifest>{manifest}</manifest>"
        f"<spine{spine_toc}>{spine}</spine>{guide}</package>"
    )
    container = (
        '<?xml version="1.0"?><container version="1.0" '
        'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
        '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", container)
        archive.writestr("OEBPS/content.opf", package, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("OEBPS/nav.xhtml" if version == 3 else "OEBPS/toc.ncx", nav)
        for name, _, page in items:
            archive.writestr(f"OEBPS/{name}.xhtml", page, compress_type=zipfile.ZIP_DEFLATED)
    return path
