"""Following a story through an edit: where a channel's reading point falls in the new text.

A channel has received the old text up to a reading point (the start of its next part). After
the author edits the file, the two versions are aligned, paragraphs first and then the words of
the paragraphs that changed (``difflib``), and the reading point moves to the counterpart of the
last word the channel received. From there on, everything in the new text is still to be posted:
text added before the reading point is not (the channel has moved past it), text added after it
is, a posted passage that was rewritten is not posted again, and nothing unposted is skipped.

Where the alignment cannot be sure, the caller is told why (``Alignment.doubt``), so that an
admin chooses the place instead of the bot guessing.

Words are runs of non-space characters, so re-wrapping lines or changing blank lines is no edit.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

__all__ = ["Alignment", "Change", "align", "word_starts"]

Tag = Literal["equal", "replace", "delete", "insert"]

_WORD = re.compile(r"\S+")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
# Below this many words on both sides, a changed stretch is compared word by word without
# difflib's "popular word" shortcut, which only pays off (and only guesses) on long stretches.
_EXACT_WORDS = 5_000
# Long changed stretches sharing less than this share of the shorter one's words are taken as
# rewritten whole.
_WORTH = 0.5
# A stretch of unchanged paragraphs shorter than the changes around it may be a paragraph that
# moved across them; comparing the whole stretch word by word lets the longer run win.
_MERGE_LIMIT = 50_000
# Less of the old text kept than this, and the two versions are too different to place a reader.
_KEPT_AT_LEAST = 0.5
# Words either side of the reading point that must partly survive for the place to be sure.
_NEAR = 60
_NEAR_KEPT_AT_LEAST = 0.2


@dataclass(frozen=True, slots=True)
class _Words:
    tokens: tuple[str, ...]
    starts: tuple[int, ...]
    # (first word, end word) of each paragraph that has words, in order.
    paragraphs: tuple[tuple[int, int], ...]


def word_starts(text: str) -> list[int]:
    """The offset in ``text`` where each word begins."""
    return [m.start() for m in _WORD.finditer(text)]


def _words(text: str) -> _Words:
    tokens: list[str] = []
    starts: list[int] = []
    paragraphs: list[tuple[int, int]] = []
    begin = 0
    for gap in (*_PARAGRAPH_BREAK.finditer(text), None):
        end = len(text) if gap is None else gap.start()
        first = len(tokens)
        for m in _WORD.finditer(text, begin, end):
            tokens.append(m.group())
            starts.append(m.start())
        if len(tokens) > first:
            paragraphs.append((first, len(tokens)))
        if gap is not None:
            begin = gap.end()
    return _Words(tuple(tokens), tuple(starts), tuple(paragraphs))


@dataclass(frozen=True, slots=True)
class Change:
    """What an edit did on each side of a reading point, in words. ``rewritten`` counts the new
    words that replaced others; ``moved_unread`` counts paragraphs the channel had not reached
    that now stand before its place (they will not be posted)."""

    added_before: int = 0
    removed_before: int = 0
    rewritten_before: int = 0
    added_after: int = 0
    removed_after: int = 0
    rewritten_after: int = 0
    moved_unread: int = 0

    @property
    def words_changed(self) -> bool:
        return any(
            (
                self.added_before,
                self.removed_before,
                self.rewritten_before,
                self.added_after,
                self.removed_after,
                self.rewritten_after,
            )
        )


@dataclass(frozen=True, slots=True)
class Alignment:
    """The word-level correspondence between two versions of a text. ``opcodes`` are difflib's
    (tag, i1, i2, j1, j2) over old and new word indices, covering both texts in order."""

    old_length: int
    new_length: int
    old_starts: tuple[int, ...]
    new_starts: tuple[int, ...]
    opcodes: tuple[tuple[Tag, int, int, int, int], ...]
    # Old paragraphs (word ranges) that reappear unchanged elsewhere, with their new start word.
    moved: tuple[tuple[int, int, int], ...] = ()

    @property
    def kept(self) -> int:
        """How many old words have a counterpart in the new text."""
        return sum(i2 - i1 for tag, i1, i2, _, _ in self.opcodes if tag == "equal")

    def counterpart(self, read: int) -> int:
        """The new text's word index where reading continues, for a channel that has received
        the first ``read`` words of the old text: just after the counterpart of its last word.

        Inside an unchanged stretch this is exact. A rewritten stretch that ends where the
        channel stopped was read (its new words are not posted again); one the reading point
        falls inside was not read to its end, so all of its new words are posted; words added
        exactly at the reading point are posted."""
        if not 0 <= read <= len(self.old_starts):
            raise ValueError(f"read must be between 0 and {len(self.old_starts)}, not {read}")
        for tag, i1, i2, j1, j2 in self.opcodes:
            if tag == "equal" and i1 <= read <= i2:
                return j1 + (read - i1)
            if tag == "insert" and read == i1:
                return j1
            if i1 < read < i2:
                return j1
            if read == i2 and i1 < i2:
                return j2
            if read == i1 and i1 < i2:
                return j1
        return len(self.new_starts)

    def position(self, old_position: int) -> int:
        """``counterpart`` in text offsets: the offset in the new text where a channel whose
        next part started at ``old_position`` of the old text continues."""
        read = bisect.bisect_left(self.old_starts, old_position)
        index = self.counterpart(read)
        return self.new_starts[index] if index < len(self.new_starts) else self.new_length

    def start_of(self, old_position: int) -> int:
        """Where the word that began at ``old_position`` now begins, when it is unchanged;
        otherwise ``position``. For the start of a passage rather than a reading point: text
        added just before the passage stays out of it."""
        read = bisect.bisect_left(self.old_starts, old_position)
        for tag, i1, i2, j1, _ in self.opcodes:
            if tag == "equal" and i1 <= read < i2:
                return self.new_starts[j1 + read - i1]
        return self.position(old_position)

    def change(self, old_position: int) -> Change:
        """What the edit did before and after the reading point at ``old_position``."""
        read = bisect.bisect_left(self.old_starts, old_position)
        at = self.counterpart(read)
        counts = {"added": [0, 0], "removed": [0, 0], "rewritten": [0, 0]}
        for tag, i1, i2, j1, j2 in self.opcodes:
            if tag == "equal":
                continue
            # Split the op at the reading point on each side: old words before ``read`` were
            # read, new words before ``at`` will not be posted.
            old_before = max(0, min(i2, read) - i1)
            new_before = max(0, min(j2, at) - j1)
            old_after = (i2 - i1) - old_before
            new_after = (j2 - j1) - new_before
            if tag == "insert":
                counts["added"][0] += new_before
                counts["added"][1] += new_after
            elif tag == "delete":
                counts["removed"][0] += old_before
                counts["removed"][1] += old_after
            else:
                counts["rewritten"][0] += new_before
                counts["rewritten"][1] += new_after
                counts["removed"][0] += max(0, old_before - new_before)
                counts["removed"][1] += max(0, old_after - new_after)
        moved_unread = sum(
            1 for first, _end, new_first in self.moved if first >= read and new_first < at
        )
        return Change(
            added_before=counts["added"][0],
            removed_before=counts["removed"][0],
            rewritten_before=counts["rewritten"][0],
            added_after=counts["added"][1],
            removed_after=counts["removed"][1],
            rewritten_after=counts["rewritten"][1],
            moved_unread=moved_unread,
        )

    def doubt(self, old_position: int) -> str | None:
        """Why the place found for ``old_position`` cannot be trusted, or ``None`` when it can:
        most of the text was replaced (text only added or only removed is no doubt), or the
        words on both sides of the reading point were rewritten."""
        shorter = min(len(self.old_starts), len(self.new_starts))
        if shorter == 0:
            return None
        kept = self.kept
        if kept < _KEPT_AT_LEAST * shorter:
            share = round(100 * (shorter - kept) / shorter)
            return f"{share}% of the text it was following was replaced"
        read = bisect.bisect_left(self.old_starts, old_position)
        shares = [
            self._kept_between(low, high) / (high - low)
            for low, high in (
                (max(0, read - _NEAR), read),
                (read, min(len(self.old_starts), read + _NEAR)),
            )
            if high > low
        ]
        if shares and max(shares) < _NEAR_KEPT_AT_LEAST:
            return "the text around where this channel stopped was rewritten"
        return None

    def _kept_between(self, low: int, high: int) -> int:
        """How many old words from ``low`` to ``high`` have a counterpart."""
        return sum(
            max(0, min(i2, high) - max(i1, low))
            for tag, i1, i2, _, _ in self.opcodes
            if tag == "equal"
        )


def align(old: str, new: str) -> Alignment:
    """Align two versions of a text: paragraphs first, then the words of changed paragraphs."""
    before, after = _words(old), _words(new)
    keys_before = [" ".join(before.tokens[a:b]) for a, b in before.paragraphs]
    keys_after = [" ".join(after.tokens[a:b]) for a, b in after.paragraphs]
    matcher = SequenceMatcher(None, keys_before, keys_after, autojunk=False)
    blocks = _merge_moves(matcher.get_opcodes(), before, after)
    opcodes: list[tuple[Tag, int, int, int, int]] = []
    for tag, p1, p2, q1, q2 in blocks:
        i1, i2 = _word_range(before, p1, p2)
        j1, j2 = _word_range(after, q1, q2)
        if tag == "equal":
            _append(opcodes, ("equal", i1, i2, j1, j2))
        elif i1 == i2 or j1 == j2:
            if i1 != i2 or j1 != j2:
                _append(opcodes, ("delete" if j1 == j2 else "insert", i1, i2, j1, j2))
        else:
            old_words, new_words = before.tokens[i1:i2], after.tokens[j1:j2]
            exact = max(i2 - i1, j2 - j1) <= _EXACT_WORDS
            if min(i2 - i1, j2 - j1) > _EXACT_WORDS and _shared(old_words, new_words) < _WORTH:
                # Long stretches on both sides with few words in common: a rewrite, which
                # comparing word by word would take long to find next to nothing in.
                _append(opcodes, ("replace", i1, i2, j1, j2))
                continue
            words = SequenceMatcher(None, old_words, new_words, autojunk=not exact)
            for op, a1, a2, b1, b2 in words.get_opcodes():
                _append(opcodes, (op, i1 + a1, i1 + a2, j1 + b1, j1 + b2))  # type: ignore[arg-type]
    # Text before the first paragraph or after the last has no words, so the ops cover both.
    return Alignment(
        old_length=len(old),
        new_length=len(new),
        old_starts=before.starts,
        new_starts=after.starts,
        opcodes=tuple(opcodes),
        moved=_moved(opcodes, before, after),
    )


def _shared(old: Sequence[str], new: Sequence[str]) -> float:
    """The share of the shorter sequence's words that the other has too (as a multiset)."""
    common = sum((Counter(old) & Counter(new)).values())
    return common / max(1, min(len(old), len(new)))


