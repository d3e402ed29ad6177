"""Keeping each channel on its story as the library changes: a story gone (the channel pauses
until it is back), a story back (the channel continues), a story edited (the channel keeps its
place in the text). Part of the courier, which brings the store, the library and the notices."""

from __future__ import annotations

import asyncio
import logging

from bot.clock import Clock
from bot.scheduler._answers import (
    DeliveryResult,
    back_notice,
    edited_notice,
    missing_notice,
    renumbered_notice,
    unsure_notice,
)
from bot.scheduler._revisions import MISSING_STORY, UNPLACED, Revisions, Unsure
from bot.scheduler._settings import SchedulerSettings, SerialSource
from bot.scheduler._timing import overdue_plan, timing
from bot.store import Store, Subscription
from bot.story import Serial
from bot.uploads import shown_slug

log = logging.getLogger(__name__)


class StoryFollowing:
    """The courier's part that follows the library; ``Courier`` provides what is declared."""

    _store: Store
    _library: SerialSource
    _clock: Clock
    _settings: SchedulerSettings
    revisions: Revisions

    def lock(self, channel_id: int) -> asyncio.Lock:
        raise NotImplementedError

    async def _notify(self, sub: Subscription, text: str) -> None:
        raise NotImplementedError

    async def pause_missing(self, sub: Subscription) -> DeliveryResult:
        """The story file is gone: pause until it is back, and say so once."""
        reason = f"the story “{shown_slug(sub.slug)}” is no longer in the library"
        paused = await self._store.pause(
            sub.channel_id, reason, self._clock.now(), cause=MISSING_STORY
        )
        log.warning("Paused channel %s: %s", sub.channel_id, reason)
        await self._notify(paused or sub, missing_notice(sub.slug))
        return DeliveryResult("paused", paused, reason=reason)

    async def revive(self, sub: Subscription, serial: Serial) -> Subscription:
        """The story of a channel paused for its missing file is back: continue, missed parts
        going out per the catch-up policy."""
        now = self._clock.now()
        schedule, zone = timing(sub)
        slot, due = overdue_plan(sub, schedule, zone, now, self._settings)
        pending = await self._store.delivery(sub.channel_id, sub.next_part)
        if pending is not None and pending.state == "pending":
            due = now
        resumed = await self._store.resume(sub.channel_id, slot_due=slot, next_due=due, now=now)
        assert resumed is not None
        log.info("Story %s is back: channel %s continues", sub.slug, sub.channel_id)
        await self._notify(resumed, back_notice(serial.story.title))
        return resumed

    async def check_all(self) -> None:
        """At start-up: pause the channels whose story is gone, continue those whose story came
        back, and move every channel onto the revision of its story that is loaded now."""
        for listed in await self._store.unfinished(shards=self._settings.shards):
            try:
                if await self._settled(listed):
                    continue
                async with self.lock(listed.channel_id):
                    sub = await self._store.subscription(listed.channel_id)
                    if sub is None or sub.completed:
                        continue
                    serial = self._library.get(sub.slug)
                    if serial is None:
                        if not sub.paused:
                            await self.pause_missing(sub)
                        continue
                    if sub.paused and sub.pause_cause == MISSING_STORY:
                        sub = await self.revive(sub, serial)
                    await self.follow_revision(sub, serial)
            except Exception:
                log.exception("Could not check the story of channel %s", listed.channel_id)

    async def _settled(self, sub: Subscription) -> bool:
        """Whether a channel, as listed, needs nothing at start-up: its story is there (and it
        was not paused for want of it) and its part numbers still hold. Such a channel is not
        read again, so a start with many channels costs no trip to the database for each."""
        serial = self._library.get(sub.slug)
        if serial is None or (sub.paused and sub.pause_cause == MISSING_STORY):
            return False
        if not self.revisions.holds(sub, self.revisions.view(sub, serial)):
            return False
        await self.revisions.keep(serial)
        return True

    async def follow_revision(
        self, sub: Subscription, serial: Serial
    ) -> tuple[Subscription, Serial] | DeliveryResult:
        """The channel's subscription and parts on the loaded revision of its story. After an
        edit, the channel keeps its place in the text and is told what changed; when its place
        cannot be found, it is paused for an admin to choose."""
        revisions = self.revisions
        view = revisions.view(sub, serial)
        if revisions.holds(sub, view):
            await revisions.keep(serial)
            return sub, view
        followed = await revisions.follow(sub, serial)
        title = serial.story.title
        if isinstance(followed, Unsure):
            reason = f"it was edited and {followed.reason}, so its place cannot be found"
            paused = await self._store.pause(
                sub.channel_id, reason, self._clock.now(), cause=UNPLACED
            )
            log.warning("Paused channel %s: %s", sub.channel_id, reason)
            await self._notify(paused or sub, unsure_notice(title, reason))
            return DeliveryResult("paused", paused, reason=reason)
        updated, view = followed.subscription, followed.serial
        if followed.change is None:
            if updated.next_part != sub.next_part or len(view.parts) != sub.part_count:
                await self._notify(updated, renumbered_notice(view, sub, updated.next_part))
        elif sub.next_part > 1 and (
            followed.change.words_changed or len(view.parts) != sub.part_count
        ):
            text = edited_notice(title, followed.change, updated.next_part, len(view.parts))
            await self._notify(updated, text)
        await revisions.forget_unused()
        return updated, view
