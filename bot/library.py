"""The story library: loading story files, normalising their text and finding their structure.

A story is a UTF-8 ``.txt`` or ``.md`` file. Its metadata comes from YAML front matter (a block
between ``---`` lines at the very top) and/or a sidecar file with the same name and a ``.yaml`` or
``.yml`` suffix; the sidecar's fields win. A Project Gutenberg header and footer are dropped, and
their ``Title:`` and ``Author:`` lines are used when no metadata gives them.

The title, when no metadata gives it, is a short first line without final punctuation, otherwise
the file name. A first line that is the title (given or found) stays in the text, so that parts
tile it, but is not a paragraph: readers see it as the story's title, not as its first words.

Normalising never changes the author's words: it removes a byte-order mark, turns CRLF and CR into
LF, tabs and non-breaking spaces into spaces, and strips trailing spaces and leading and trailing
blank lines. Blank lines inside the story are kept, because their number is evidence of structure.

Structure: paragraphs are separated by blank lines; in a plain-text file whose lines are mostly
long and unwrapped, each line is a paragraph. Each paragraph records the strength of the break
before it: a chapter before a heading (a Markdown ``#`` heading, "Chapter 12", "CHAPTER XII",
"Part Two", "Prologue"...), a scene after a marker line (``***``, ``* * *``, ``#``, ``~~~``,
``---``...) or after a gap clearly wider than the document's usual one, and a paragraph otherwise.
A wide gap is weighed, not obeyed: when both paragraphs around it are dialogue, the exchange runs
across it and it stays a paragraph break, unless it is wider still.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot import loaders
from bot.loaders import gutenberg
from bot.loaders.document import build
from bot.loaders.metadata import check_field, parse_metadata, split_front_matter
from bot.loaders.reading import decode, read_bytes
from bot.split_cache import SplitCache, file_key
from bot.splitter import DEFAULT_TOLERANCE, DEFAULT_WORDS_PER_PART, split
from bot.story import Rating, Serial, Story, StoryError, StoryMeta
from bot.structure import Structure
from bot.text_store import TextStore

log = logging.getLogger(__name__)

MAX_STORY_BYTES = 64 * 1024 * 1024
STORY_SUFFIXES = loaders.TEXT_SUFFIXES + loaders.MARKUP_SUFFIXES
SIDECAR_SUFFIXES = (".yaml", ".yml")

# Trailing white space looked at a character at a time before handing over to ``rstrip``.
_SHORT_TAIL = 64
_NON_BREAKING_SPACES = ("\u00a0", "\u202f", "\u2007")
_INVISIBLE_AT_LINE_END = "\u200b\u200c\u200d\u2060\ufeff"
# White space that str.split() separates words on, other than space and newline.
_OTHER_WHITESPACE = (
    "\t\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# A line break after a space, found from the line breaks (far fewer than spaces).
_SPACE_AT_LINE_END = re.compile(r"\n(?<= \n)")
# What normalising has not replaced by then, so that a long text is looked through less often.
_INVISIBLE_LEFT = _INVISIBLE_AT_LINE_END.replace("\ufeff", "")
_OTHER_WHITESPACE_LEFT = "".join(
    ch for ch in _OTHER_WHITESPACE if ch not in ("\t", "\r", *_NON_BREAKING_SPACES)
)


def normalise(raw: str) -> str:
    """Normalise characters and white space without touching words (see the module docstring).

    Idempotent; the result is empty or ends with exactly one newline.
    """
    return _normalise(raw)[0]


def _normalise(raw: str) -> tuple[str, bool | None]:
    """``normalise``, and True when the result has no white space but spaces and line breaks
    (None: not known), which finding the structure would otherwise look for again."""
    # A byte-order mark is invisible; one inside the text comes from joined files.
    # (``find`` looks through a long text faster than ``in`` does.)
    text = raw.replace("\ufeff", "") if raw.find("\ufeff") >= 0 else raw
    if text.find("\r") >= 0:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.find("\t") >= 0:
        text = text.expandtabs(4)
    for space in _NON_BREAKING_SPACES:
        if text.find(space) >= 0:
            text = text.replace(space, " ")
    if any(text.find(ch) >= 0 for ch in _INVISIBLE_LEFT):
        lines = [line.rstrip().rstrip(_INVISIBLE_AT_LINE_END).rstrip() for line in text.split("\n")]
        text = "\n".join(lines)
        plain = None
    else:
        plain = not any(text.find(ch) >= 0 for ch in _OTHER_WHITESPACE_LEFT)
        if not plain or _SPACE_AT_LINE_END.search(text) is not None:
            text = "\n".join([line.rstrip() for line in text.split("\n")])
            plain = plain or None
    # Only the last line can still end in spaces; the first line keeps its indentation. As
    # ``text.rstrip().lstrip("\n") + "\n"``, copying a long text once at most, not twice.
    end = len(text)
    while end and text[end - 1].isspace() and len(text) - end < _SHORT_TAIL:
        end -= 1
    if end and text[end - 1].isspace():
        end = len(text[:end].rstrip())
    if not end:
        return "", plain
    if text[0] != "\n" and text[end : end + 1] == "\n":
        return (text if end + 1 == len(text) else text[: end + 1]), plain
    return text[:end].lstrip("\n") + "\n", plain


def slug_for(path: Path) -> str:
    """The slug of a story file: its name without suffix, lowercase, words joined by hyphens."""
    stem = unicodedata.normalize("NFKD", path.stem).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return slug or "story"


def load_story(path: Path, *, max_bytes: int = MAX_STORY_BYTES, author_notes: bool = True) -> Story:
    """Load one story file with its metadata. Raises StoryError for a file that cannot be used.
    ``author_notes`` says whether a work's notes are posted, unless its sidecar says."""
    path = Path(path)
    if path.suffix.lower() in loaders.MARKUP_SUFFIXES:
        return _load_markup(path, max_bytes, author_notes)
    data = read_bytes(path, max_bytes)
    raw, source = _decoded(path, data)
    front, body = split_front_matter(path, raw)
    fields: dict[str, Any] = {}
    if front is not None:
        fields.update(parse_metadata(path, front, "front matter"))
    sidecar = _sidecar(path)
    if sidecar is not None:
        sidecar_raw, _ = _read_text(sidecar, max_bytes)
        fields.update(parse_metadata(sidecar, sidecar_raw, "sidecar"))
    text, plain = _normalise(body)
    if not text:
        reason = "no story text after the front matter" if front is not None else "empty file"
        raise StoryError(path, reason)
    body_text, found = gutenberg.strip(text)
    if body_text is not text:
        text, plain = _normalise(body_text)
    for key, value in found.items():
        fields.setdefault(key, value)
    if not text:
        raise StoryError(path, "no story text between the Project Gutenberg header and footer")
    warnings = [] if source == "UTF-8" else [f"read as {source}, not UTF-8"]
    # A text that normalising left as it was read, but for white space at its end, is a run of
    # the file's bytes (after any byte-order mark): its revision needs no encoding again.
    utf8: bytes | memoryview | None = None
    if source == "UTF-8" and raw.startswith(text):
        bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
        utf8 = memoryview(data)[bom : len(data) - len(raw[len(text) :].encode("utf-8"))]
    return story_from_text(
        text,
        path=path,
        fields=fields,
        source=source,
        warnings=warnings,
        plain_spaces=plain,
        utf8=utf8,
    )


