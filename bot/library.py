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

import hashlib
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from bot.splitter import DEFAULT_TOLERANCE, DEFAULT_WORDS_PER_PART, split
from bot.story import Break, Paragraph, Rating, Serial, Story, StoryMeta

log = logging.getLogger(__name__)

MAX_STORY_BYTES = 64 * 1024 * 1024
STORY_SUFFIXES = (".txt", ".md")
SIDECAR_SUFFIXES = (".yaml", ".yml")

_NON_BREAKING_SPACES = ("\u00a0", "\u202f", "\u2007")
_INVISIBLE_AT_LINE_END = "\u200b\u200c\u200d\u2060\ufeff"
# White space that str.split() separates words on, other than space and newline.
_OTHER_WHITESPACE = (
    "\t\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_BLOCK = re.compile(r"[^\n]+(?:\n[^\n]+)*")

_GUTENBERG_WINDOW = 100_000
_GUTENBERG_START = re.compile(
    r"^(?:\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG E-?(?:BOOK|TEXT)[^\n]*"
    r"|\*END\*THE SMALL PRINT[^\n]*)$",
    re.IGNORECASE | re.MULTILINE,
)
_GUTENBERG_END = re.compile(
    r"^(?:\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG|End of (?:the |this )?Project Gutenberg)",
    re.IGNORECASE | re.MULTILINE,
)
_GUTENBERG_FIELD = re.compile(r"^(Title|Author):[ \t]*(\S[^\n]*)$", re.MULTILINE)

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    "hundred"
)
_ORDINALS = (
    "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|last|final"
)
_NUMBER = (
    rf"(?:\d+|[ivxlcdm]+|(?:{_NUMBER_WORDS})(?:[- ](?:{_NUMBER_WORDS}))*"
    rf"|(?:the\s+)?(?:{_ORDINALS}))"
)
# A numbered heading may go on with a title after a separator, or after a space when the title
# starts with a capital or digit; "Part of me..." and "Part I think..." are not headings.
_HEADING = re.compile(
    rf"(?i:chapter|chap\.|part|book|volume|act)\s+(?i:{_NUMBER})"
    r"(?:\s*[.:\-—–]\s*.*|\s+[^\sa-z].*)?"
    r"|(?i:prologue|epilogue|interlude|preface|foreword|afterword)(?:\s*[.:\-—–]\s*.*)?"
    r"|#{1,6}\s+\S.*"
)
_HEADING_MAX_CHARS = 100
_ORNAMENTS = frozenset("*#~-_=+•·◦∙○●◇◆◊♦❖⁂❦§†‡%^°—–<>")
_MIXED_O_MARKER = re.compile(r"[-~=*. ]*(?:[oO0]{3,}|[xX]{3,})[-~=*. ]*")
_UNDERLINE = re.compile(r"=+|-+")
_BYLINE = re.compile(r"(?i:by)\s+(\w[^\n!?;:]{0,60})")
_DIALOGUE_OPENERS = frozenset("\"“”„«»‹›「『'‘’—―")
_TITLE_MAX_CHARS = 80
_TITLE_MAX_WORDS = 12
_MULTI_LINE_HEADING_MAX_CHARS = 3 * _TITLE_MAX_CHARS + 2
_FINAL_PUNCTUATION = frozenset(".,;:!?…\"'”’)»")
# In plain text, a file whose lines inside paragraphs are this long is not hard-wrapped.
_UNWRAPPED_LINE = 100
_UNWRAPPED_SHARE = 0.2
_LINE_SAMPLE = 2000
_WRAPPED_BLOCK_SHARE = 0.2

_FIELDS = ("title", "author", "rating", "content_notes", "summary", "words_per_part")
_RATING_ALIASES = {
    "general audiences": Rating.GENERAL,
    "g": Rating.GENERAL,
    "teen and up audiences": Rating.TEEN,
    "teen and up": Rating.TEEN,
    "t": Rating.TEEN,
    "m": Rating.MATURE,
    "e": Rating.EXPLICIT,
}


