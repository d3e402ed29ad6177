"""Posting one channel's due part so that it reaches the channel once: record, send, complete.
Sending, and what a failure means, are ``_sending``'s; following the library is ``_following``'s."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from bot import metrics
from bot.clock import Clock
from bot.poster import (
    Poster,
)
from bot.schedule import ScheduleError
from bot.scheduler._answers import (
    DeliveryResult,
)
from bot.scheduler._claims import CLAIMED_ELSEWHERE, Claims
from bot.scheduler._following import StoryFollowing
from bot.scheduler._revisions import Revisions
from bot.scheduler._sending import Sending, delivery_nonce
from bot.scheduler._settings import SchedulerSettings, SerialSource
from bot.scheduler._timing import after_post, timing
from bot.shards import ShardSet, shard_of
from bot.store import Delivery, Store, Subscription, Trigger
from bot.story import Serial

log = logging.getLogger(__name__)


def _shard_note(shards: ShardSet | None, guild_id: int) -> str:
    """ ", shard N" for the log when the bot has more than one shard."""
    if shards is None or shards.count == 1:
        return ""
    return f", shard {shard_of(guild_id, shards.count)}"


@dataclass(frozen=True, slots=True)
class PartPosted:
    """A part that reached its channel and is recorded posted, for whoever follows along
    (votes, thread hand-offs, reminders)."""

    guild_id: int
    channel_id: int
    title: str
    part: int
    parts_total: int
    nonce: str
    message_ids: tuple[int, ...]
    thread_id: int | None
    trigger: Trigger = "schedule"


class Courier(Sending, StoryFollowing):
    """Delivers parts, one channel at a time (a lock per channel) and at most ``concurrency``
    posts at once. Also counts the posts made outside the loop, which a stop waits for.
    ``on_posted`` hears of each part once it is recorded; it must not block (start a task)."""

    def __init__(
        self,
        store: Store,
        library: SerialSource,
        poster: Poster,
        clock: Clock,
        settings: SchedulerSettings,
        on_posted: Callable[[PartPosted], None] | None = None,
    ) -> None:
        self._on_posted = on_posted
        self._store = store
        self._library = library
        self._poster = poster
        self._clock = clock
        self._settings = settings
        self.revisions = Revisions(store, library, clock)
        self._posting = asyncio.Semaphore(settings.concurrency)
        self.claims = Claims(store, seconds=settings.claim_seconds)
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self.stopping = False
        # Posts made outside the loop (requests, start-up repairs), which stop() also waits for.
        self._outside = 0
        self._no_outside = asyncio.Event()
        self._no_outside.set()
        # Set when the platform told the whole bot to wait (rate limited, banned): no channel
        # posts before then, and every due channel keeps its place in the queue.
        self._held_until: datetime | None = None
        # Servers told that the database cannot be written, since it last could.
        self._told_unwritable: set[int] = set()

    def held(self) -> datetime | None:
        """Until when every post waits, if the platform asked the bot to; else ``None``."""
        if self._held_until is not None and self._held_until <= self._clock.now():
            self._held_until = None
        return self._held_until

    def lock(self, channel_id: int) -> asyncio.Lock:
        lock = self._locks.get(channel_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[channel_id] = lock
        return lock

    @contextlib.contextmanager
    def outside_loop(self) -> Iterator[None]:
        self._outside += 1
        self._no_outside.clear()
        try:
            yield
        finally:
            self._outside -= 1
            if not self._outside:
                self._no_outside.set()

    async def outside_done(self) -> None:
        await self._no_outside.wait()

    async def repair(self) -> None:
        """Finish the deliveries a crash left pending, with the nonces they were begun with."""
        pending = await self._store.pending_deliveries(shards=self._settings.shards)
        if not pending:
            return
        log.info("Finishing %s deliveries left pending by the last run", len(pending))

        async def finish(delivery: Delivery) -> None:
            try:
                await self.deliver(delivery.channel_id, delivery.trigger, only_if_due=False)
            except Exception:
                log.exception("Could not finish the pending delivery %s", delivery)

        await asyncio.gather(*(finish(d) for d in pending))

    async def deliver(
        self,
        channel_id: int,
        trigger: Trigger,
        *,
        only_if_due: bool,
        known: Subscription | None = None,
    ) -> DeliveryResult:
        async with self.lock(channel_id):
            return await self.deliver_locked(
                channel_id, trigger, only_if_due=only_if_due, known=known
            )

    async def deliver_locked(
        self,
        channel_id: int,
        trigger: Trigger,
        *,
        only_if_due: bool,
        known: Subscription | None = None,
    ) -> DeliveryResult:
        async with self.claims.hold(channel_id) as ours:
            if not ours:
                return DeliveryResult("skipped", None, reason=CLAIMED_ELSEWHERE)
            return await self._deliver_claimed(
                channel_id, trigger, only_if_due=only_if_due, known=known
            )

    async def _deliver_claimed(
        self,
        channel_id: int,
        trigger: Trigger,
        *,
        only_if_due: bool,
        known: Subscription | None,
    ) -> DeliveryResult:
        """Post the channel's next part. ``known`` is the subscription as the caller last read
        it: when the part can go out as planned from it, it is not read again (recording the
        delivery checks that it is unchanged); anything else is decided on a fresh read."""
        async with self._posting:
            sub = known if known is not None and self._runs(known, only_if_due) else None
            while True:
                fresh = sub is None
                if sub is None:
                    # Read here: waiting for a turn can take a while, and a pause does not wait.
                    sub = await self._ready(channel_id, only_if_due=only_if_due)
                    if sub is None:
                        return DeliveryResult("skipped", None)
                if self.stopping:
                    return DeliveryResult("skipped", sub)
                if (held := self.held()) is not None:
                    return DeliveryResult("delayed", sub, retry_at=held)
                serial = self._library.get(sub.slug)
                if not fresh and not self._as_planned(sub, serial):
                    sub = None
                    continue
                if serial is None:
                    return await self.pause_missing(sub)
                try:
                    schedule, zone = timing(sub)
                except ScheduleError as exc:
                    return await self.pause(sub, serial, f"its schedule no longer works: {exc}")
                followed = await self.follow_revision(sub, serial)
                if isinstance(followed, DeliveryResult):
                    return followed
                sub, serial = followed
                if sub.next_part > len(serial.parts):
                    return await self._close(sub, serial)
                number = sub.next_part
                nonce = delivery_nonce(
                    sub.channel_id,
                    sub.slug,
                    sub.revision,
                    number,
                    subscription_id=sub.id,
                    run=sub.run,
                )
                begun = await self._store.begin_delivery(
                    sub, part=number, nonce=nonce, trigger=trigger, now=self._clock.now()
                )
                if begun is not None:
                    delivery = begun
                    break
                sub = None  # it changed since it was read: decide again on what it is now
            if delivery.state != "pending":
                raise RuntimeError(
                    f"channel {channel_id} is at part {number}, which is already recorded posted"
                )
            part = serial.part(number)
            outcome = await self._send(sub, serial, part, delivery)
            if isinstance(outcome, DeliveryResult):
                return outcome
            now = self._clock.now()
            slot, due = after_post(sub, schedule, zone, now, self._settings)
            last = number >= len(serial.parts)
            sub = await self._store.complete_delivery(
                delivery.id,
                subscription_id=sub.id,
                part=number,
                message_ids=outcome.message_ids,
                thread_id=outcome.thread_id,
                posted_at=now,
                next_part=number + 1,
                position=part.end,
                slot_due=slot,
                # After the last part the closing message is due at once (also after a crash).
                next_due=now if last else due,
            )
            log.info(
                "Posted part %s of %s to channel %s (%s%s)",
                number,
                len(serial.parts),
                channel_id,
                delivery.trigger,
                _shard_note(self._settings.shards, sub.guild_id),
            )
            metrics.part_posted(delivery.trigger)
            self._announce(
                PartPosted(
                    guild_id=sub.guild_id,
                    channel_id=channel_id,
                    title=serial.story.title,
                    part=number,
                    parts_total=len(serial.parts),
                    nonce=delivery.nonce,
                    message_ids=tuple(outcome.message_ids),
                    thread_id=outcome.thread_id,
                    trigger=delivery.trigger,
                )
            )
            if last:
                await self._close(sub, serial)
            return DeliveryResult("posted", sub, part=number)

    def _announce(self, posted: PartPosted) -> None:
        if self._on_posted is None:
            return
        try:
            self._on_posted(posted)
        except Exception:
            log.exception(
                "A listener failed on part %s of channel %s", posted.part, posted.channel_id
            )

    def _as_planned(self, sub: Subscription, serial: Serial | None) -> bool:
        """Whether the next part can go out as the subscription says, with nothing to fix first
        (a story gone, a schedule that no longer parses, an edit to follow, the closing
        message)."""
        if serial is None:
            return False
        view = self.revisions.view(sub, serial)
        if sub.next_part > len(view.parts) or not self.revisions.holds(sub, view):
            return False
        try:
            timing(sub)
        except ScheduleError:
            return False
        return True

    def _runs(self, sub: Subscription, only_if_due: bool) -> bool:
        """Whether the subscription is running (and due, when asked)."""
        if sub.paused or sub.completed:
            return False
        return not only_if_due or (sub.next_due is not None and sub.next_due <= self._clock.now())

    async def _ready(self, channel_id: int, *, only_if_due: bool) -> Subscription | None:
        """The channel's subscription if it is running (and due, when asked)."""
        sub = await self._store.subscription(channel_id)
        if sub is None or not self._runs(sub, only_if_due):
            return None
        return sub
