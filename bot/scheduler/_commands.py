"""The scheduler's public face: its lifecycle and what admins ask of a channel (subscribe,
pause, resume, reschedule, move). What readers ask (the next part now, status, a posted part)
is in ``_reading``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.limits import ARCHIVE_MINUTES
from bot.poster import Poster
from bot.schedule import parse_schedule, parse_timezone
from bot.scheduler._delivery import Courier, PartPosted
from bot.scheduler._errors import (
    AlreadySubscribed,
    BadArchiveDuration,
    NotSubscribed,
    PartOutOfRange,
    UnknownStory,
)
from bot.scheduler._loop import Loop
from bot.scheduler._reading import ReaderRequests
from bot.scheduler._revisions import MISSING_STORY
from bot.scheduler._settings import SchedulerSettings, SerialSource
from bot.scheduler._timing import catch_up, overdue_plan, timing
from bot.store import CatchUp, Store, Subscription, SubscriptionExists
from bot.story import Serial

log = logging.getLogger(__name__)

THREAD_ARCHIVE_MINUTES = ARCHIVE_MINUTES
_DEFAULT_SETTINGS = SchedulerSettings()


class Scheduler(ReaderRequests):
    def __init__(
        self,
        store: Store,
        library: SerialSource,
        poster: Poster,
        clock: Clock,
        settings: SchedulerSettings = _DEFAULT_SETTINGS,
        *,
        default_timezone: str = "UTC",
        on_posted: Callable[[PartPosted], None] | None = None,
    ) -> None:
        self._store = store
        self._library = library
        self._clock = clock
        self.settings = settings
        self.default_timezone = parse_timezone(default_timezone).key
        self._courier = Courier(store, library, poster, clock, settings, on_posted)
        self._loop = Loop(store, self._courier, clock, settings)

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Finish deliveries a crash left pending, apply the catch-up policy to overdue
        subscriptions, then start the loop."""
        if self._loop.started:
            return
        self._courier.stopping = False
        with self._courier.outside_loop():
            await self._courier.check_all()
            await self._courier.repair()
        await catch_up(self._store, self._library, self.settings, self._clock.now())
        if self._courier.stopping:
            return  # stop() came while repairing: do not start what it meant to end
        self._loop.start()

    async def stop(self, grace: float | None = None) -> None:
        """Let posts under way finish (start-up repairs and requests too), then stop, so that no
        delivery is left half-recorded. Safe to call twice, and before ``start`` has returned.

        With ``grace``, posts still waiting on Discord after that many seconds are abandoned:
        their deliveries stay pending and the next start finishes them, as after a kill (a
        service manager stops waiting and kills after its own timeout anyway)."""
        self._courier.stopping = True
        try:
            async with asyncio.timeout(grace):
                await self._loop.stop()
                await self._courier.outside_done()
        except TimeoutError:
            log.warning(
                "posts still waiting on Discord after %.0f s are left pending; the next start "
                "finishes them",
                grace,
            )
            await self._loop.abandon()
        self._loop.signal_parked()

    @property
    def running(self) -> bool:
        return self._loop.running

    def wake(self) -> None:
        """Make the loop look at the database again (something changed)."""
        self._loop.wake()

    async def idle(self) -> None:
        """Return once the loop is waiting, no post is under way and nothing is due now. For
        tests and the demo, which move a ``ManualClock`` and then wait for the work it caused."""
        await self._loop.idle()

    # --- commands ------------------------------------------------------------------------------

    async def subscribe(
        self,
        *,
        guild_id: int,
        channel_id: int,
        slug: str,
        schedule: str,
        timezone: str | None = None,
        start_part: int = 1,
        subscribed_by: int,
        thread_archive_minutes: int | None = None,
        catch_up: CatchUp | None = None,
    ) -> Subscription:
        parsed = parse_schedule(schedule)
        zone = parse_timezone(timezone) if timezone is not None else self._zone()
        serial = self._library.get(slug)
        if serial is None:
            raise UnknownStory(slug)
        self._check_part(serial, start_part)
        if thread_archive_minutes is not None and (
            thread_archive_minutes not in THREAD_ARCHIVE_MINUTES
        ):
            raise BadArchiveDuration()
        now = self._clock.now()
        slot = parsed.first_after(now, zone)
        async with self._courier.lock(channel_id):
            try:
                sub = await self._store.create_subscription(
                    guild_id=guild_id,
                    channel_id=channel_id,
                    slug=serial.slug,
                    revision=serial.story.revision,
                    next_part=start_part,
                    position=serial.part(start_part).start,
                    schedule=parsed.text,
                    timezone=zone.key,
                    slot_due=slot,
                    catch_up=catch_up or self.settings.catch_up,
                    subscribed_by=subscribed_by,
                    thread_archive_minutes=thread_archive_minutes,
                    now=now,
                    part_count=len(serial.parts),
                    catch_up_own=catch_up is not None,
                )
                await self._courier.revisions.keep(serial)
            except SubscriptionExists as exc:
                following = self._library.get(exc.existing.slug)
                title = following.story.title if following else exc.existing.slug
                raise AlreadySubscribed(exc.existing, title) from None
        log.info(
            "Channel %s subscribed to %s (%s, %s) from part %s; first part due %s",
            channel_id,
            serial.slug,
            parsed.text,
            zone.key,
            start_part,
            slot.isoformat(),
        )
        self.wake()
        return sub

    async def unsubscribe(self, channel_id: int) -> Subscription:
        async with self._courier.lock(channel_id):
            sub = await self._store.delete_subscription(channel_id)
        if sub is None:
            raise NotSubscribed(channel_id)
        log.info("Channel %s unsubscribed from %s", channel_id, sub.slug)
        self.wake()
        return sub

    async def pause(self, channel_id: int, reason: str) -> Subscription:
        # No channel lock: a post under way finishes and leaves the subscription paused.
        sub = await self._store.pause(channel_id, reason, self._clock.now())
        if sub is None:
            raise NotSubscribed(channel_id)
        log.info("Channel %s paused: %s", channel_id, reason)
        self.wake()
        return sub

    async def pause_guild(self, guild_id: int, reason: str) -> int:
        count = await self._store.pause_guild(guild_id, reason, self._clock.now())
        if count:
            log.info("Paused %s subscriptions of guild %s: %s", count, guild_id, reason)
            self.wake()
        return count

    async def pause_unreachable(self, channel_id: int, reason: str) -> Subscription | None:
        """The channel cannot be posted to any more (it was deleted, say): pause its running
        subscription and tell the server once. ``None`` when nothing there was running, so a
        second report of the same loss says nothing again."""
        async with self._courier.lock(channel_id):
            sub = await self._store.subscription(channel_id)
            if sub is None or sub.paused or sub.completed:
                return None
            result = await self._courier.pause(sub, self._library.get(sub.slug), reason)
        self.wake()
        return result.subscription

    async def resume(self, channel_id: int) -> Subscription:
        """Resume a paused channel. A part held back while paused goes out per the catch-up
        policy (by default one part now, then the schedule)."""
        async with self._courier.lock(channel_id):
            sub = await self._require(channel_id)
            if not sub.paused:
                return sub
            now = self._clock.now()
            slot: datetime | None = None
            due: datetime | None = None
            if not sub.completed:
                schedule, zone = timing(sub)
                pending = await self._store.delivery(channel_id, sub.next_part)
                slot, due = overdue_plan(sub, schedule, zone, now, self.settings)
                if pending is not None and pending.state == "pending":
                    due = now
            resumed = await self._store.resume(channel_id, slot_due=slot, next_due=due, now=now)
        assert resumed is not None
        log.info("Channel %s resumed; next due %s", channel_id, due)
        self.wake()
        return resumed

    async def set_schedule(
        self, channel_id: int, schedule: str, timezone: str | None = None
    ) -> Subscription:
        parsed = parse_schedule(schedule)
        async with self._courier.lock(channel_id):
            sub = await self._require(channel_id)
            zone = parse_timezone(timezone) if timezone is not None else self._zone(sub.timezone)
            now = self._clock.now()
            slot = parsed.first_after(now, zone)
            due: datetime | None = slot
            if sub.completed:
                due = None
            elif sub.next_due is not None and sub.next_due < (sub.slot_due or sub.next_due):
                # Acting ahead of the slot (a retry, a catch-up, the closing message): keep that.
                due = min(sub.next_due, slot)
            updated = await self._store.set_schedule(
                channel_id,
                schedule=parsed.text,
                timezone=zone.key,
                slot_due=slot,
                next_due=due,
                now=now,
            )
        assert updated is not None
        log.info("Channel %s now posts %s (%s)", channel_id, parsed.text, zone.key)
        self.wake()
        return updated

    async def set_catch_up(self, channel_id: int, catch_up: CatchUp | None) -> Subscription:
        """The channel's own catch-up policy; ``None`` makes it follow the configuration."""
        sub = await self._store.set_catch_up(channel_id, catch_up, self._clock.now())
        if sub is None:
            raise NotSubscribed(channel_id)
        return sub

    async def jump(self, channel_id: int, part: int) -> Subscription:
        """Make ``part`` the next part to post (at the next slot)."""
        return await self._move_to(channel_id, part)

    async def restart(self, channel_id: int) -> Subscription:
        """Start the story again from part 1 (at the next slot)."""
        return await self._move_to(channel_id, 1)

    async def subscription(self, channel_id: int) -> Subscription | None:
        return await self._store.subscription(channel_id)

    async def follow_story(self, channel_id: int) -> None:
        """Move a channel onto the version of its story loaded now (its story was replaced or
        cut anew), keeping its place in the text and telling it what changed."""
        async with self._courier.lock(channel_id):
            sub = await self._store.subscription(channel_id)
            if sub is None or sub.completed:
                return
            serial = self._library.get(sub.slug)
            if serial is not None:
                if sub.paused and sub.pause_cause == MISSING_STORY:
                    sub = await self._courier.revive(sub, serial)
                await self._courier.follow_revision(sub, serial)
        self.wake()

    # --- helpers -------------------------------------------------------------------------------

    async def _move_to(self, channel_id: int, part: int) -> Subscription:
        async with self._courier.lock(channel_id):
            sub = await self._require(channel_id)
            serial = self._library.get(sub.slug)
            if serial is None:
                raise UnknownStory(sub.slug)
            # Within the channel's own parts after an edit, unless it starts again.
            view = self._courier.revisions.view(sub, serial) if part > 1 else serial
            cuts = sub.cuts if view is not serial else None
            serial = view
            self._check_part(serial, part)
            schedule, zone = timing(sub)
            now = self._clock.now()
            slot = sub.slot_due
            if slot is None or slot <= now:
                slot = schedule.first_after(now, zone)
            moved = await self._store.reset_progress(
                channel_id,
                next_part=part,
                position=serial.part(part).start,
                revision=serial.story.revision,
                slot_due=slot,
                next_due=slot,
                now=now,
                part_count=len(serial.parts),
                cuts=cuts,
            )
        assert moved is not None
        log.info("Channel %s moved to part %s of %s", channel_id, part, sub.slug)
        self.wake()
        return moved

    async def _require(self, channel_id: int) -> Subscription:
        sub = await self._store.subscription(channel_id)
        if sub is None:
            raise NotSubscribed(channel_id)
        return sub

    def _zone(self, name: str | None = None) -> ZoneInfo:
        return parse_timezone(name or self.default_timezone)

    @staticmethod
    def _check_part(serial: Serial, part: int) -> None:
        if not 1 <= part <= len(serial.parts):
            raise PartOutOfRange(part, len(serial.parts), serial.story.title)
