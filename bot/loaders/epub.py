"""EPUB 2 and 3 with the standard library's ``zipfile`` and ``xml.etree``, the pages through
``bot.loaders.markup``.

Reading order is the spine; chapter titles come from the navigation document (EPUB 3) or the NCX
(EPUB 2); the package gives title, creator, language, subjects and description. The cover, title
page, contents and copyright pages are skipped, as the guide or landmarks name them or, failing
that, as their file names say. Sizes are checked against the limit as declared and again as read,
so a zip bomb is refused before it is unpacked; encrypted (DRM) books are refused by name.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree

from bot.loaders.markup import Chunk, Refused, read_html
from bot.story import StoryError

_NS = {
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
    "x": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "enc": "http://www.w3.org/2001/04/xmlenc#",
}
_SKIPPED_TYPES = frozenset(
    ["cover", "toc", "title-page", "titlepage", "copyright-page", "copyright", "loi", "lot"]
)
_SKIPPED_NAMES = re.compile(r"(?:^|[/_\-.])(?:cover|toc|titlepage|title_page|copyright)\b", re.I)
# Obfuscated fonts are not DRM: the text is readable.
_FONT_OBFUSCATION = frozenset(
    ["http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"]
)
_MAX_RATIO = 200  # uncompressed ÷ compressed size beyond which a large member is a zip bomb
_RATIO_FROM = 1 << 20
_ENTITY = re.compile(rb"<!(?:DOCTYPE[^>]*\[|ENTITY)", re.IGNORECASE)


class Book:
    """What an EPUB holds for the library: its pages' blocks of text in reading order, with the
    chapter title the navigation gives each page, and the package's metadata."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.pages: list[tuple[str | None, list[Chunk]]] = []
        self.fields: dict[str, object] = {}
        try:
            with zipfile.ZipFile(path) as archive:
                self._read(archive)
        except zipfile.BadZipFile:
            raise StoryError(path, "not a valid EPUB (the file is not a zip archive)") from None
        except (KeyError, ElementTree.ParseError, UnicodeDecodeError) as error:
            raise StoryError(path, f"not a valid EPUB ({_reason(error)})") from None

    def _read(self, archive: zipfile.ZipFile) -> None:
        self._budget = self.max_bytes
        names = set(archive.namelist())
        if "META-INF/encryption.xml" in names and self._encrypted(archive):
            raise StoryError(self.path, "encrypted EPUB (DRM); only DRM-free books can be read")
        if "META-INF/rights.xml" in names:
            raise StoryError(self.path, "encrypted EPUB (DRM); only DRM-free books can be read")
        container = self._xml(archive, "META-INF/container.xml")
        rootfile = container.find(".//c:rootfile", _NS)
        if rootfile is None or not rootfile.get("full-path"):
            raise StoryError(self.path, "not a valid EPUB (no package named in container.xml)")
        opf_path = rootfile.get("full-path", "")
        package = self._xml(archive, opf_path)
        base = posixpath.dirname(opf_path)
        manifest = {
            item.get("id", ""): item for item in package.iterfind("opf:manifest/opf:item", _NS)
        }
        self._metadata(package)
        titles, skipped = self._navigation(archive, package, manifest, base)
        spine = [
            manifest[ref.get("idref", "")]
            for ref in package.iterfind("opf:spine/opf:itemref", _NS)
            if ref.get("idref", "") in manifest and ref.get("linear", "yes") != "no"
        ]
        if not spine:
            raise StoryError(self.path, "not a valid EPUB (the spine names no pages)")
        for item in spine:
            href = _join(base, item.get("href", ""))
            if href not in names:
                raise StoryError(self.path, f"the spine names {href}, which is not in the EPUB")
            if href in skipped or "nav" in (item.get("properties") or "").split():
                continue
            if not skipped and _SKIPPED_NAMES.search(href) and len(spine) > 2:
                continue
            markup = self._member(archive, href).decode("utf-8", errors="replace")
            try:
                self.pages.append((titles.get(href), read_html(markup)))
            except Refused as refused:
                raise StoryError(self.path, f"{href}: {refused}") from None

    def _encrypted(self, archive: zipfile.ZipFile) -> bool:
        encryption = self._xml(archive, "META-INF/encryption.xml")
        methods = [
            m.get("Algorithm", "") for m in encryption.iter(f"{{{_NS['enc']}}}EncryptionMethod")
        ]
        return any(method not in _FONT_OBFUSCATION for method in methods) or not methods

    def _metadata(self, package: ElementTree.Element) -> None:
        metadata = package.find("opf:metadata", _NS)
        if metadata is None:
            return

        def texts(name: str) -> list[str]:
            return [" ".join((e.text or "").split()) for e in metadata.iterfind(f"dc:{name}", _NS)]

        for field, name in (("title", "title"), ("author", "creator"), ("language", "language")):
            found = [t for t in texts(name) if t]
            if found:
                self.fields[field] = found[0] if field != "author" else ", ".join(found)
        description = next((t for t in texts("description") if t), None)
        if description:
            try:
                chunks = read_html(description)
            except Refused as refused:
                raise StoryError(self.path, f"the package's description: {refused}") from None
            self.fields["summary"] = " ".join(c.text for c in chunks) or description
        subjects = [t for t in texts("subject") if t]
        if subjects:
            self.fields["details"] = [("Subjects", ", ".join(subjects))]

    def _navigation(
        self,
        archive: zipfile.ZipFile,
        package: ElementTree.Element,
        manifest: dict[str, ElementTree.Element],
        base: str,
    ) -> tuple[dict[str, str], set[str]]:
        """(chapter title by page, pages to skip) from the navigation document or the NCX and
        the guide."""
        titles: dict[str, str] = {}
        skipped: set[str] = set()
        for reference in package.iterfind("opf:guide/opf:reference", _NS):
            if reference.get("type", "").lower() in _SKIPPED_TYPES:
                skipped.add(_join(base, reference.get("href", "").split("#")[0]))
        nav = next(
            (i for i in manifest.values() if "nav" in (i.get("properties") or "").split()), None
        )
        ncx = next(
            (i for i in manifest.values() if i.get("media-type") == "application/x-dtbncx+xml"),
            None,
        )
        if nav is not None:
            nav_path = _join(base, nav.get("href", ""))
            document = self._xml(archive, nav_path)
            nav_base = posixpath.dirname(nav_path)
            for element in document.iter(f"{{{_NS['x']}}}nav"):
                kind = element.get(f"{{{_NS['epub']}}}type", "")
                for link in element.iter(f"{{{_NS['x']}}}a"):
                    href = _join(nav_base, link.get("href", "").split("#")[0])
                    if kind == "toc":
                        titles.setdefault(href, " ".join("".join(link.itertext()).split()))
                    elif kind == "landmarks":
                        types = set(link.get(f"{{{_NS['epub']}}}type", "").lower().split())
                        if types & _SKIPPED_TYPES:
                            skipped.add(href)
        elif ncx is not None:
            ncx_path = _join(base, ncx.get("href", ""))
            document = self._xml(archive, ncx_path)
            for point in document.iter(f"{{{_NS['ncx']}}}navPoint"):
                label = point.find("ncx:navLabel/ncx:text", _NS)
                content = point.find("ncx:content", _NS)
                if label is not None and content is not None:
                    href = _join(posixpath.dirname(ncx_path), content.get("src", "").split("#")[0])
                    titles.setdefault(href, " ".join((label.text or "").split()))
        return titles, skipped

    def _xml(self, archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
        data = self._member(archive, name)
        if _ENTITY.search(data[:4096]):
            raise StoryError(self.path, f"{name} declares XML entities, which EPUBs never need")
        return ElementTree.fromstring(data)

    def _member(self, archive: zipfile.ZipFile, name: str) -> bytes:
        try:
            info = archive.getinfo(name)
        except KeyError:
            raise StoryError(self.path, f"not a valid EPUB ({name} is missing)") from None
        if info.flag_bits & 0x1:
            raise StoryError(self.path, "encrypted EPUB (password-protected archive)")
        if info.file_size > self._budget:
            raise StoryError(self.path, f"{name} unpacks to more than the size limit allows")
        if info.file_size > _RATIO_FROM and info.file_size > info.compress_size * _MAX_RATIO:
            raise StoryError(self.path, f"{name} unpacks to {_MAX_RATIO}× its size (a zip bomb?)")
        with archive.open(info) as member:
            data = member.read(self._budget + 1)
        if len(data) > self._budget:
            raise StoryError(self.path, "the EPUB unpacks to more than the size limit allows")
        self._budget -= len(data)
        return data


def _join(base: str, href: str) -> str:
    return posixpath.normpath(posixpath.join(base, unquote(href))) if href else ""


def _reason(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"{error.args[0]} is missing" if error.args else "a file is missing"
    return str(error).split("\n", 1)[0]
