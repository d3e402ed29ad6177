"""Finding a plain text's structure: its title and byline, its paragraphs, and the strength of
the break before each (see ``bot.library`` for the rules)."""

from __future__ import annotations

import bisect
import itertools
import re
from collections import Counter

from bot import headings
from bot.headings import CHAPTER, MAJOR
from bot.story import Aside, Break, Paragraph

_BLOCK = re.compile(r"[^\n]+(?:\n[^\n]+)*")
# White space that str.split() separates words on, other than space and newline.
_OTHER_WHITESPACE = (
    "\t\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

_HEADING_MAX_CHARS = 100
_ORNAMENTS = frozenset("*#~-_=+•·◦∙○●◇◆◊♦❖⁂❦§†‡%^°—–<>")
_MIXED_O_MARKER = re.compile(r"[-~=*. ]*(?:[oO0]{3,}|[xX]{3,})[-~=*. ]*")
_UNDERLINE = re.compile(r"=+|-+")
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


def _fold(line: str) -> str:
    return " ".join(line.lstrip("#").split()).rstrip(".").casefold()


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


_Unit = tuple[int, int, int]  # (start, end, blank lines before)
_LIST_ITEM = re.compile(r"(?:[-*•–]|\d{1,3}[.)]|\(?[a-z]\))\s")
_FRONT_WINDOW = 0.25  # share of the text a title page and contents list may take
_FRONT_MIN_CHARS = 5000
_BACK_MATTER_SHARE = 0.05
_RUN_MIN_ENTRIES = 8
_RAGGED_SHARE = 0.15


def _heading_kind(line: str) -> str | None:
    if CHAPTER.fullmatch(line):
        return "chapter"
    if MAJOR.fullmatch(line):
        return "major"
    return None


class Structure:
    """Paragraphs of a normalised text, the title found in its first line, whether its line
    breaks inside paragraphs are soft, and the asides (title page, contents, back matter) that
    are not posted."""

    def __init__(self, text: str, *, markdown: bool, title: str | None) -> None:
        self.title: str | None = None
        self.author: str | None = None
        self.paragraphs: list[Paragraph] = []
        self.asides: list[Aside] = []
        self.warnings: list[str] = []
        self.soft_wraps = markdown
        self._wrap_width = 0
        self._ragged = False
        self._contents: set[str] = set()
        # Counting spaces is exact when single spaces are the only white space in a paragraph.
        self._plain_spaces = not any(ch in text for ch in _OTHER_WHITESPACE)
        blocks = [m.span() for m in _BLOCK.finditer(text)]
        multi = [(s, e) for s, e in blocks if text.find("\n", s, e) != -1]
        line_mode = False
        if multi:
            lengths: list[int] = []
            # The share of long lines is a property of the whole document: a sample will do.
            for s, e in multi[:: max(1, len(multi) // _LINE_SAMPLE)]:
                lengths.extend(len(line) for line in text[s:e].split("\n"))
            lengths.sort()
            self._wrap_width = lengths[min(len(lengths) - 1, int(len(lengths) * 0.98))]
            # In a file wrapped by hand, lines often end early in prose too: there only
            # indentation tells verse from prose.
            early = breaks = 0
            for s, e in multi[:: max(1, len(multi) // _LINE_SAMPLE)]:
                block_lines = text[s:e].split("\n")
                if sum(1 for line in block_lines if line[:1].islower()) * 2 < len(block_lines):
                    continue  # not prose-like: verse would count as ragged prose
                found, count = self._early_breaks(block_lines)
                early += found
                breaks += count
            self._ragged = early > breaks * _RAGGED_SHARE
            if not markdown:
                long = len(lengths) - bisect.bisect_right(lengths, _UNWRAPPED_LINE)
                line_mode = long >= _UNWRAPPED_SHARE * len(lengths)
                self.soft_wraps = not line_mode and len(multi) >= _WRAPPED_BLOCK_SHARE * len(blocks)
        units: list[_Unit] = []
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
        units = self._front_matter(text, units, markdown)
        counts = Counter(gap for _, _, gap in units[1:])
        baseline = min(counts, key=lambda g: (-counts[g], g)) if counts else 1
        wide = max(baseline + 1, 2 * baseline)
        self._classify(text, units, wide)
        self._back_matter(text)

    # Front and back matter ----------------------------------------------------------------

    def _take_title(self, text: str, units: list[_Unit], title: str | None) -> list[_Unit]:
        """The title page: the title line (given or found), a byline, and around them what
        title pages hold (centred lines, a publisher's imprint, an illustration)."""
        if len(units) < 2:
            return units
        first = text[units[0][0] : units[0][1]].strip()
        second = text[units[1][0] : units[1][1]].strip()
        lines = first.split("\n")
        opens = False
        if len(lines) == 1 and len(first) <= _TITLE_MAX_CHARS * 2:
            if title is not None:
                opens = _fold(first) == _fold(title)
            else:
                candidate = " ".join(first.lstrip("#").split())
                opens = bool(
                    candidate
                    and len(candidate) <= _TITLE_MAX_CHARS
                    and len(candidate.split()) <= _TITLE_MAX_WORDS
                    and not _ends_with_punctuation(candidate)
                    and candidate[0] not in _DIALOGUE_OPENERS
                    and not _is_marker(first)
                    and not _heading_kind(candidate)
                    and not headings.CONTENTS.fullmatch(candidate)
                )
                if opens:
                    self.title = candidate
        byline_first = headings.BYLINE.fullmatch(lines[-1].strip()) is not None
        if (
            not opens
            and not byline_first
            and not (headings.BYLINE.fullmatch(second) and len(first) <= _TITLE_MAX_CHARS)
        ):
            centred = all(
                line.startswith("      ") for line in text[units[0][0] : units[0][1]].split("\n")
            )
            if not centred:
                return units
        if (
            len(units) > 2
            and len(second) <= _TITLE_MAX_CHARS
            and not _ends_with_punctuation(second)
        ):
            author = headings.byline_author(second)
            if author is not None:
                self.author = author
        taken = 0
        lone_by = False
        bylined = False
        first_fold = headings.fold(first)
        limit = max(len(text) * _FRONT_WINDOW, _FRONT_MIN_CHARS)
        for position, (s, e, _) in enumerate(units[:-1]):
            block = text[s:e]
            stripped = block.strip()
            if s > limit or not stripped:
                break
            if position == 0 or lone_by:
                pass
            elif (
                _heading_kind(stripped)
                or headings.CONTENTS.fullmatch(stripped)
                or not (
                    headings.title_page_like(block, position, before_byline=not bylined)
                    or headings.fold(stripped) == first_fold
                )
            ):
                break
            match = headings.BYLINE.fullmatch(stripped.split("\n")[-1].strip())
            bylined = bylined or match is not None
            lone_by = match is not None and not match.group(1)
            if lone_by and self.author is None and position + 1 < len(units):
                name = text[units[position + 1][0] : units[position + 1][1]].strip()
                if len(name) <= 60 and "\n" not in name:
                    self.author = name
            taken = position + 1
        if taken:
            self.asides.append(Aside("title page", units[0][0], units[taken - 1][1]))
        return units[taken:]

    def _front_matter(self, text: str, units: list[_Unit], markdown: bool) -> list[_Unit]:
        """A contents list near the top, after whatever precedes it; its entries name the
        headings of the body (the stories of a collection, titled chapters)."""
        limit = max(len(text) * _FRONT_WINDOW, _FRONT_MIN_CHARS)
        index = 0
        found = -1
        while index < len(units) and units[index][0] <= limit and index < 400:
            s, e, _ = units[index]
            if e - s <= 40 and headings.CONTENTS.fullmatch(text[s:e].strip().lstrip("#").strip()):
                found = index
                break
            index += 1
        if found >= 0:
            end = self._entries(text, units, found + 1, in_contents=True)
        elif not markdown:
            end = self._entries(text, units, 0, in_contents=False)
            if end < _RUN_MIN_ENTRIES:
                return units
            found = 0
        else:
            return units
        if end <= found:
            return units
        self.asides.append(Aside("contents", units[found][0], units[end - 1][1]))
        return units[:found] + units[end:]

    def _entries(self, text: str, units: list[_Unit], first: int, *, in_contents: bool) -> int:
        """Index of the first unit after the contents entries that start at ``first``."""
        seen: list[str] = []
        index = first
        while index < len(units):
            s, e, _ = units[index]
            block = text[s:e].strip()
            folded = headings.fold(block)
            if not block or not headings.entry_like(block, in_contents=in_contents):
                if not in_contents and index > first:
                    index -= 1  # the last short line before prose is its heading
                break
            if folded and any(folded == entry or entry.startswith(folded + " ") for entry in seen):
                break  # the body begins: its first heading repeats an entry
            for line in block.split("\n"):
                entry = headings.fold(line)
                if entry:
                    seen.append(entry)
                    self._contents.add(entry)
            if "\n" in block:
                self._contents.add(folded)
            index += 1
        if index - first < (1 if in_contents else _RUN_MIN_ENTRIES):
            self._contents.clear()
            return first if in_contents else 0
        return index

    def _back_matter(self, text: str) -> None:
        """Publishers' advertisements and the like after a closing "THE END"."""
        paragraphs = self.paragraphs
        total = sum(p.words for p in paragraphs)
        tail = 0
        for index in range(len(paragraphs) - 1, 0, -1):
            paragraph = paragraphs[index]
            if headings.THE_END.fullmatch(text[paragraph.start : paragraph.end]):
                if index + 1 < len(paragraphs):
                    self.asides.append(
                        Aside("back matter", paragraphs[index + 1].start, paragraphs[-1].end)
                    )
                    del paragraphs[index + 1 :]
                return
            tail += paragraph.words
            if tail > total * _BACK_MATTER_SHARE:
                return

    # Paragraphs ----------------------------------------------------------------------------

    def _words(self, paragraph: str) -> int:
        # Lines carry no trailing spaces, so with single spaces and no indented line every space
        # and line break separates two words.
        if self._plain_spaces and "  " not in paragraph:
            if "\n" not in paragraph:
                return paragraph.count(" ") + 1
            if "\n " not in paragraph:
                return paragraph.count(" ") + paragraph.count("\n") + 1
        return len(paragraph.split())

    def _keeps_lines(self, chunk: str) -> bool:
        """Whether the line breaks of a block in wrapped text are the author's: a list, verse,
        an address or a signature. Evidence: indentation that varies from line to line, or
        lines that end well before the wrap width and start with capitals."""
        lines = chunk.split("\n")
        if all(_LIST_ITEM.match(line.lstrip()) for line in lines):
            return True
        indents = {len(line) - len(line.lstrip(" ")) for line in lines[1:]}
        if max(indents) - min(indents) >= 2:
            return True
        if self._ragged:
            return False
        early, breaks = self._early_breaks(lines)
        capitals = sum(1 for line in lines[1:] if not line.lstrip()[:1].islower())
        return early * 2 >= breaks and capitals * 10 >= breaks * 7

    def _early_breaks(self, lines: list[str]) -> tuple[int, int]:
        """(line breaks where the next word would have fitted on the line, line breaks)."""
        width = self._wrap_width
        early = 0
        for line, following in itertools.pairwise(lines):
            rest = following.lstrip()
            if len(line) + 1 + rest.find(" ") % (len(rest) + 1) <= width:
                early += 1
        return early, len(lines) - 1

    def _classify(self, text: str, units: list[_Unit], wide: int) -> None:
        paragraphs = self.paragraphs
        append = paragraphs.append
        words_of = self._words
        soft = self.soft_wraps
        keeps_lines = self._keeps_lines
        date_line = headings.DATE_LINE.match
        scene_marker = False
        previous: Paragraph | None = None
        major = False
        for s, e, gap in units:
            chunk = text[s:e]
            start = s
            if chunk[0] == " ":
                stripped = chunk.lstrip()
                start = e - len(stripped)
            else:
                stripped = chunk
            kind: str | None = None
            subtitle = False
            if len(stripped) <= _HEADING_MAX_CHARS or (
                len(stripped) <= _MULTI_LINE_HEADING_MAX_CHARS and "\n" in stripped
            ):
                found = self._short_or_multi_line(stripped, previous)
                if found is None:
                    scene_marker = True
                    continue
                kind, subtitle, stripped = found
                if not stripped:
                    continue
                if kind == "skip":
                    continue
                e = start + len(stripped)
            heading = kind is not None
            dialogue = not heading and not subtitle and stripped[0] in _DIALOGUE_OPENERS
            if kind in ("chapter", "major"):
                kind_before = Break.CHAPTER
            elif kind == "section":
                kind_before = (
                    Break.SCENE
                    if previous is not None and not previous.heading
                    else (Break.PARAGRAPH)
                )
            elif previous is None or subtitle or previous.heading:
                kind_before = Break.PARAGRAPH
            elif scene_marker:
                kind_before = Break.SCENE
            elif gap >= wide:
                # Evidence, weighed: an exchange of dialogue running across the gap keeps it a
                # paragraph break unless the gap is wider still.
                exchange = previous.dialogue and dialogue
                kind_before = Break.SCENE if not exchange or gap >= 2 * wide else Break.PARAGRAPH
            elif date_line(stripped) is not None:
                kind_before = Break.SCENE  # a diary entry or a dated letter begins
            else:
                kind_before = Break.PARAGRAPH
            lines = soft and not heading and "\n" in stripped and keeps_lines(chunk)
            tail = stripped[-3:]
            lead_in = not heading and (tail[-1:] == ":" or tail in (":--", ":—"))
            major = kind == "major" or (major and subtitle)
            previous = Paragraph(
                start,
                e,
                words_of(stripped),
                kind_before,
                heading or subtitle,
                dialogue,
                lines,
                lead_in,
                major,
            )
            append(previous)
            scene_marker = False

    def _short_or_multi_line(
        self, stripped: str, previous: Paragraph | None
    ) -> tuple[str | None, bool, str] | None:
        """(heading kind or None, subtitle, the paragraph's own text) for a short line or a block
        of lines; kind "skip" for an illustration; None for a scene marker."""
        if "\n" not in stripped:
            if _is_marker(stripped):
                return None
            if stripped[0] == "[" and headings.ILLUSTRATION.fullmatch(stripped):
                return "skip", False, stripped
            kind = _heading_kind(stripped)
            if kind is None and self._contents and headings.fold(stripped) in self._contents:
                kind = "chapter"
            if kind is None and stripped[0] == "_" and headings.section_heading(stripped):
                kind = "section"
            subtitle = (
                kind is None
                and previous is not None
                and previous.heading
                and len(stripped) <= _TITLE_MAX_CHARS
                and len(stripped.split()) <= _TITLE_MAX_WORDS
                and (not _ends_with_punctuation(stripped) or stripped.isupper())
                and stripped[0] not in _DIALOGUE_OPENERS
            )
            return kind, subtitle, stripped
        if stripped.count("\n") > 2:
            return None, False, stripped
        lines = stripped.split("\n")
        if len(lines) == 2 and _UNDERLINE.fullmatch(lines[1].strip()):
            # A Setext heading: the underline is not part of the heading's text.
            return "chapter", False, lines[0].rstrip()
        if all(len(line) <= _HEADING_MAX_CHARS for line in lines):
            kind = _heading_kind(lines[0].strip())
            if kind is not None:
                return kind, False, stripped  # "CHAPTER I." with its title on the next line
            if self._contents and headings.fold(stripped) in self._contents:
                return "chapter", False, stripped
            if stripped[0] == "_" and headings.section_heading(stripped):
                return "section", False, stripped
        return None, False, stripped
