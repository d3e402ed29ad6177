"""The title page, contents list and back matter of a plain text: kept in the text (parts still
tile it) but not posted. A mixin of ``bot.structure.Structure``, which holds the results."""

from __future__ import annotations

import re

from bot import headings
from bot.headings import (
    DIALOGUE_OPENERS,
    TITLE_MAX_CHARS,
    TITLE_MAX_WORDS,
    ends_with_punctuation,
    fold_title,
    heading_kind,
    is_marker,
)
from bot.story import Aside

Unit = tuple[int, int, int]  # (start, end, blank lines before)
_LABELLED = re.compile(r"#{0,6}\s*(title|author|by)\s*:\s*(\S.*)", re.IGNORECASE)
_LABELLED_UNITS = 6
_FRONT_WINDOW = 0.25  # share of the text a title page and contents list may take
_FRONT_MIN_CHARS = 5000
_BACK_MATTER_SHARE = 0.05
_RUN_MIN_ENTRIES = 8
_CHECKED_ENTRIES = 6
_WRAPPED_ENTRY_CHARS = 45


class FrontMatter:
    title: str | None
    author: str | None
    asides: list[Aside]
    # The paragraphs found so far, a column each (see ``bot.structure``).
    _starts: list[int]
    _ends: list[int]
    _words: list[int]
    _flags: bytearray
    _contents: set[str]

    def _labelled(self, text: str, units: list[Unit]) -> list[Unit]:
        """Lines such as "# Title: X" and "## Author: Y" opening the text are metadata, not
        headings; an illustration before the title is not the title."""
        taken = 0
        for s, e, _ in units[: min(_LABELLED_UNITS, len(units) - 1)]:
            block = text[s:e].strip()
            if headings.ILLUSTRATION.fullmatch(block):
                taken += 1
                continue
            matches = [_LABELLED.fullmatch(line.strip()) for line in block.split("\n")]
            if not all(matches):
                break
            for match in matches:
                assert match is not None
                key, value = match.group(1).lower(), " ".join(match.group(2).split())
                if key == "title" and self.title is None:
                    self.title = value
                elif key != "title" and self.author is None:
                    self.author = value
            taken += 1
        if taken:
            self.asides.append(Aside("title page", units[0][0], units[taken - 1][1]))
        return units[taken:]

    def _take_title(self, text: str, units: list[Unit], title: str | None) -> list[Unit]:
        """The title page: the title line (given or found), a byline, and around them what
        title pages hold (centred lines, a publisher's imprint, an illustration)."""
        units = self._labelled(text, units)
        if len(units) < 2 or (self.title is not None and title is None):
            return units
        first = text[units[0][0] : units[0][1]].strip()
        second = text[units[1][0] : units[1][1]].strip()
        lines = first.split("\n")
        opens = False
        if len(lines) == 1 and len(first) <= TITLE_MAX_CHARS * 2:
            if title is not None:
                opens = fold_title(first) == fold_title(title)
            else:
                candidate = " ".join(first.lstrip("#").split())
                opens = bool(
                    candidate
                    and len(candidate) <= TITLE_MAX_CHARS
                    and len(candidate.split()) <= TITLE_MAX_WORDS
                    and not ends_with_punctuation(candidate)
                    and candidate[0] not in DIALOGUE_OPENERS
                    and not is_marker(first)
                    and not heading_kind(candidate)
                    and not headings.CONTENTS.fullmatch(candidate)
                )
                if opens:
                    self.title = candidate
        byline_first = headings.BYLINE.fullmatch(lines[-1].strip()) is not None
        if (
            not opens
            and not byline_first
            and not (headings.BYLINE.fullmatch(second) and len(first) <= TITLE_MAX_CHARS)
        ):
            centred = all(
                line.startswith("      ") for line in text[units[0][0] : units[0][1]].split("\n")
            )
            if not centred:
                return units
        if len(units) > 2 and len(second) <= TITLE_MAX_CHARS and not ends_with_punctuation(second):
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
                heading_kind(stripped)
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

    def _front_matter(self, text: str, units: list[Unit], markdown: bool) -> list[Unit]:
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
            if end < _RUN_MIN_ENTRIES or not _named_again(text, units[:end], units[end - 1][1]):
                self._contents.clear()
                return units
            found = 0
        else:
            return units
        if end <= found:
            return units
        self.asides.append(Aside("contents", units[found][0], units[end - 1][1]))
        return units[:found] + units[end:]

    def _entries(self, text: str, units: list[Unit], first: int, *, in_contents: bool) -> int:
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
                if not _second_list(text, units, index, in_contents=in_contents):
                    break  # the body begins: its first heading repeats an entry
                seen.clear()  # the contents of a second volume begin again at its front matter
            lines = block.split("\n")
            # A title wrapped over lines is one entry; short lines in one block are one each.
            wrapped = len(lines) > 1 and len(lines[0]) >= _WRAPPED_ENTRY_CHARS
            for line in lines:
                entry = headings.fold(line)
                if entry:
                    seen.append(entry)
                    if not wrapped or line is lines[0]:
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
        starts, ends, words = self._starts, self._ends, self._words
        total = sum(words)
        tail = 0
        for index in range(len(words) - 1, 0, -1):
            if headings.THE_END.fullmatch(text[starts[index] : ends[index]]):
                if index + 1 < len(words):
                    self.asides.append(Aside("back matter", starts[index + 1], ends[-1]))
                    for column in (starts, ends, words, self._flags):
                        del column[index + 1 :]
                return
            tail += words[index]
            if tail > total * _BACK_MATTER_SHARE:
                return


def _second_list(text: str, units: list[Unit], first: int, *, in_contents: bool) -> bool:
    """Whether the entry at ``first``, which repeats an earlier one, opens another contents
    list (a second volume's) rather than the body: a long run of entries that name headings
    later in the text, where the body would soon turn to prose."""
    end = first
    while end < len(units) and end - first < _RUN_MIN_ENTRIES:
        s, e, _ = units[end]
        block = text[s:e].strip()
        if not block or not headings.entry_like(block, in_contents=in_contents):
            return False
        end += 1
    if end - first < _RUN_MIN_ENTRIES:
        return False
    # The body may set its headings in capitals ("APROBACIONES").
    later = text[units[end - 1][1] :].casefold()
    sample = [text[s:e].strip().split("\n")[0].casefold() for s, e, _ in units[first:end]]
    return sum(1 for line in sample if line in later) * 4 >= len(sample) * 3


def _named_again(text: str, entries: list[Unit], after: int) -> bool:
    """Whether most of the first entries of a would-be contents list (without a "Contents"
    line) name headings later in the text: short lines at the top of a poem do not."""
    sample = [text[s:e].strip().split("\n")[0] for s, e, _ in entries[-_CHECKED_ENTRIES:]]
    found = sum(1 for line in sample if line and text.find(line, after) != -1)
    return found * 2 > len(sample)
