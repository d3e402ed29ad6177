"""What a reader would notice about a story as the library read it: licence or boilerplate text
left in the parts, a part that is mostly headings, a rating guessed from "Not Rated", a structure
that looks wrong. ``serialbot check`` shows each as a warning naming the file and the place."""

from __future__ import annotations

import bisect
import re
import statistics

from bot.story import Break, Serial

_BOILERPLATE = re.compile(
    r"project gutenberg|gutenberg\.org|\*\*\* ?(?:start|end) of th|small print|"
    r"full license|archiveofourown\.org|posted originally on the archive",
    re.IGNORECASE,
)
_MOSTLY = 0.5  # share of a part's words in headings that makes it "mostly headings"
_LONG_CHAPTER = 40  # times the median chapter
_MIN_CHAPTERS = 3


def story_warnings(serial: Serial) -> list[str]:
    """Each warning as "<file>: <place>: <what>"."""
    story = serial.story
    name = story.path.name
    found = [f"{name}: {warning}" for warning in story.warnings]
    for part in serial.parts:
        text = "\n".join(part.paragraphs)
        match = _BOILERPLATE.search(text)
        if match is not None:
            found.append(
                f"{name}: part {part.index}: licence or boilerplate text is posted "
                f"(“{_around(text, match.start())}”)"
            )
    found += _heading_parts(serial)
    found += _chapter_sizes(serial)
    return found


def _heading_parts(serial: Serial) -> list[str]:
    story = serial.story
    paragraphs = list(story.paragraphs)  # made once, not once per part
    starts = [p.start for p in paragraphs]
    found: list[str] = []
    for part in serial.parts:
        first = bisect.bisect_left(starts, part.start)
        inside = paragraphs[first : bisect.bisect_left(starts, part.end, first)]
        total = sum(p.words for p in inside)
        headings = sum(p.words for p in inside if p.heading)
        if total and headings > total * _MOSTLY and len(serial.parts) > 1:
            found.append(
                f"{story.path.name}: part {part.index}: mostly headings "
                f"({headings} of {total} words); the structure may be misread"
            )
    return found


def _chapter_sizes(serial: Serial) -> list[str]:
    story = serial.story
    sizes: list[tuple[str, int]] = []
    for paragraph in story.paragraphs:
        if paragraph.heading and paragraph.break_before == Break.CHAPTER:
            title = " ".join(story.paragraph_text(paragraph).split())
            sizes.append((title, 0))
        elif sizes:
            sizes[-1] = (sizes[-1][0], sizes[-1][1] + paragraph.words)
    if len(sizes) < _MIN_CHAPTERS:
        return []
    median = statistics.median(words for _, words in sizes)
    title, words = max(sizes, key=lambda item: item[1])
    if median and words > _LONG_CHAPTER * median:
        return [
            f"{story.path.name}: chapter “{title[:60]}”: {words:,} words, over {_LONG_CHAPTER} "
            f"times the median chapter ({median:,.0f}); a heading may have been missed"
        ]
    return []


def _around(text: str, position: int) -> str:
    return " ".join(text[max(0, position - 20) : position + 40].split())