def story_from_text(
    text: str,
    *,
    path: Path = Path("story.txt"),
    fields: dict[str, Any] | None = None,
    source: str = "UTF-8",
    warnings: list[str] | None = None,
    plain_spaces: bool | None = None,
    utf8: bytes | memoryview | None = None,
) -> Story:
    """A story from already normalised text (``normalise``) and validated metadata fields;
    ``path`` gives the slug and whether the text is Markdown. ``plain_spaces``: True when the
    text is known to have no white space but spaces and line breaks; ``utf8``: the text's UTF-8
    encoding, when at hand."""
    fields = dict(fields or {})
    markdown = path.suffix.lower() == ".md"
    structure = Structure(
        text, markdown=markdown, title=fields.get("title"), plain_spaces=plain_spaces
    )
    if not structure.paragraphs:
        raise StoryError(path, "no paragraphs of text (only headings or scene markers)")
    title = fields.get("title") or structure.title or _title_from_name(path)
    meta = _meta(fields, title=title, author=structure.author)
    return Story(
        slug=slug_for(path),
        path=path,
        meta=meta,
        text=text,
        paragraphs=structure.paragraphs,
        revision=hashlib.sha256(text.encode("utf-8") if utf8 is None else utf8).hexdigest()[:12],
        soft_wraps=structure.soft_wraps,
        asides=tuple(structure.asides),
        source=source,
        warnings=tuple(warnings or ()) + tuple(structure.warnings),
    )


