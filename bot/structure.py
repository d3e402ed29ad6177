"""Finding a plain text's structure: its title and byline, its paragraphs, and the strength of
the break before each (see ``bot.library`` for the rules)."""

from __future__ import annotations

import bisect
import itertools
import re
from array import array
from collections import Counter
from operator import itemgetter, sub

from bot import headings
from bot.front_matter import FrontMatter, Unit
from bot.headings import (
    DIALOGUE_OPENERS,
    HEADING_MAX_CHARS,
    MULTI_LINEHEADING_MAX_CHARS,
    TITLE_MAX_CHARS,
    TITLE_MAX_WORDS,
    UNDERLINE,
    ends_with_punctuation,
    fold_title,
    heading_kind,
    is_marker,
)
from bot.paragraphs import DIALOGUE, HEADING, LEAD_IN, LINES, MAJOR, Break, ParagraphTable
from bot.story import Aside

_GAP = re.compile(r"\n\n+")
# White space that str.split() separates words on, other than space and newline.
_OTHER_WHITESPACE = (
    "\t\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

# In plain text, a file whose lines inside paragraphs are this long is not hard-wrapped.
_UNWRAPPED_LINE = 100
_UNWRAPPED_SHARE = 0.2
_LINE_SAMPLE = 2000
_WRAPPED_BLOCK_SHARE = 0.2


_LIST_ITEM = re.compile(r"(?:[-*•–]|\d{1,3}[.)]|\(?[a-z]\))\s")
_RAGGED_SHARE = 0.15
_RAGGED_VERSE_LINES = 4
_PHRASE_END = frozenset(".,;:!?—-'\"’”)")


class Structure(FrontMatter):
    """Paragraphs of a normalised text, the title found in its first line, whether its line
    breaks inside paragraphs are soft, and the asides (title page, contents, back matter) that
    are not posted."""

    def __init__(
        self, text: str, *, markdown: bool, title: str | None, plain_spaces: bool | None = None
    ) -> None:
        self.title: str | None = None
        self.author: str | None = None
        self.asides: list[Aside] = []
        self.warnings: list[str] = []
        self.soft_wraps = markdown
        self._wrap_width = 0
        self._ragged = False
        self._contents: set[str] = set()
        # The paragraphs found, a column each until they are packed into ``paragraphs``: a
        # ``Paragraph`` object for each would cost more than finding it.
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._words: list[int] = []
        self._flags = bytearray()
        self.paragraphs = ParagraphTable(array("q"), array("q"), array("q"), b"")
        # Counting spaces is exact when single spaces are the only white space in a paragraph.
        self._plain_spaces = plain_spaces or not any(text.find(ch) >= 0 for ch in _OTHER_WHITESPACE)
        blocks = _blocks(text)
        multi = _multi_line(text, blocks)
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
        if not blocks:
            return
        units = _line_units(text, blocks) if line_mode else blocks
        units = self._take_title(text, units, title)
        units = self._front_matter(text, units, markdown)
        counts = Counter(map(itemgetter(2), itertools.islice(units, 1, None)))
        baseline = min(counts, key=lambda g: (-counts[g], g)) if counts else 1
        wide = max(baseline + 1, 2 * baseline)
        self._half_title = fold_title(title or self.title or "") or None
        self._chapters_seen = False
        # Which units have a line break inside, known from the blocks without looking again.
        multi_starts = set() if line_mode else {s for s, _ in multi}
        self._classify(text, units, wide, multi_starts)
        self._back_matter(text)
        self.paragraphs = ParagraphTable(
            array("q", self._starts),
            array("q", self._ends),
            array("q", self._words),
            bytes(self._flags),
        )

    # Paragraphs ----------------------------------------------------------------------------

    def _keeps_lines(self, chunk: str) -> bool:
        """Whether the line breaks of a block in wrapped text are the author's: a list, verse,
        an address or a signature. Evidence: indentation that varies from line to line, or
        lines that end well before the wrap width and start with capitals."""
        lines = chunk.split("\n")
        if all(_LIST_ITEM.match(line.lstrip()) for line in lines):
            return True
        # Prose may indent its first line more than the rest; verse sets a later line in.
        indents = [len(line) - len(line.lstrip(" ")) for line in lines]
        later = max(indents[1:])
        if later - min(indents[1:]) >= 2 or later - indents[0] >= 2:
            return True
        capitals = sum(1 for line in lines[1:] if not line.lstrip()[:1].islower())
        if self._ragged:
            # Where prose lines end early too, verse still shows in every line starting with a
            # capital and most lines ending a phrase, which hand-wrapped prose does not do.
            ends = sum(1 for line in lines if line[-1:] in _PHRASE_END)
            return (
                len(lines) >= _RAGGED_VERSE_LINES
                and capitals == len(lines) - 1
                and ends * 2 >= len(lines)
            )
        early, breaks = self._early_breaks(lines)
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

    def _classify(self, text: str, units: list[Unit], wide: int, multi_starts: set[int]) -> None:
        starts, ends, counts, flags = self._starts, self._ends, self._words, self._flags
        plain_spaces = self._plain_spaces
        soft = self.soft_wraps
        keeps_lines = self._keeps_lines
        date_line = headings.DATE_LINE.match
        # Most paragraphs cannot be dated by their first character: they are spared the pattern.
        date_openers, openers = headings.DATE_OPENERS, DIALOGUE_OPENERS
        find, count = text.find, text.count
        paragraph_break, scene, chapter = Break.PARAGRAPH, Break.SCENE, Break.CHAPTER
        dialogue_flag, lines_flag, lead_flag = DIALOGUE, LINES, LEAD_IN
        short, short_lines = HEADING_MAX_CHARS, MULTI_LINEHEADING_MAX_CHARS
        scene_marker = False
        # What the paragraph before says about this one: whether there is one, whether it is
        # a heading (a subtitle counts), whether it is dialogue.
        first = True
        after_heading = after_dialogue = False
        major = False
        # Where the next double space is, looked for once through the text, not per paragraph.
        double = -1
        for s, e, gap in units:
            start = s
            if text[s] == " ":
                start = e - len(text[s:e].lstrip())
                newline = find("\n", start, e) != -1
            else:
                newline = s in multi_starts
            length = e - start
            if length > short and (not newline or length > short_lines):
                # Prose: most paragraphs, so told without copying them.
                opening = text[start]
                dialogue = opening in openers
                if first or after_heading:
                    strength = paragraph_break
                elif scene_marker:
                    strength = scene
                elif gap >= wide:
                    # Evidence, weighed: an exchange of dialogue running across the gap keeps
                    # it a paragraph break unless the gap is wider still.
                    exchange = after_dialogue and dialogue
                    strength = scene if not exchange or gap >= 2 * wide else paragraph_break
                elif (
                    opening in date_openers if opening < "\x80" else opening not in openers
                ) and date_line(text, start, e) is not None:
                    strength = scene  # a diary entry or a dated letter begins
                else:
                    strength = paragraph_break
                # Words. Lines carry no trailing spaces, so with single spaces and no indented
                # line every space and line break separates two words.
                if plain_spaces:
                    if double < start:
                        double = find("  ", start)
                        if double == -1:
                            double = len(text)
                    if double > e - 2 and not newline:
                        words = count(" ", start, e) + 1
                    elif double > e - 2 and find("\n ", start, e) == -1:
                        words = count(" ", start, e) + count("\n", start, e) + 1
                    else:
                        words = len(text[start:e].split())
                else:
                    words = len(text[start:e].split())
                # Without soft wraps every line break is kept already; say so for the reader.
                lines = newline and (not soft or keeps_lines(text[s:e]))
                last = text[e - 1]
                lead_in = last == ":" or (last in "-—" and text[e - 3 : e] in (":--", ":—"))
                starts.append(start)
                ends.append(e)
                counts.append(words)
                # (A bool times a flag is the flag or nothing.)
                flags.append(
                    strength | dialogue * dialogue_flag | lines * lines_flag | lead_in * lead_flag
                )
                first = after_heading = major = scene_marker = False
                after_dialogue = dialogue
                continue
            found = self._short_or_multi_line(text[start:e], after_heading)
            if found is None:
                scene_marker = True
                continue
            kind, subtitle, stripped = found
            if not stripped or kind == "skip":
                continue
            if kind == "half title":
                # The title again before the first chapter, as printed books repeat it.
                self.asides.append(Aside("half title", start, start + len(stripped)))
                continue
            heading = kind is not None
            dialogue = not heading and not subtitle and stripped[0] in DIALOGUE_OPENERS
            if kind in ("chapter", "major"):
                self._chapters_seen = True
                strength = chapter
            elif kind == "section":
                strength = scene if not first and not after_heading else paragraph_break
            elif first or subtitle or after_heading:
                strength = paragraph_break
            elif scene_marker:
                strength = scene
            elif gap >= wide:
                exchange = after_dialogue and dialogue
                strength = scene if not exchange or gap >= 2 * wide else paragraph_break
            elif date_line(stripped) is not None:
                strength = scene
            else:
                strength = paragraph_break
            newline = "\n" in stripped
            lines = not heading and newline and (not soft or keeps_lines(text[s:e]))
            if plain_spaces and "  " not in stripped:
                if not newline:
                    words = stripped.count(" ") + 1
                elif "\n " not in stripped:
                    words = stripped.count(" ") + stripped.count("\n") + 1
                else:
                    words = len(stripped.split())
            else:
                words = len(stripped.split())
            tail = stripped[-3:]
            lead_in = not heading and (tail[-1:] == ":" or tail in (":--", ":—"))
            major = kind == "major" or (major and subtitle)
            starts.append(start)
            ends.append(start + len(stripped))
            counts.append(words)
            flags.append(
                strength
                | (HEADING if heading or subtitle else 0)
                | (DIALOGUE if dialogue else 0)
                | (LINES if lines else 0)
                | (LEAD_IN if lead_in else 0)
                | (MAJOR if major else 0)
            )
            first = scene_marker = False
            after_heading = heading or subtitle
            after_dialogue = dialogue

    def _short_or_multi_line(
        self, stripped: str, after_heading: bool
    ) -> tuple[str | None, bool, str] | None:
        """(heading kind or None, subtitle, the paragraph's own text) for a short line or a block
        of lines; kind "skip" for an illustration; None for a scene marker."""
        if "\n" not in stripped:
            if is_marker(stripped):
                return None
            if stripped[0] == "[" and headings.ILLUSTRATION.fullmatch(stripped):
                return "skip", False, stripped
            if not self._chapters_seen and fold_title(stripped) == self._half_title:
                return "half title", False, stripped
            kind = heading_kind(stripped)
            if kind is None and self._contents and headings.fold(stripped) in self._contents:
                kind = "chapter"
            if kind is None and stripped[0] == "_" and headings.section_heading(stripped):
                kind = "section"
            subtitle = (
                kind is None
                and after_heading
                and len(stripped) <= TITLE_MAX_CHARS
                and len(stripped.split()) <= TITLE_MAX_WORDS
                and (not ends_with_punctuation(stripped) or stripped.isupper())
                and stripped[0] not in DIALOGUE_OPENERS
            )
            return kind, subtitle, stripped
        if stripped.count("\n") > 2:
            return None, False, stripped
        lines = stripped.split("\n")
        if len(lines) == 2 and UNDERLINE.fullmatch(lines[1].strip()):
            # A Setext heading: the underline is not part of the heading's text.
            return "chapter", False, lines[0].rstrip()
        if all(len(line) <= HEADING_MAX_CHARS for line in lines):
            kind = heading_kind(lines[0].strip())
            if kind is not None:
                return kind, False, stripped  # "CHAPTER I." with its title on the next line
            if self._contents and headings.fold(stripped) in self._contents:
                return "chapter", False, stripped
            if stripped[0] == "_" and headings.section_heading(stripped):
                return "section", False, stripped
        return None, False, stripped


def _blocks(text: str) -> list[Unit]:
    """The blocks of the text, runs of lines that are not blank, as units: (start, end, blank
    lines before), none before the first."""
    # Line breaks at the edges of the text belong to no block; the rest part blocks in runs.
    first = 0
    while text[first : first + 1] == "\n":
        first += 1
    last = len(text)
    while last > first and text[last - 1] == "\n":
        last -= 1
    if first == last:
        return []
    gaps = [m.span() for m in _GAP.finditer(text, first, last)]
    gap_starts = list(map(itemgetter(0), gaps))
    gap_ends = list(map(itemgetter(1), gaps))
    # A gap of n line breaks holds n - 1 blank lines.
    blank_lines = map(sub, gap_ends, map((1).__add__, gap_starts))
    return list(zip([first, *gap_ends], [*gap_starts, last], [0, *blank_lines], strict=True))


def _multi_line(text: str, blocks: list[Unit]) -> list[tuple[int, int]]:
    """The blocks of more than one line, as (start, end)."""
    if not blocks:
        return []
    # Between blocks there are only line breaks: when the blocks' stretch of text holds no more
    # of them than the gaps, no block has one inside (the usual case for unwrapped text).
    first, last = blocks[0][0], blocks[-1][1]
    in_gaps = sum(map(itemgetter(0), blocks)) - first - sum(map(itemgetter(1), blocks)) + last
    if text.count("\n", first, last) == in_gaps:
        return []
    return [(s, e) for s, e, _ in blocks if text.find("\n", s, e) != -1]


def _line_units(text: str, blocks: list[Unit]) -> list[Unit]:
    """Units of a text whose lines are its paragraphs: each line of a block, the first with the
    blank lines before the block."""
    units: list[Unit] = []
    for s, e, gap in blocks:
        if text.find("\n", s, e) != -1:
            line_start = s
            for line in text[s:e].split("\n"):
                units.append((line_start, line_start + len(line), gap))
                line_start += len(line) + 1
                gap = 0
        else:
            units.append((s, e, gap))
    return units
