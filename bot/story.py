"""What a story is once loaded: normalised text, paragraphs with the strength of the break before
each, and the installments (parts) the splitter cuts it into.

The core knows nothing of Discord. Offsets are positions in ``Story.text``, the normalised text, so
progress can be kept by text position and parts tile the text exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from pathlib import Path

WORDS_PER_MINUTE = 230


class StoryError(Exception):
    """A story file that cannot be used; ``str()`` names the file and the reason."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path.name}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple[type[StoryError], tuple[Path, str]]:
        return (type(self), (self.path, self.reason))


class Rating(StrEnum):
    GENERAL = "general"
    TEEN = "teen"
    MATURE = "mature"
    EXPLICIT = "explicit"

    @property
    def age_restricted(self) -> bool:
        """Discord's policy: such stories may only be posted in age-restricted channels."""
        return self in (Rating.MATURE, Rating.EXPLICIT)


class Break(IntEnum):
    """Strength of a boundary; a larger value is a better place to end a part."""

    WORD = 0
    SENTENCE = 1
    PARAGRAPH = 2
    SCENE = 3
    CHAPTER = 4
    END = 5


@dataclass(frozen=True, slots=True)
class StoryMeta:
    title: str
    author: str | None = None
    rating: Rating = Rating.GENERAL
    content_notes: tuple[str, ...] = ()
    summary: str | None = None
    words_per_part: int | None = None
    language: str | None = None
    # What else the file says about the work, in its order: ("Fandom", "Sherlock Holmes"), ...
    details: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Paragraph:
    start: int
    end: int
    words: int
    break_before: Break
    heading: bool = False
    dialogue: bool = False
    # The author's line breaks are meant (verse, a letter's address, a list): keep them.
    lines: bool = False
    # Ends by leading in to what follows ("... and says:"), a weak place to end a part.
    lead_in: bool = False
    # A heading that opens a book, volume or act: chapters below it are named under it.
    major: bool = False


@dataclass(frozen=True, slots=True)
class Aside:
    """Text that stays in ``Story.text`` (parts still tile it) but is not posted: a contents list,
    a title page, a transcriber's note, a publisher's advertisement."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Story:
    slug: str
    path: Path
    meta: StoryMeta
    text: str
    paragraphs: tuple[Paragraph, ...]
    revision: str
    # True when a line break inside a paragraph is only wrapping (hard-wrapped plain text, or
    # Markdown), so readers should see it as a space.
    soft_wraps: bool = False
    asides: tuple[Aside, ...] = ()
    # How the file was read, for ``check``: "UTF-8", "Windows-1252", "EPUB", "AO3 HTML"...
    source: str = "UTF-8"
    # What a reader would notice about how the file was read: ``check`` shows them as warnings.
    warnings: tuple[str, ...] = ()
    # Italics and bold the file marks (HTML, EPUB): (start, end, style) runs of ``text`` in
    # ascending order, apart, each within a line; style 1 italic, 2 bold, 3 both. Empty for
    # plain text, whose asterisks are the author's and shown as written.
    emphasis: tuple[tuple[int, int, int], ...] = ()

    @property
    def title(self) -> str:
        return self.meta.title

    @property
    def words(self) -> int:
        return sum(p.words for p in self.paragraphs)

    def paragraph_text(self, paragraph: Paragraph) -> str:
        return self.text[paragraph.start : paragraph.end]


@dataclass(frozen=True, slots=True)
class Part:
    """One installment. ``start``/``end`` tile ``Story.text``: joining every part's span gives the
    whole normalised text back. ``paragraphs`` are the readable pieces (a giant paragraph may be
    cut at a sentence or word boundary, then its pieces appear in two parts)."""

    index: int
    start: int
    end: int
    paragraphs: tuple[str, ...]
    words: int
    ends_with: Break
    heading: str | None = None

    @property
    def minutes(self) -> int:
        return max(1, round(self.words / WORDS_PER_MINUTE))


@dataclass(frozen=True, slots=True)
class Serial:
    """A story together with its installments: what a channel subscribes to."""

    story: Story
    parts: tuple[Part, ...]

    @property
    def slug(self) -> str:
        return self.story.slug

    def part(self, index: int) -> Part:
        """``index`` is 1-based, as readers count."""
        return self.parts[index - 1]

    def part_at(self, offset: int) -> Part:
        """The part containing text position ``offset`` (used to keep progress when a story is
        edited and its parts change)."""
        for part in self.parts:
            if offset < part.end:
                return part
        return self.parts[-1]