def _load_markup(path: Path, max_bytes: int, author_notes: bool) -> Story:
    """An HTML page or EPUB: the metadata it states, then the sidecar's, which wins."""
    document = loaders.load_markup(path, max_bytes)
    details = document.fields.pop("details", [])
    fields: dict[str, Any] = {}
    for name, value in document.fields.items():
        if value not in (None, "", ()):
            fields[name] = check_field(path, "file", name, value)
    sidecar = _sidecar(path)
    if sidecar is not None:
        sidecar_raw, _ = _read_text(sidecar, max_bytes)
        fields.update(parse_metadata(sidecar, sidecar_raw, "sidecar"))
    notes = fields.get("author_notes", author_notes)
    text, paragraphs, emphasis = build(document.blocks or [], notes=notes)
    if not paragraphs:
        raise StoryError(path, "no paragraphs of text (only headings, images or markup)")
    fields["details"] = details
    return Story(
        slug=slug_for(path),
        path=path,
        meta=_meta(fields, title=fields.get("title") or _title_from_name(path), author=None),
        text=text,
        paragraphs=tuple(paragraphs),
        revision=hashlib.sha256(text.encode("utf-8")).hexdigest()[:12],
        source=document.source,
        warnings=tuple(document.warnings),
        emphasis=tuple(emphasis),
    )


def _meta(fields: dict[str, Any], *, title: str, author: str | None) -> StoryMeta:
    return StoryMeta(
        title=title,
        author=fields.get("author") or author,
        rating=fields.get("rating", Rating.GENERAL),
        content_notes=fields.get("content_notes", ()),
        summary=fields.get("summary"),
        words_per_part=fields.get("words_per_part"),
        language=fields.get("language"),
        details=tuple(fields.get("details", ())),
    )


def _read_text(path: Path, max_bytes: int) -> tuple[str, str]:
    return decode(path, read_bytes(path, max_bytes))


def _decoded(path: Path, data: bytes) -> tuple[str, str]:
    text, source = decode(path, data)
    if not text or text.isspace():
        raise StoryError(path, "empty file (no text)" if not text else "only white space, no text")
    return text, source


def make_serial(story: Story, words_per_part: int, tolerance: float = DEFAULT_TOLERANCE) -> Serial:
    """The story cut into parts; the story's own ``words_per_part`` wins over the argument."""
    target = story.meta.words_per_part or words_per_part
    return Serial(story=story, parts=split(story, target, tolerance))


