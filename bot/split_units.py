"""The atoms the splitter's dynamic program arranges (see ``bot.splitter``): whole paragraphs,
or for a paragraph too large for any part together with the headings that must stay with it,
its sentences, and inside a sentence that is still too long, chunks of words. Units smaller
than a two-hundredth of the maximum part are joined to the next at a weak break, so that a
story of one-word paragraphs cannot make the look-back window thousands of units long."""

from __future__ import annotations

import re

from bot.paragraphs import BREAK_BITS, DIALOGUE, HEADING, LEAD_IN, Break, ParagraphTable
from bot.split_choice import WEAKNESS_BY_FLAGS, WEAKNESS_SENTENCE, WEAKNESS_WORD

# Word chunks inside a sentence that alone exceeds a part: cut points every maxw/64 words.
_WORD_CHUNKS_PER_PART = 64
_TINY_UNIT_FRACTION = 200

# A sentence ends at a run of terminal punctuation (with closing quotes or brackets) followed by
# white space. The look-behind lets a run start only at its first character and the possessive
# quantifier never gives characters back, so the scan stays linear on long runs like "!!!!".
_SENTENCE_END = re.compile(r"(?<![.!?…])[.!?…][.!?…\"'”’)\]»]*+(?=\s)")
_WORD = re.compile(r"\S+")


class Units:
    """The units of a story's text, a column each. Index k describes the unit and the boundary
    before it."""

    __slots__ = ("breakable", "cut", "strength", "weakness", "words")

    def __init__(self, text: str, paragraphs: ParagraphTable, high: int) -> None:
        self.cut: list[int] = []  # where a part that begins with this unit begins in the text
        self.words: list[int] = []
        self.breakable: list[bool] = []  # may a part begin with this unit
        self.strength: list[int] = []  # kind of the boundary before this unit (``Break``)
        self.weakness: list[float] = []  # cost of ending a part at that boundary
        tiny = high // _TINY_UNIT_FRACTION
        cuts, sizes, breakables = self.cut, self.words, self.breakable
        strengths, weaknesses = self.strength, self.weakness
        rfind = text.rfind
        by_flags = WEAKNESS_BY_FLAGS
        current_bits, previous_bits = BREAK_BITS | DIALOGUE, DIALOGUE | LEAD_IN
        paragraph_break = Break.PARAGRAPH
        break_bits, heading = BREAK_BITS, HEADING
        chain = 0  # words of the run of headings that must stay with the next paragraph
        previous = -1  # the flags of the paragraph before, none yet
        last = tiny  # the words of the last unit (none yet: too many to join the next to)
        # Locals and the weakness looked up: this loop runs once per paragraph.
        for start, end, words, flags in zip(
            paragraphs.starts, paragraphs.ends, paragraphs.words, paragraphs.flags, strict=True
        ):
            strength = flags & break_bits
            if previous < 0:
                breakable, glue, weakness = False, 0, 0.0
            else:
                breakable = not previous & heading
                glue = 0 if breakable else chain
                weakness = by_flags[(flags & current_bits) | ((previous & previous_bits) << 1)]
            if words + glue > high:
                first = len(cuts)
                self._add_giant(text, start, end, high - glue, high, tiny)
                # The first piece begins the paragraph: give it the paragraph's own boundary.
                cuts[first] = start if text[start - 1] == "\n" else rfind("\n", 0, start) + 1
                breakables[first] = breakable
                strengths[first] = strength
                weaknesses[first] = weakness
                last = sizes[-1]
            elif last < tiny and strength <= paragraph_break and last + words <= high:
                last += words
                sizes[-1] = last
            else:
                # A part begins where the paragraph's line does.
                cuts.append(start if text[start - 1] == "\n" else rfind("\n", 0, start) + 1)
                sizes.append(words)
                breakables.append(breakable)
                strengths.append(strength)
                weaknesses.append(weakness)
                last = words
            chain = glue + words if flags & heading else 0
            previous = flags

    def _add_giant(
        self, text: str, start: int, end: int, first_budget: int, high: int, tiny: int
    ) -> None:
        """Sentence units for a paragraph too large for a part; word chunks for a sentence too
        large as well. The caller gives the first piece the paragraph's own boundary."""
        sentence_start = start
        spans: list[tuple[int, int]] = []
        for match in _SENTENCE_END.finditer(text, start, end):
            spans.append((sentence_start, match.end()))
            following = _WORD.search(text, match.end(), end)
            if following is None:
                sentence_start = end
                break
            sentence_start = following.start()
        if sentence_start < end:
            spans.append((sentence_start, end))
        first = len(self.cut)
        chunk = max(1, high // _WORD_CHUNKS_PER_PART)

        def append(cut: int, words: int, strength: Break, weakness: float) -> None:
            last = len(self.cut) - 1
            if last >= first:
                budget = first_budget if last == first else high
                if self.words[last] < tiny and self.words[last] + words <= budget:
                    self.words[last] += words
                    return
            self.cut.append(cut)
            self.words.append(words)
            self.breakable.append(True)
            self.strength.append(strength)
            self.weakness.append(weakness)

        for s, e in spans:
            budget = first_budget if len(self.cut) == first else high
            words = len(text[s:e].split())
            if words <= budget:
                append(s, words, Break.SENTENCE, WEAKNESS_SENTENCE)
                continue
            size = max(1, min(chunk, budget))
            count = 0
            chunk_start = s
            strength, weakness = Break.SENTENCE, WEAKNESS_SENTENCE
            for word in _WORD.finditer(text, s, e):
                if count == size:
                    append(chunk_start, count, strength, weakness)
                    strength, weakness = Break.WORD, WEAKNESS_WORD
                    chunk_start = word.start()
                    count = 0
                count += 1
            if count:
                append(chunk_start, count, strength, weakness)