class StoryError(Exception):
    """A story file that cannot be used; ``str()`` names the file and the reason."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path.name}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple[type[StoryError], tuple[Path, str]]:
        return (type(self), (self.path, self.reason))


def normalise(raw: str) -> str:
    """Normalise characters and white space without touching words (see the module docstring).

    Idempotent; the result is empty or ends with exactly one newline.
    """
    # A byte-order mark is invisible; one inside the text comes from joined files.
    text = raw.replace("\ufeff", "") if "\ufeff" in raw else raw
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\t" in text:
        text = text.expandtabs(4)
    for space in _NON_BREAKING_SPACES:
        if space in text:
            text = text.replace(space, " ")
    if any(ch in text for ch in _INVISIBLE_AT_LINE_END):
        lines = [line.rstrip().rstrip(_INVISIBLE_AT_LINE_END).rstrip() for line in text.split("\n")]
        text = "\n".join(lines)
    elif " \n" in text or any(ch in text for ch in _OTHER_WHITESPACE):
        text = "\n".join([line.rstrip() for line in text.split("\n")])
    # Only the last line can still end in spaces; the first line keeps its indentation.
    text = text.rstrip().lstrip("\n")
    return text + "\n" if text else ""


def slug_for(path: Path) -> str:
    """The slug of a story file: its name without suffix, lowercase, words joined by hyphens."""
    stem = unicodedata.normalize("NFKD", path.stem).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return slug or "story"


def load_story(path: Path, *, max_bytes: int = MAX_STORY_BYTES) -> Story:
    """Load one story file with its metadata. Raises StoryError for a file that cannot be used."""
    path = Path(path)
    raw = _read_text(path, max_bytes)
    front, body = _split_front_matter(path, raw)
    fields: dict[str, Any] = {}
    if front is not None:
        fields.update(_parse_metadata(path, front, "front matter"))
    sidecar = _sidecar(path)
    if sidecar is not None:
        sidecar_raw = _read_text(sidecar, max_bytes, allow_empty=True)
        fields.update(_parse_metadata(sidecar, sidecar_raw, "sidecar"))
    text = normalise(body)
    if not text:
        reason = "no story text after the front matter" if front is not None else "empty file"
        raise StoryError(path, reason)
    text, gutenberg = _strip_gutenberg(text)
    for key, value in gutenberg.items():
        fields.setdefault(key, value)
    if not text:
        raise StoryError(path, "no story text between the Project Gutenberg header and footer")
    return story_from_text(text, path=path, fields=fields)


def story_from_text(
    text: str, *, path: Path = Path("story.txt"), fields: dict[str, Any] | None = None
) -> Story:
    """A story from already normalised text (``normalise``) and validated metadata fields;
    ``path`` gives the slug and whether the text is Markdown."""
    fields = dict(fields or {})
    markdown = path.suffix.lower() == ".md"
    structure = _Structure(text, markdown=markdown, title=fields.get("title"))
    if not structure.paragraphs:
        raise StoryError(path, "no paragraphs of text (only headings or scene markers)")
    title = fields.get("title") or structure.title or _title_from_name(path)
    meta = StoryMeta(
        title=title,
        author=fields.get("author") or structure.author,
        rating=fields.get("rating", Rating.GENERAL),
        content_notes=fields.get("content_notes", ()),
        summary=fields.get("summary"),
        words_per_part=fields.get("words_per_part"),
    )
    return Story(
        slug=slug_for(path),
        path=path,
        meta=meta,
        text=text,
        paragraphs=tuple(structure.paragraphs),
        revision=hashlib.sha256(text.encode("utf-8")).hexdigest()[:12],
        soft_wraps=structure.soft_wraps,
    )


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
    ) -> None:
        self.folder = folder
        self.serials = serials
        self.problems = problems
        self.words_per_part = words_per_part
        self.tolerance = tolerance
        self.max_bytes = max_bytes

    @classmethod
    def load(
        cls,
        folder: Path,
        *,
        words_per_part: int = DEFAULT_WORDS_PER_PART,
        tolerance: float = DEFAULT_TOLERANCE,
        max_bytes: int = MAX_STORY_BYTES,
    ) -> Library:
        folder = Path(folder)
        settings = {
            "words_per_part": words_per_part,
            "tolerance": tolerance,
            "max_bytes": max_bytes,
        }
        if not folder.is_dir():
            problem = StoryError(folder, "stories folder not found")
            log.warning("%s", problem)
            return cls(folder, {}, [problem], **settings)
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
                story = load_story(path, max_bytes=max_bytes)
                if story.slug in loaded:
                    other = loaded[story.slug].story.path.name
                    raise StoryError(path, f"slug '{story.slug}' is already used by {other}")
                loaded[story.slug] = make_serial(story, words_per_part, tolerance)
            except StoryError as error:
                log.warning("skipping story %s", error)
                problems.append(error)
            except Exception as error:
                # One odd file must not keep every other story from loading.
                log.exception("skipping story %s after an unexpected error", path.name)
                problems.append(StoryError(path, f"unexpected error: {error!r}"))
        ordered = sorted(loaded.values(), key=lambda s: (s.story.title.casefold(), s.slug))
        return cls(folder, {s.slug: s for s in ordered}, problems, **settings)

    def reload(self) -> Library:
        """The folder loaded again with the same settings."""
        return Library.load(
            self.folder,
            words_per_part=self.words_per_part,
            tolerance=self.tolerance,
            max_bytes=self.max_bytes,
        )

    def get(self, slug: str) -> Serial | None:
        return self.serials.get(slug)

    def __iter__(self) -> Iterator[Serial]:
        return iter(self.serials.values())

    def __len__(self) -> int:
        return len(self.serials)


# Reading ------------------------------------------------------------------------------------


def _read_text(path: Path, max_bytes: int, *, allow_empty: bool = False) -> str:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise StoryError(path, _too_big(size, max_bytes))
        with path.open("rb") as handle:
            data = handle.read(size + 1)
            if len(data) > size:
                # The file grew since stat(): read on, in chunks, up to just past the limit.
                chunks = [data]
                total = len(data)
                while total <= max_bytes:
                    chunk = handle.read(min(1 << 20, max_bytes + 1 - total))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    total += len(chunk)
                data = b"".join(chunks)
    except OSError as error:
        raise StoryError(path, f"cannot read the file ({error.strerror or error})") from None
    if len(data) > max_bytes:
        raise StoryError(path, _too_big(len(data), max_bytes))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise StoryError(path, "UTF-16 text; save it as UTF-8")
    if b"\x00" in data:
        raise StoryError(path, "binary data (contains NUL bytes), not a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        bad = data[error.start]
        raise StoryError(
            path, f"not UTF-8 text (byte 0x{bad:02x} at offset {error.start}); save it as UTF-8"
        ) from None
    text = text.removeprefix("\ufeff")
    if not allow_empty and not text.strip():
        raise StoryError(path, "empty file (no text)" if not text else "only white space, no text")
    return text


def refuse_outside(path: Path, folder: Path) -> None:
    """Raise ``StoryError`` when ``path`` is a link that leads out of ``folder``: whoever may
    drop a link into the stories folder must not get any file the bot can read posted."""
    target = path.resolve()
    if not target.is_relative_to(folder.resolve()):
        raise StoryError(
            path, f"links to {target}, outside the stories folder; copy the file in instead"
        )


def _too_big(size: int, limit: int) -> str:
    return f"file is {size:,} bytes ({_size(size)}), over the {_size(limit)} limit"


def _size(count: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            whole, rest = divmod(count, scale)
            return f"{whole} {unit}" if not rest else f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


def _sidecar(path: Path) -> Path | None:
    for suffix in SIDECAR_SUFFIXES:
        candidate = path.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def _split_front_matter(path: Path, raw: str) -> tuple[str | None, str]:
    """(front matter YAML or None, the rest). Front matter opens with a ``---`` first line."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n") if "\r" in raw else raw
    first_line, newline, _ = text.partition("\n")
    if first_line.rstrip() != "---" or not newline:
        return None, text
    start = len(first_line) + 1
    end = _FRONT_MATTER_END.search(text, start)
    if end is None:
        raise StoryError(path, "front matter is not closed (no '---' line after the opening one)")
    rest_start = end.end() + 1
    return text[start : end.start()], text[rest_start:]