def _word_range(words: _Words, first: int, end: int) -> tuple[int, int]:
    """Word indices covered by paragraphs ``first`` to ``end`` (exclusive)."""
    if first == end:
        at = words.paragraphs[first][0] if first < len(words.paragraphs) else len(words.tokens)
        return at, at
    return words.paragraphs[first][0], words.paragraphs[end - 1][1]


def _append(
    opcodes: list[tuple[Tag, int, int, int, int]], op: tuple[Tag, int, int, int, int]
) -> None:
    """Add ``op``, joining it to the previous one when both are unchanged text or both are
    changes, so that two changes never stand side by side."""
    tag, i1, i2, j1, j2 = op
    if i1 == i2 and j1 == j2:
        return
    if opcodes and (opcodes[-1][0] == "equal") == (tag == "equal"):
        _, a1, _, b1, _ = opcodes[-1]
        joined: Tag = tag
        if tag != "equal":
            joined = "replace" if a1 < i2 and b1 < j2 else "delete" if b1 == j2 else "insert"
        opcodes[-1] = (joined, a1, i2, b1, j2)
        return
    opcodes.append(op)


def _size(words: _Words, p1: int, p2: int) -> int:
    i1, i2 = _word_range(words, p1, p2)
    return i2 - i1


def _merge_moves(
    blocks: list[tuple[str, int, int, int, int]], before: _Words, after: _Words
) -> list[tuple[str, int, int, int, int]]:
    """Join an unchanged stretch to the changes on both sides when it has fewer words than each
    of them: a paragraph moved across edited ones would otherwise be kept in place and the
    edited paragraphs taken for new text. Word by word, the longest common run wins."""
    merged: list[tuple[str, int, int, int, int]] = []
    for block in blocks:
        merged.append(block)
        while len(merged) >= 3:
            (t1, a1, _, c1, _), (t2, b1, b2, d1, d2), (t3, _, a3, _, c3) = merged[-3:]
            if t1 == "equal" or t2 != "equal" or t3 == "equal":
                break
            middle = _size(before, b1, b2)
            left = max(_size(before, a1, b1), _size(after, c1, d1))
            right = max(_size(before, b2, a3), _size(after, d2, c3))
            total = max(_size(before, a1, a3), _size(after, c1, c3))
            if middle >= min(left, right) or total > _MERGE_LIMIT:
                break
            merged[-3:] = [("replace", a1, a3, c1, c3)]
    return merged


def _moved(
    opcodes: list[tuple[Tag, int, int, int, int]], before: _Words, after: _Words
) -> tuple[tuple[int, int, int], ...]:
    """Old paragraphs none of whose words kept their place, found unchanged among new
    paragraphs none of whose words have a counterpart: (first word, end word, new first word)."""
    kept_old = bytearray(len(before.tokens))
    kept_new = bytearray(len(after.tokens))
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            kept_old[i1:i2] = b"\x01" * (i2 - i1)
            kept_new[j1:j2] = b"\x01" * (j2 - j1)
    arrived: dict[tuple[str, ...], int] = {}
    for first, end in after.paragraphs:
        if not any(kept_new[first:end]):
            arrived.setdefault(after.tokens[first:end], first)
    found = []
    for first, end in before.paragraphs:
        if any(kept_old[first:end]):
            continue
        new_first = arrived.pop(before.tokens[first:end], None)
        if new_first is not None:
            found.append((first, end, new_first))
    return tuple(found)