class Library:
    """Every story in a folder, cut into parts. Broken files are kept in ``problems`` and do not
    stop the others from loading."""

    def __init__(
        self,
        folder: Path,
        serials: dict[str, Serial],
        problems: list[StoryError],
        *,
        words_per_part: int = DEFAULT_WORDS_PER_PART,
        tolerance: float = DEFAULT_TOLERANCE,
        max_bytes: int = MAX_STORY_BYTES,
        author_notes: bool = True,
        cache: TextStore | None = None,
    ) -> None:
        self.folder = folder
        self.serials = serials
        self.problems = problems
        self.words_per_part = words_per_part
        self.tolerance = tolerance
        self.max_bytes = max_bytes
        self.author_notes = author_notes
        # Where the stories' text and split results are kept (None: in memory).
        self.cache = cache

    @classmethod
    def load(
        cls,
        folder: Path,
        *,
        words_per_part: int = DEFAULT_WORDS_PER_PART,
        tolerance: float = DEFAULT_TOLERANCE,
        max_bytes: int = MAX_STORY_BYTES,
        author_notes: bool = True,
        cache: Path | TextStore | None = None,
    ) -> Library:
        """``cache``: the library cache database (kept across starts, so unchanged stories are
        not read and split again), an open one, or None for a private temporary one. Either way
        the stories' text is kept there, not in memory."""
        folder = Path(folder)
        settings: dict[str, Any] = {
            "words_per_part": words_per_part,
            "tolerance": tolerance,
            "max_bytes": max_bytes,
            "author_notes": author_notes,
        }
        store = cache if isinstance(cache, TextStore) else TextStore.open(cache)
        if not folder.is_dir():
            problem = StoryError(folder, "stories folder not found")
            log.warning("%s", problem)
            return cls(folder, {}, [problem], **settings, cache=store)
        splits = SplitCache(store)
        loaded: dict[str, Serial] = {}
        problems: list[StoryError] = []
        # Hidden files are editors' lock and backup files, not stories.
        files = sorted(
            p
            for p in folder.iterdir()
            if p.suffix.lower() in STORY_SUFFIXES and not p.name.startswith(".") and p.is_file()
        )
        for path in files:
            try:
                refuse_outside(path, folder)
                key = file_key(path, _sidecar(path), settings)
                serial = splits.get(key, path) if key is not None else None
                if serial is None:
                    story = load_story(path, max_bytes=max_bytes, author_notes=author_notes)
                    serial = make_serial(story, words_per_part, tolerance)
                    if key is not None:
                        serial = splits.put(key, serial)
                if serial.slug in loaded:
                    other = loaded[serial.slug].story.path.name
                    raise StoryError(path, f"slug '{serial.slug}' is already used by {other}")
                loaded[serial.slug] = serial
            except StoryError as error:
                log.warning("skipping story %s", error)
                problems.append(error)
            except Exception as error:
                # One odd file must not keep every other story from loading.
                log.exception("skipping story %s after an unexpected error", path.name)
                problems.append(StoryError(path, f"unexpected error: {error!r}"))
        splits.finish()
        ordered = sorted(loaded.values(), key=lambda s: (s.story.title.casefold(), s.slug))
        return cls(folder, {s.slug: s for s in ordered}, problems, **settings, cache=store)

    def reload(self) -> Library:
        """The folder loaded again with the same settings."""
        return Library.load(
            self.folder,
            words_per_part=self.words_per_part,
            tolerance=self.tolerance,
            max_bytes=self.max_bytes,
            author_notes=self.author_notes,
            cache=self.cache,
        )

    def get(self, slug: str) -> Serial | None:
        return self.serials.get(slug)

    def __iter__(self) -> Iterator[Serial]:
        return iter(self.serials.values())

    def __len__(self) -> int:
        return len(self.serials)


# Reading ------------------------------------------------------------------------------------


def refuse_outside(path: Path, folder: Path) -> None:
    """Raise ``StoryError`` when ``path`` is a link that leads out of ``folder``: whoever may
    drop a link into the stories folder must not get any file the bot can read posted."""
    target = path.resolve()
    if not target.is_relative_to(folder.resolve()):
        raise StoryError(
            path, f"links to {target}, outside the stories folder; copy the file in instead"
        )


def _sidecar(path: Path) -> Path | None:
    for suffix in SIDECAR_SUFFIXES:
        candidate = path.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def _title_from_name(path: Path) -> str:
    words = re.split(r"[-_\s]+", path.stem.strip())
    return " ".join(w[:1].upper() + w[1:] for w in words if w) or path.stem