def _parse_metadata(path: Path, source: str, what: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error).split("\n", 1)[0]
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise StoryError(path, f"invalid YAML in the {what}{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise StoryError(
            path, f"the {what} must be a mapping of fields, not a {type(data).__name__}"
        )
    fields: dict[str, Any] = {}
    for key, value in data.items():
        name = re.sub(r"[\s-]+", "_", str(key).strip().lower())
        if name not in _FIELDS:
            known = ", ".join(_FIELDS)
            raise StoryError(path, f"unknown field '{key}' in the {what} (known: {known})")
        if value is None:
            continue
        fields[name] = _field(path, what, name, value)
    return fields


def _field(path: Path, what: str, name: str, value: Any) -> Any:
    def bad(expected: str) -> StoryError:
        return StoryError(path, f"'{name}' in the {what} must be {expected}, not {value!r}")

    if name in ("title", "author", "summary"):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise bad("text")
        text = " ".join(str(value).split()) if name != "summary" else str(value).strip()
        if not text:
            raise bad("non-empty text")
        return text
    if name == "rating":
        key = " ".join(str(value).strip().lower().split())
        try:
            return _RATING_ALIASES.get(key) or Rating(key)
        except ValueError:
            choices = ", ".join(r.value for r in Rating)
            raise StoryError(
                path, f"unknown rating {value!r} in the {what} (expected one of: {choices})"
            ) from None
    if name == "content_notes":
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise bad("a list of text")
        return tuple(n for n in (" ".join(i.split()) for i in items) if n)
    if name == "words_per_part":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad("a positive whole number")
        return value
    raise AssertionError(name)


