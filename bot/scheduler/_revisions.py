"""Following a story through edits and absences, channel by channel.

Each revision a channel follows is kept in the store, so that when the file changes the text the
channel was reading can be aligned with the new one (``bot.revision``): the channel keeps the
numbers of the parts it received and the rest of the new text, from the counterpart of the last
word it received, is cut anew (``bot.recut``). When the alignment is too weak to be sure, the
channel is paused and an admin picks the place. A story whose file is gone pauses its channels
(said once, at start-up); when the file is back they continue by themselves.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass

from bot.clock import Clock
from bot.library import story_from_text
from bot.recut import carried, channel_serial
from bot.revision import Alignment, Change, align
from bot.scheduler._settings import SerialSource
from bot.splitter import DEFAULT_TOLERANCE, DEFAULT_WORDS_PER_PART, split
from bot.store import Store, Subscription
from bot.story import Serial

log = logging.getLogger(__name__)

MISSING_STORY = "story"  # the pause cause of a channel whose story file is gone
UNPLACED = "edit"  # the pause cause of a channel whose place an edit made impossible to find
_ALIGNMENTS_KEPT = 8


@dataclass(frozen=True, slots=True)
class Edited:
    """A channel moved onto a new revision: what changed around its place, and its parts."""

    subscription: Subscription
    serial: Serial
    change: Change | None  # None when the old text was not kept (place found by offset)


@dataclass(frozen=True, slots=True)
class Unsure:
    """The new text could not be aligned well enough to place the channel."""

    reason: str


class Revisions:
    def __init__(self, store: Store, library: SerialSource, clock: Clock) -> None:
        self._store = store
        self._library = library
        self._clock = clock
        self._kept: set[tuple[str, str]] = set()
        self._alignments: OrderedDict[tuple[str, str, str], tuple[Alignment, Serial]] = (
            OrderedDict()
        )

    def view(self, sub: Subscription, serial: Serial) -> Serial:
        """The serial as the channel numbers its parts (its own parts after an edit)."""
        cuts = sub.cuts if sub.revision == serial.story.revision else None
        words, tolerance = self._cutting()
        return channel_serial(serial, cuts, words, tolerance)

    async def keep(self, serial: Serial) -> None:
        """Keep the text of the revision a channel follows, to align it after an edit."""
        key = (serial.slug, serial.story.revision)
        if key in self._kept:
            return
        await self._store.save_text(*key, serial.story.text, self._clock.now())
        self._kept.add(key)

    def holds(self, sub: Subscription, view: Serial) -> bool:
        """Whether the channel's part numbers still mean the text it was following."""
        if view.story.revision != sub.revision:
            return False
        if sub.part_count is not None and sub.part_count != len(view.parts):
            return False
        if sub.next_part > len(view.parts):
            return True
        return view.part(sub.next_part).start == sub.position

    async def follow(self, sub: Subscription, serial: Serial) -> Edited | Unsure:
        """Move a channel whose numbering no longer holds onto ``serial``'s revision."""
        received = sub.next_part - 1
        if sub.revision == serial.story.revision:
            # Same text cut anew (another part length): the place is exact.
            old_view = self.view(sub, serial)
            return await self._remap(sub, serial, old_view, None, sub.position, received)
        old_text = await self._store.story_text(sub.slug, sub.revision)
        if old_text is None:
            return await self._by_offset(sub, serial)
        alignment, old_serial = await self._align(sub, serial, old_text)
        doubt = alignment.doubt(sub.position)
        if doubt is not None:
            return Unsure(doubt)
        old_view = channel_serial(old_serial, sub.cuts, *self._cutting())
        return await self._remap(sub, serial, old_view, alignment, sub.position, received)

    async def forget_unused(self) -> None:
        removed = await self._store.forget_texts()
        if removed:
            log.info("Dropped %s story texts no channel follows any more", removed)
            self._kept.clear()

    # --- helpers -------------------------------------------------------------------------------

    async def _remap(
        self,
        sub: Subscription,
        serial: Serial,
        old_view: Serial,
        alignment: Alignment | None,
        position: int,
        received: int,
    ) -> Edited:
        def moved(offset: int) -> int:
            return offset if alignment is None else alignment.position(offset)

        place = moved(position)
        starts = [old_view.part(n).start for n in range(1, min(received, len(old_view.parts)) + 1)]
        cuts: tuple[int, ...] | None = None
        if received:
            # Keep the received parts' numbers: their starts in the new text, then the place.
            if alignment is not None:
                starts = [alignment.start_of(s) for s in starts]
            cuts = carried(starts, place, received)
            parts = serial.parts
            if received < len(parts) and parts[received].start == place:
                # The story's own part follows the channel's place: its own numbering holds.
                cuts = None
        else:
            place = 0
        words, tolerance = self._cutting()
        view = channel_serial(serial, cuts, words, tolerance)
        updated = await self._store.remap_revision(
            sub.id,
            revision=serial.story.revision,
            next_part=sub.next_part,
            now=self._clock.now(),
            part_count=len(view.parts),
            position=place,
            cuts=cuts,
        )
        assert updated is not None
        await self.keep(serial)
        log.info(
            "Story %s changed (revision %s -> %s): channel %s continues at offset %s (was %s), "
            "part %s of %s",
            sub.slug,
            sub.revision,
            serial.story.revision,
            sub.channel_id,
            place,
            position,
            sub.next_part,
            len(view.parts),
        )
        change = alignment.change(position) if alignment is not None else Change()
        return Edited(updated, view, change)

    async def _by_offset(self, sub: Subscription, serial: Serial) -> Edited:
        """Without the old text (kept only since this version), go back to the start of the
        part holding the old offset: a reader may see some text again but misses none."""
        parts = serial.parts
        position = min(sub.position, serial.story.length)
        number = next((i for i, p in enumerate(parts, start=1) if position < p.end), len(parts) + 1)
        updated = await self._store.remap_revision(
            sub.id,
            revision=serial.story.revision,
            next_part=number,
            now=self._clock.now(),
            part_count=len(parts),
            position=parts[number - 1].start if number <= len(parts) else serial.story.length,
            cuts=None,
        )
        assert updated is not None
        await self.keep(serial)
        log.info(
            "Story %s changed and its earlier text was not kept: channel %s continues at part %s",
            sub.slug,
            sub.channel_id,
            number,
        )
        return Edited(updated, serial, None)

    async def _align(
        self, sub: Subscription, serial: Serial, old_text: str
    ) -> tuple[Alignment, Serial]:
        key = (sub.slug, sub.revision, serial.story.revision)
        found = self._alignments.get(key)
        if found is None:
            words, tolerance = self._cutting()
            # Aligning a novel takes a while: off the event loop, so other channels go on.
            found = await asyncio.to_thread(_align_and_cut, old_text, serial, words, tolerance)
            self._alignments[key] = found
            while len(self._alignments) > _ALIGNMENTS_KEPT:
                self._alignments.popitem(last=False)
        return found

    def _cutting(self) -> tuple[int, float]:
        """The part length and tolerance the library cuts with."""
        words = getattr(self._library, "words_per_part", DEFAULT_WORDS_PER_PART)
        tolerance = getattr(self._library, "tolerance", DEFAULT_TOLERANCE)
        return int(words), float(tolerance)


def _align_and_cut(
    old_text: str, serial: Serial, words: int, tolerance: float
) -> tuple[Alignment, Serial]:
    """The alignment of the old text with the new, and the old text cut as it was."""
    story = serial.story
    fields = {"title": story.meta.title, "words_per_part": story.meta.words_per_part}
    old_story = story_from_text(old_text, path=story.path, fields=fields)
    target = story.meta.words_per_part or words
    old_serial = Serial(story=old_story, parts=split(old_story, target, tolerance))
    return align(old_text, story.text), old_serial