def _strip_gutenberg(text: str) -> tuple[str, dict[str, str]]:
    """Drop a Project Gutenberg header and footer; return the title and author they name."""
    head = text[:_GUTENBERG_WINDOW]
    if "project gutenberg" not in head.lower():
        return text, {}
    start = _GUTENBERG_START.search(head)
    if start is None:
        return text, {}
    fields = {
        name.lower(): " ".join(value.split())
        for name, value in _GUTENBERG_FIELD.findall(text, 0, start.start())
    }
    tail_from = max(start.end(), len(text) - _GUTENBERG_WINDOW)
    end = _GUTENBERG_END.search(text, tail_from)
    body = text[start.end() : end.start() if end else len(text)]
    return normalise(body), fields


def _title_from_name(path: Path) -> str:
    words = re.split(r"[-_\s]+", path.stem.strip())
    return " ".join(w[:1].upper() + w[1:] for w in words if w) or path.stem


def _fold(line: str) -> str:
    return " ".join(line.lstrip("#").split()).rstrip(".").casefold()


# Structure ----------------------------------------------------------------------------------


def _is_marker(line: str) -> bool:
    core = line.replace(" ", "")
    if not core or len(core) > 40:
        return False
    if all(ch in _ORNAMENTS for ch in core):
        return True
    if _MIXED_O_MARKER.fullmatch(line):
        letters = [ch for ch in core if ch.isalnum()]
        return any(ch.isupper() for ch in letters) and any(
            ch.islower() or ch.isdigit() for ch in letters
        )
    return False


def _ends_with_punctuation(line: str) -> bool:
    return line[-1] in _FINAL_PUNCTUATION


class _Structure:
    """Paragraphs of a normalised text, the title found in its first line, and whether its line
    breaks inside paragraphs are soft."""

    def __init__(self, text: str, *, markdown: bool, title: str | None) -> None:
        self.title: str | None = None
        self.author: str | None = None
        self.paragraphs: list[Paragraph] = []
        self.soft_wraps = markdown
        # Counting spaces is exact when single spaces are the only white space in a paragraph.
        self._plain_spaces = not any(ch in text for ch in _OTHER_WHITESPACE)
        blocks = [m.span() for m in _BLOCK.finditer(text)]
        multi = [(s, e) for s, e in blocks if text.find("\n", s, e) != -1]
        line_mode = False
        if multi and not markdown:
            lines = long = 0
            # The share of long lines is a property of the whole document: a sample will do.
            for s, e in multi[:: max(1, len(multi) // _LINE_SAMPLE)]:
                block_lines = text[s:e].split("\n")
                lines += len(block_lines)
                long += sum(1 for line in block_lines if len(line) > _UNWRAPPED_LINE)
            line_mode = long >= _UNWRAPPED_SHARE * lines
            self.soft_wraps = not line_mode and len(multi) >= _WRAPPED_BLOCK_SHARE * len(blocks)
        # units: (start, end, blank lines before)
        units: list[tuple[int, int, int]] = []
        previous_end = -1
        for s, e in blocks:
            gap = s - previous_end - 1 if previous_end >= 0 else 0
            if line_mode and text.find("\n", s, e) != -1:
                line_start = s
                for line in text[s:e].split("\n"):
                    units.append((line_start, line_start + len(line), gap))
                    line_start += len(line) + 1
                    gap = 0
            else:
                units.append((s, e, gap))
            previous_end = e
        if not units:
            return
        units = self._take_title(text, units, title)
        counts = Counter(gap for _, _, gap in units[1:])
        baseline = min(counts, key=lambda g: (-counts[g], g)) if counts else 1
        wide = max(baseline + 1, 2 * baseline)
        self._classify(text, units, wide)

    def _take_title(
        self, text: str, units: list[tuple[int, int, int]], title: str | None
    ) -> list[tuple[int, int, int]]:
        s, e, _ = units[0]
        if len(units) < 2 or text.find("\n", s, e) != -1 or e - s > _TITLE_MAX_CHARS * 2:
            return units
        line = text[s:e].strip()
        if title is not None:
            if _fold(line) != _fold(title):
                return units
        else:
            candidate = " ".join(line.lstrip("#").split())
            if not (
                candidate
                and len(candidate) <= _TITLE_MAX_CHARS
                and len(candidate.split()) <= _TITLE_MAX_WORDS
                and not _ends_with_punctuation(candidate)
                and candidate[0] not in _DIALOGUE_OPENERS
                and not _is_marker(line)
                and not _HEADING.fullmatch(candidate)
            ):
                return units
            self.title = candidate
        # A byline under the title belongs to it too.
        if len(units) > 2:
            s, e, _ = units[1]
            line = text[s:e].strip()
            byline = _BYLINE.fullmatch(line) if e - s <= _TITLE_MAX_CHARS else None
            if byline is not None and not _ends_with_punctuation(line):
                self.author = " ".join(byline.group(1).split())
                return units[2:]
        return units[1:]

    def _words(self, paragraph: str) -> int:
        # Lines carry no trailing spaces, so with single spaces and no indented line every space
        # and line break separates two words.
        if self._plain_spaces and "  " not in paragraph:
            if "\n" not in paragraph:
                return paragraph.count(" ") + 1
            if "\n " not in paragraph:
                return paragraph.count(" ") + paragraph.count("\n") + 1
        return len(paragraph.split())

    def _classify(self, text: str, units: list[tuple[int, int, int]], wide: int) -> None:
        paragraphs = self.paragraphs
        append = paragraphs.append
        words_of = self._words
        scene_marker = False
        previous: Paragraph | None = None
        for s, e, gap in units:
            chunk = text[s:e]
            start = s
            if chunk[0] == " ":
                stripped = chunk.lstrip()
                start = e - len(stripped)
            else:
                stripped = chunk
            heading = subtitle = False
            if len(stripped) <= _HEADING_MAX_CHARS or (
                len(stripped) <= _MULTI_LINE_HEADING_MAX_CHARS and "\n" in stripped
            ):
                kind = self._short_or_multi_line(stripped, previous)
                if kind is None:
                    scene_marker = True
                    continue
                heading, subtitle, stripped = kind
                if not stripped:
                    continue
                e = start + len(stripped)
            dialogue = not heading and not subtitle and stripped[0] in _DIALOGUE_OPENERS
            if heading:
                kind_before = Break.CHAPTER
            elif previous is None or subtitle or previous.heading:
                kind_before = Break.PARAGRAPH
            elif scene_marker:
                kind_before = Break.SCENE
            elif gap >= wide:
                # Evidence, weighed: an exchange of dialogue running across the gap keeps it a
                # paragraph break unless the gap is wider still.
                exchange = previous.dialogue and dialogue
                kind_before = Break.SCENE if not exchange or gap >= 2 * wide else Break.PARAGRAPH
            else:
                kind_before = Break.PARAGRAPH
            previous = Paragraph(
                start, e, words_of(stripped), kind_before, heading or subtitle, dialogue
            )
            append(previous)
            scene_marker = False

    @staticmethod
    def _short_or_multi_line(
        stripped: str, previous: Paragraph | None
    ) -> tuple[bool, bool, str] | None:
        """(heading, subtitle, the paragraph's own text) for a short line or a block of lines;
        None for a scene marker."""
        if "\n" not in stripped:
            if _is_marker(stripped):
                return None
            heading = _HEADING.fullmatch(stripped) is not None
            subtitle = (
                not heading
                and previous is not None
                and previous.heading
                and len(stripped) <= _TITLE_MAX_CHARS
                and len(stripped.split()) <= _TITLE_MAX_WORDS
                and not _ends_with_punctuation(stripped)
                and stripped[0] not in _DIALOGUE_OPENERS
            )
            return heading, subtitle, stripped
        if stripped.count("\n") > 2:
            return False, False, stripped
        lines = stripped.split("\n")
        if len(lines) == 2 and _UNDERLINE.fullmatch(lines[1].strip()):
            # A Setext heading: the underline is not part of the heading's text.
            return True, False, lines[0].rstrip()
        if all(len(line) <= _TITLE_MAX_CHARS for line in lines) and _HEADING.fullmatch(lines[0]):
            return True, False, stripped  # "CHAPTER I." with its title on the next line
        return False, False, stripped
