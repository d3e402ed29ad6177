"""Posts what is due: one supervised task sleeps until the earliest due subscription, wakes early
when something changes, and hands each due channel to a bounded pool of posts.

Delivery is recorded so that a part reaches a channel once:

1. Before sending, a "pending" delivery is stored with a nonce derived from the channel, story,
   revision and part (Discord returns the first message when the same nonce comes again).
2. The poster sends the part with that nonce.
3. In one transaction the delivery becomes "posted" and the subscription moves past the part.

A crash between 1 and 3 leaves the delivery pending; ``start`` sends it again with the same nonce
before anything else. Every attempt after the first is counted, and a poster that can
(``ResumingPoster``) is asked to resume the part: to look for what an earlier attempt already
posted, for when Discord no longer remembers the nonce. ``stop`` lets every post under way finish
and be recorded, so only a hard kill leaves a delivery pending. Passing failures are retried with
backoff, keeping the regular schedule; a missing channel or permission pauses the subscription
and says so once, never retrying in a loop.

Timing per subscription: ``slot_due`` is the regular slot the next part belongs to, ``next_due``
when the scheduler acts next (equal to the slot, except while retrying or catching up).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol, get_args
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.poster import ChannelGone, Delivered, Poster, PostError, PostForbidden, ResumingPoster
from bot.schedule import Schedule, ScheduleError, estimate_finish, parse_schedule, parse_timezone
from bot.store import CatchUp, Delivery, Store, Subscription, SubscriptionExists, Trigger
from bot.story import Part, Serial

if TYPE_CHECKING:
    from bot.config import Config

__all__ = [
    "THREAD_ARCHIVE_MINUTES",
    "AlreadySubscribed",
    "ChannelStatus",
    "NextOutcome",
    "NotSubscribed",
    "PartOutOfRange",
    "ScheduleError",
    "Scheduler",
    "SchedulerSettings",
    "SerialError",
    "SerialSource",
    "UnknownStory",
    "delivery_nonce",
]

log = logging.getLogger(__name__)

NONCE_LENGTH = 25  # Discord's limit for a message nonce
THREAD_ARCHIVE_MINUTES = (60, 1440, 4320, 10080)
_PAGE = 200
_LOOP_RETRY = timedelta(seconds=5)
_LOOP_RETRY_MAX = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class SchedulerSettings:
    concurrency: int = 4
    next_cooldown: timedelta = timedelta(minutes=30)
    next_quorum: int = 1
    quorum_window: timedelta = timedelta(minutes=30)
    catch_up: CatchUp = "one"
    catch_up_cap: int = 3
    catch_up_spacing: timedelta = timedelta(minutes=10)
    retry_base: timedelta = timedelta(minutes=1)
    retry_max: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.next_quorum < 1:
            raise ValueError("next_quorum must be at least 1")
        if self.catch_up not in get_args(CatchUp):
            raise ValueError(f"catch_up must be one of {', '.join(get_args(CatchUp))}")
        if self.catch_up_cap < 1:
            raise ValueError("catch_up_cap must be at least 1")
        negative = [
            name
            for name in ("next_cooldown", "quorum_window", "catch_up_spacing")
            if getattr(self, name) < timedelta(0)
        ]
        if negative:
            raise ValueError(f"{', '.join(negative)} must not be negative")
        if self.retry_base <= timedelta(0) or self.retry_max < self.retry_base:
            raise ValueError("retry_base must be positive and retry_max at least retry_base")

    @classmethod
    def from_config(cls, config: Config) -> SchedulerSettings:
        return cls(
            concurrency=config.concurrency,
            next_cooldown=timedelta(minutes=config.next.cooldown_minutes),
            next_quorum=config.next.quorum,
            quorum_window=timedelta(minutes=config.next.quorum_window_minutes),
            catch_up=config.catch_up.policy,
            catch_up_cap=config.catch_up.cap,
        )

    def backoff(self, attempt: int) -> timedelta:
        """The wait before retry number ``attempt`` (1, 2, ...): doubling, capped."""
        if attempt >= 40:
            return self.retry_max
        return min(self.retry_base * 2 ** max(0, attempt - 1), self.retry_max)


class SerialSource(Protocol):
    """Where serials come from (the library)."""

    def get(self, slug: str) -> Serial | None: ...


def delivery_nonce(
    channel_id: int,
    slug: str,
    revision: str,
    part: int,
    *,
    subscription_id: int = 0,
    run: int = 0,
) -> str:
    """The nonce a part is posted with: the same inputs always give the same 25 characters.
    ``part`` 0 stands for the closing message. ``subscription_id`` and ``run`` tell apart readings
    of the same story in the same channel (a new subscription, a restart)."""
    key = f"{channel_id}\x1f{slug}\x1f{revision}\x1f{part}\x1f{subscription_id}\x1f{run}"
    digest = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
    return ("s" + digest)[:NONCE_LENGTH]


# --- errors shown to users -----------------------------------------------------------------------


class SerialError(Exception):
    """A request that cannot be done; the message tells the user what to do instead."""


class NotSubscribed(SerialError):
    def __init__(self, channel_id: int) -> None:
        super().__init__(
            "This channel does not follow a serial. An admin can start one with /serial subscribe."
        )
        self.channel_id = channel_id


class AlreadySubscribed(SerialError):
    def __init__(self, subscription: Subscription, title: str) -> None:
        super().__init__(
            f"This channel already follows “{title}”. To switch stories, use "
            "/serial unsubscribe first; to move within it, /serial jump or /serial restart."
        )
        self.subscription = subscription
        self.title = title


class UnknownStory(SerialError):
    def __init__(self, slug: str) -> None:
        shown = slug if len(slug) <= 60 else slug[:59] + "…"
        super().__init__(
            f"There is no story “{shown}” in the library. /serial stories lists the stories "
            "this bot can post."
        )
        self.slug = slug


class PartOutOfRange(SerialError):
    def __init__(self, part: int, total: int, title: str) -> None:
        valid = "part 1" if total == 1 else f"parts 1 to {total}"
        super().__init__(f"There is no part {part}: “{title}” has {valid}. Pick one of those.")
        self.part = part
        self.total = total


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NextOutcome:
    """The answer to "post the next part now". ``posted`` is the part number, or ``None`` with
    ``refused`` saying why (and ``retry_at`` when asking again will work). ``votes`` and
    ``needed`` describe the quorum; both are 0 when the refusal had nothing to do with it."""

    posted: int | None
    refused: str | None = None
    retry_at: datetime | None = None
    votes: int = 0
    needed: int = 0


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    """Where a channel is in its serial. ``parts_posted`` counts the parts before the next one
    (the channel's progress); ``next_due`` is ``None`` while paused or once finished."""

    subscription: Subscription
    serial: Serial | None
    parts_posted: int
    parts_total: int | None
    next_part: int
    next_due: datetime | None
    finish_estimate: datetime | None


_Kind = Literal["posted", "retry", "paused", "finished", "skipped"]


@dataclass(frozen=True, slots=True)
class _Result:
    kind: _Kind
    subscription: Subscription | None
    part: int | None = None
    reason: str | None = None
    retry_at: datetime | None = None


# --- the scheduler -------------------------------------------------------------------------------


class Scheduler:
    def __init__(
        self,
        store: Store,
        library: SerialSource,
        poster: Poster,
        clock: Clock,
        settings: SchedulerSettings = SchedulerSettings(),
        *,
        default_timezone: str = "UTC",
    ) -> None:
        self._store = store
        self._library = library
        self._poster = poster
        self._clock = clock
        self.settings = settings
        self.default_timezone = parse_timezone(default_timezone).key
        self._posting = asyncio.Semaphore(settings.concurrency)
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        # Channels whose post is under way, and when the loop may next touch channels that failed
        # in a way the store could not record.
        self._inflight: dict[int, asyncio.Task[datetime | None]] = {}
        self._holdoff: dict[int, datetime] = {}
        self._failures: dict[int, int] = {}
        self._max_inflight = max(64, settings.concurrency * 16)
        self._capped = False
        self._planned: datetime | None = None
        self._wake_event = asyncio.Event()
        self._parked = False
        self._parked_signal = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        # Posts made outside the loop (requests, start-up repairs), which stop() also waits for.
        self._outside = 0
        self._no_outside = asyncio.Event()
        self._no_outside.set()

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Finish deliveries a crash left pending, apply the catch-up policy to overdue
        subscriptions, then start the loop."""
        if self._task is not None:
            return
        self._stopping = False
        with self._outside_loop():
            await self._repair()
        await self._catch_up()
        if self._stopping:
            return  # stop() came while repairing: do not start what it meant to end
        self._task = asyncio.create_task(self._run(), name="serial-scheduler")
        self._task.add_done_callback(self._loop_ended)

    async def stop(self) -> None:
        """Let posts under way finish (start-up repairs and requests too), then stop, so that no
        delivery is left half-recorded. Safe to call twice, and before ``start`` has returned."""
        self._stopping = True
        task, self._task = self._task, None
        self._wake_event.set()
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        if self._inflight:
            await asyncio.wait(list(self._inflight.values()))
        await self._no_outside.wait()
        self._signal_parked()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """Make the loop look at the database again (something changed)."""
        self._wake_event.set()

    async def idle(self) -> None:
        """Return once the loop is waiting, no post is under way and nothing is due now. For
        tests and the demo, which move a ``ManualClock`` and then wait for the work it caused."""
        while self.running:
            signal = self._parked_signal
            await asyncio.sleep(0)
            if self._parked and not self._inflight and not self._wake_event.is_set():
                now = self._clock.now()
                due = await self._store.due(now, len(self._holdoff) + 1)
                waiting = any(self._holdoff.get(s.channel_id, now) <= now for s in due)
                if not waiting and self._parked and not self._inflight:
                    return
                self.wake()
            await signal.wait()

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
            raise SerialError(
                "Threads can auto-archive after 60, 1440, 4320 or 10080 minutes "
                "(an hour, a day, three days or a week); pick one of those."
            )
        now = self._clock.now()
        slot = parsed.first_after(now, zone)
        async with self._lock(channel_id):
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
                )
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
        async with self._lock(channel_id):
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
        async with self._lock(channel_id):
            sub = await self._store.subscription(channel_id)
            if sub is None or sub.paused or sub.completed:
                return None
            result = await self._pause(sub, self._library.get(sub.slug), reason)
        self.wake()
        return result.subscription

    async def resume(self, channel_id: int) -> Subscription:
        """Resume a paused channel. A part held back while paused goes out per the catch-up
        policy (by default one part now, then the schedule)."""
        async with self._lock(channel_id):
            sub = await self._require(channel_id)
            if not sub.paused:
                return sub
            now = self._clock.now()
            slot: datetime | None = None
            due: datetime | None = None
            if not sub.completed:
                schedule, zone = self._timing(sub)
                pending = await self._store.delivery(channel_id, sub.next_part)
                slot, due = self._overdue_plan(sub, schedule, zone, now)
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
        async with self._lock(channel_id):
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

    async def set_catch_up(self, channel_id: int, catch_up: CatchUp) -> Subscription:
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

    async def request_next(self, channel_id: int, member_id: int) -> NextOutcome:
        """A reader asks for the next part now. Posted at once when the channel is out of its
        cooldown and enough distinct readers asked within the window; the regular schedule keeps
        its times."""
        with self._outside_loop():
            return await self._request_next(channel_id, member_id, self.settings)

    async def _request_next(
        self, channel_id: int, member_id: int, settings: SchedulerSettings
    ) -> NextOutcome:
        async with self._lock(channel_id):
            sub = await self._require(channel_id)
            serial = self._library.get(sub.slug)
            title = serial.story.title if serial else sub.slug
            if sub.completed:
                return NextOutcome(
                    None,
                    f"“{title}” is finished: every part has been posted. An admin can start it "
                    "again with /serial restart.",
                )
            if sub.paused:
                return NextOutcome(
                    None,
                    f"“{title}” is paused ({sub.pause_reason or 'by an admin'}). An admin can "
                    "continue it with /serial resume.",
                )
            now = self._clock.now()
            last = await self._store.last_request_post(channel_id)
            if last is not None and now < last + settings.next_cooldown:
                return NextOutcome(
                    None,
                    "A part was posted on request a short while ago; the next one can be asked "
                    f"for {_duration(settings.next_cooldown)} after it.",
                    retry_at=last + settings.next_cooldown,
                )
            votes = await self._store.add_vote(
                channel_id, member_id, now=now, since=now - settings.quorum_window
            )
            needed = settings.next_quorum
            if votes < needed:
                return NextOutcome(
                    None,
                    f"Your request is counted. The next part comes early when {needed} readers "
                    f"ask within {_duration(settings.quorum_window)}.",
                    votes=votes,
                    needed=needed,
                )
            await self._store.clear_votes(channel_id)
            result = await self._deliver_locked(channel_id, "request", only_if_due=False)
        self.wake()
        if result.kind == "posted":
            return NextOutcome(result.part, votes=votes, needed=needed)
        if result.kind == "retry":
            return NextOutcome(
                None,
                "Discord did not take the part just now; it will be posted as soon as it does.",
            )
        if result.kind == "paused":
            return NextOutcome(
                None,
                f"I could not post here ({result.reason}), so the serial is paused. An admin "
                "can continue it with /serial resume once that is fixed.",
            )
        if result.kind == "finished":
            return NextOutcome(None, f"“{title}” has no more parts.")
        return NextOutcome(None, "The bot is shutting down; ask again in a minute.")

    async def status(self, channel_id: int) -> ChannelStatus:
        sub = await self._require(channel_id)
        serial = self._library.get(sub.slug)
        total = len(serial.parts) if serial is not None else None
        next_part = sub.next_part
        if serial is not None and not _numbering_holds(sub, serial):
            next_part = _part_for_position(serial, sub.position)
        posted = next_part - 1 if total is None else min(next_part - 1, total)
        next_due = None if sub.paused or sub.completed else sub.next_due
        finish: datetime | None = None
        if next_due is not None and total is not None and next_part <= total:
            left = total - next_part + 1
            try:
                schedule, zone = self._timing(sub)
            except ScheduleError:
                finish = None
            else:
                finish = estimate_finish(schedule, zone, next_due, left - 1) or next_due
        return ChannelStatus(
            subscription=sub,
            serial=serial,
            parts_posted=posted,
            parts_total=total,
            next_part=next_part,
            next_due=next_due,
            finish_estimate=finish,
        )

    async def posted_part(self, channel_id: int, part: int) -> Delivery | None:
        """The delivery of ``part`` to this channel, if the channel received it."""
        delivery = await self._store.delivery(channel_id, part)
        if delivery is None or delivery.state != "posted":
            return None
        return delivery

    async def subscription(self, channel_id: int) -> Subscription | None:
        return await self._store.subscription(channel_id)

    # --- start-up ------------------------------------------------------------------------------

    async def _repair(self) -> None:
        pending = await self._store.pending_deliveries()
        if not pending:
            return
        log.info("Finishing %s deliveries left pending by the last run", len(pending))

        async def finish(delivery: Delivery) -> None:
            try:
                await self._deliver(delivery.channel_id, delivery.trigger, only_if_due=False)
            except Exception:
                log.exception("Could not finish the pending delivery %s", delivery)

        await asyncio.gather(*(finish(d) for d in pending))

    async def _catch_up(self) -> None:
        now = self._clock.now()
        after: tuple[datetime, int] | None = None
        while batch := await self._store.due(now, _PAGE, after=after):
            for sub in batch:
                try:
                    await self._catch_up_one(sub, now)
                except Exception:
                    log.exception(
                        "Could not apply the catch-up policy to channel %s", sub.channel_id
                    )
            last = batch[-1]
            assert last.next_due is not None
            after = (last.next_due, last.id)

    async def _catch_up_one(self, sub: Subscription, now: datetime) -> None:
        if sub.slot_due is None or sub.slot_due > now:
            return  # a retry or the closing message is due: it goes out now
        serial = self._library.get(sub.slug)
        if serial is None or sub.next_part > len(serial.parts):
            return
        schedule, zone = self._timing(sub)
        slot, due = self._overdue_plan(sub, schedule, zone, now)
        if (slot, due) == (sub.slot_due, sub.next_due):
            return
        await self._store.set_due(sub.id, slot_due=slot, next_due=due, now=now)
        log.info(
            "Channel %s missed slots since %s; catch-up %r: next part %s",
            sub.channel_id,
            sub.slot_due.isoformat(),
            sub.catch_up,
            "now" if due <= now else f"at {due.isoformat()}",
        )

    def _overdue_plan(
        self, sub: Subscription, schedule: Schedule, zone: ZoneInfo, now: datetime
    ) -> tuple[datetime, datetime]:
        """(slot_due, next_due) for a subscription that may have missed slots."""
        slot = sub.slot_due
        if slot is None:
            slot = schedule.first_after(now, zone)
            return slot, slot
        if slot > now:
            return slot, slot
        if sub.catch_up == "skip":
            slot = schedule.upcoming(slot, now, zone)
            return slot, slot
        if sub.catch_up == "all":
            missed = schedule.last_missed(slot, now, zone, self.settings.catch_up_cap)
            return (missed[0] if missed else slot), now
        return slot, now

    # --- the loop ------------------------------------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                self._wake_event.clear()
                until = await self._dispatch_due()
                failures = 0
            except Exception:
                failures += 1
                delay = min(_LOOP_RETRY * 2 ** min(failures - 1, 10), _LOOP_RETRY_MAX)
                log.exception(
                    "The scheduler loop failed (%s in a row); trying again in %s", failures, delay
                )
                until = self._clock.now() + delay
            if self._stopping:
                break
            self._planned = until
            try:
                await self._park(until)
            except Exception:
                log.exception("The scheduler could not wait for the next due time")
                await asyncio.sleep(1)

    def _loop_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            log.warning("The scheduler loop was cancelled")
        elif (error := task.exception()) is not None:
            log.critical("The scheduler loop died", exc_info=error)
        elif not self._stopping:
            log.error("The scheduler loop ended without being stopped")

    async def _dispatch_due(self) -> datetime | None:
        """Start a post for every due channel not already busy; return when to look again."""
        now = self._clock.now()
        self._holdoff = {c: t for c, t in self._holdoff.items() if t > now}
        capped = False
        after: tuple[datetime, int] | None = None
        while not capped:
            batch = await self._store.due(now, _PAGE, after=after)
            for sub in batch:
                if sub.channel_id in self._inflight or sub.channel_id in self._holdoff:
                    continue
                if len(self._inflight) >= self._max_inflight:
                    capped = True
                    break
                self._dispatch(sub.channel_id)
            if len(batch) < _PAGE:
                break
            last = batch[-1]
            assert last.next_due is not None
            after = (last.next_due, last.id)
        self._capped = capped
        upcoming = await self._store.next_due_after(now)
        times = [t for t in (upcoming, *self._holdoff.values()) if t is not None]
        return min(times, default=None)

    def _dispatch(self, channel_id: int) -> None:
        task = asyncio.create_task(self._scheduled(channel_id), name=f"serial-post-{channel_id}")
        self._inflight[channel_id] = task
        task.add_done_callback(functools.partial(self._post_done, channel_id))

    async def _scheduled(self, channel_id: int) -> datetime | None:
        """One due channel; never raises. Returns the channel's next due time, if known."""
        try:
            result = await self._deliver(channel_id, "schedule", only_if_due=True)
        except Exception:
            failures = self._failures.get(channel_id, 0) + 1
            self._failures[channel_id] = failures
            delay = self.settings.backoff(failures)
            log.exception(
                "Posting to channel %s failed unexpectedly; trying again in %s", channel_id, delay
            )
            until = self._clock.now() + delay
            self._holdoff[channel_id] = until
            return until
        self._failures.pop(channel_id, None)
        sub = result.subscription
        return sub.next_due if sub is not None and not sub.paused else None

    def _post_done(self, channel_id: int, task: asyncio.Task[datetime | None]) -> None:
        self._inflight.pop(channel_id, None)
        next_due = None if task.cancelled() else task.result()
        low = self._capped and len(self._inflight) <= self._max_inflight // 2
        sooner = next_due is not None and (self._planned is None or next_due < self._planned)
        if low or sooner or not self._inflight:
            self._wake_event.set()

    async def _park(self, until: datetime | None) -> None:
        self._parked = True
        self._signal_parked()
        waiter = asyncio.ensure_future(self._wake_event.wait())
        waits: set[asyncio.Future[None]] = {waiter}
        if until is not None:
            waits.add(asyncio.ensure_future(self._clock.sleep_until(until)))
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for future in done:
                if not future.cancelled() and (error := future.exception()) is not None:
                    raise error
        finally:
            self._parked = False
            for future in waits:
                future.cancel()

    def _signal_parked(self) -> None:
        signal, self._parked_signal = self._parked_signal, asyncio.Event()
        signal.set()

    # --- posting -------------------------------------------------------------------------------

    async def _deliver(self, channel_id: int, trigger: Trigger, *, only_if_due: bool) -> _Result:
        async with self._lock(channel_id):
            return await self._deliver_locked(channel_id, trigger, only_if_due=only_if_due)

    async def _deliver_locked(
        self, channel_id: int, trigger: Trigger, *, only_if_due: bool
    ) -> _Result:
        sub = await self._ready(channel_id, only_if_due=only_if_due)
        if sub is None:
            return _Result("skipped", None)
        async with self._posting:
            # Read again: waiting for a turn can take a while, and a pause does not wait.
            sub = await self._ready(channel_id, only_if_due=only_if_due)
            if sub is None or self._stopping:
                return _Result("skipped", sub)
            now = self._clock.now()
            serial = self._library.get(sub.slug)
            if serial is None:
                return await self._pause(
                    sub, None, f"the story “{sub.slug}” is no longer in the library"
                )
            try:
                schedule, zone = self._timing(sub)
            except ScheduleError as exc:
                return await self._pause(sub, serial, f"its schedule no longer works: {exc}")
            sub = await self._follow_revision(sub, serial)
            if sub.next_part > len(serial.parts):
                return await self._close(sub, serial)
            number = sub.next_part
            part = serial.part(number)
            nonce = delivery_nonce(
                sub.channel_id,
                sub.slug,
                sub.revision,
                number,
                subscription_id=sub.id,
                run=sub.run,
            )
            delivery = await self._store.begin_delivery(
                sub, part=number, nonce=nonce, trigger=trigger, now=now
            )
            if delivery.state != "pending":
                raise RuntimeError(
                    f"channel {channel_id} is at part {number}, which is already recorded posted"
                )
            outcome = await self._send(sub, serial, part, delivery)
            if isinstance(outcome, _Result):
                return outcome
            now = self._clock.now()
            slot, due = self._after_post(sub, schedule, zone, now)
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
                "Posted part %s of %s to channel %s (%s)",
                number,
                len(serial.parts),
                channel_id,
                delivery.trigger,
            )
            if last:
                await self._close(sub, serial)
            return _Result("posted", sub, part=number)

    async def _ready(self, channel_id: int, *, only_if_due: bool) -> Subscription | None:
        """The channel's subscription if it is running (and due, when asked)."""
        sub = await self._store.subscription(channel_id)
        if sub is None or sub.paused or sub.completed:
            return None
        if only_if_due and (sub.next_due is None or sub.next_due > self._clock.now()):
            return None
        return sub

    async def _send(
        self, sub: Subscription, serial: Serial, part: Part, delivery: Delivery
    ) -> Delivered | _Result:
        poster = self._poster
        try:
            if delivery.attempts > 1 and isinstance(poster, ResumingPoster):
                # An earlier attempt may have posted some of the part, longer ago than the
                # nonce still protects: let the poster look before it sends.
                return await poster.resume_part(sub, serial, part, nonce=delivery.nonce)
            return await poster.post_part(sub, serial, part, nonce=delivery.nonce)
        except (PostForbidden, ChannelGone) as exc:
            return await self._pause(sub, serial, exc.reason)
        except PostError as exc:  # PostTransient, or a kind we do not know: back off and retry
            return await self._retry(sub, f"part {delivery.part}", exc.reason)
        except Exception as exc:
            log.exception(
                "The poster failed on part %s for channel %s", delivery.part, sub.channel_id
            )
            return await self._retry(sub, f"part {delivery.part}", repr(exc))

    async def _close(self, sub: Subscription, serial: Serial) -> _Result:
        """Post the closing message, then mark the serial complete."""
        nonce = delivery_nonce(
            sub.channel_id, sub.slug, sub.revision, 0, subscription_id=sub.id, run=sub.run
        )
        try:
            await self._poster.post_end(sub, serial, nonce=nonce)
        except (PostForbidden, ChannelGone) as exc:
            return await self._pause(sub, serial, exc.reason)
        except PostError as exc:
            return await self._retry(sub, "the closing message", exc.reason)
        except Exception as exc:
            log.exception("The poster failed on the closing message for channel %s", sub.channel_id)
            return await self._retry(sub, "the closing message", repr(exc))
        done = await self._store.mark_completed(sub.id, self._clock.now())
        log.info("Channel %s finished %s", sub.channel_id, sub.slug)
        return _Result("finished", done)

    async def _retry(self, sub: Subscription, what: str, reason: str) -> _Result:
        now = self._clock.now()
        attempt = sub.retry_count + 1
        when = now + self.settings.backoff(attempt)
        updated = await self._store.schedule_retry(
            sub.id, retry_count=attempt, next_due=when, now=now
        )
        log.warning(
            "Could not post %s to channel %s (%s); retry %s at %s",
            what,
            sub.channel_id,
            reason,
            attempt,
            when.isoformat(),
        )
        return _Result("retry", updated, reason=reason, retry_at=when)

    async def _pause(self, sub: Subscription, serial: Serial | None, reason: str) -> _Result:
        """Pause and say so once. Called with the posting semaphore held."""
        paused = await self._store.pause(sub.channel_id, reason, self._clock.now())
        log.warning("Paused channel %s: %s", sub.channel_id, reason)
        title = serial.story.title if serial is not None else sub.slug
        text = (
            f"The serial “{title}” is paused: {reason}. An admin can continue it with "
            "/serial resume once that is fixed."
        )
        await self._notify(paused or sub, text)
        return _Result("paused", paused, reason=reason)

    async def _follow_revision(self, sub: Subscription, serial: Serial) -> Subscription:
        """The story was edited (or cut anew, with another part length) since this channel's
        parts were numbered: continue from the same place in the text, and tell the channel when
        its parts were renumbered."""
        if _numbering_holds(sub, serial):
            return sub
        number = _part_for_position(serial, sub.position)
        total = len(serial.parts)
        log.info(
            "Story %s changed (revision %s -> %s, now %s parts): channel %s continues at part %s "
            "(was part %s)",
            sub.slug,
            sub.revision,
            serial.story.revision,
            len(serial.parts),
            sub.channel_id,
            number,
            sub.next_part,
        )
        updated = await self._store.remap_revision(
            sub.id,
            revision=serial.story.revision,
            next_part=number,
            now=self._clock.now(),
            part_count=total,
        )
        assert updated is not None
        changed = total != sub.part_count if sub.part_count is not None else number != sub.next_part
        if changed:
            await self._notify(updated, _renumbered_notice(serial, sub, number))
        return updated

    async def _notify(self, sub: Subscription, text: str) -> None:
        """Best effort: a notice that cannot be posted is logged, never a reason to stop."""
        try:
            await self._poster.post_notice(sub, text)
        except PostError as exc:
            log.info("Could not tell channel %s: %s", sub.channel_id, exc.reason)
        except Exception:
            log.exception("Could not tell channel %s", sub.channel_id)

    def _after_post(
        self, sub: Subscription, schedule: Schedule, zone: ZoneInfo, now: datetime
    ) -> tuple[datetime, datetime]:
        """(slot_due, next_due) after a part went out at ``now``. A post before its slot (a
        request) leaves the slot alone; a post at or after it uses the slot up."""
        slot = sub.slot_due
        if slot is None:
            slot = schedule.first_after(now, zone)
            return slot, slot
        if slot > now:
            return slot, slot
        if sub.catch_up == "all":
            later = schedule.next_after(slot, zone)
            missed = schedule.last_missed(later, now, zone, self.settings.catch_up_cap - 1)
            if missed:
                return missed[0], now + self.settings.catch_up_spacing
        slot = schedule.upcoming(slot, now, zone)
        return slot, slot

    async def _move_to(self, channel_id: int, part: int) -> Subscription:
        async with self._lock(channel_id):
            sub = await self._require(channel_id)
            serial = self._library.get(sub.slug)
            if serial is None:
                raise UnknownStory(sub.slug)
            self._check_part(serial, part)
            schedule, zone = self._timing(sub)
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
            )
        assert moved is not None
        log.info("Channel %s moved to part %s of %s", channel_id, part, sub.slug)
        self.wake()
        return moved

    # --- helpers -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _outside_loop(self) -> Iterator[None]:
        self._outside += 1
        self._no_outside.clear()
        try:
            yield
        finally:
            self._outside -= 1
            if not self._outside:
                self._no_outside.set()

    def _lock(self, channel_id: int) -> asyncio.Lock:
        lock = self._locks.get(channel_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[channel_id] = lock
        return lock

    async def _require(self, channel_id: int) -> Subscription:
        sub = await self._store.subscription(channel_id)
        if sub is None:
            raise NotSubscribed(channel_id)
        return sub

    def _zone(self, name: str | None = None) -> ZoneInfo:
        return parse_timezone(name or self.default_timezone)

    def _timing(self, sub: Subscription) -> tuple[Schedule, ZoneInfo]:
        return _parse_cached(sub.schedule), parse_timezone(sub.timezone)

    @staticmethod
    def _check_part(serial: Serial, part: int) -> None:
        if not 1 <= part <= len(serial.parts):
            raise PartOutOfRange(part, len(serial.parts), serial.story.title)


@functools.lru_cache(maxsize=256)
def _parse_cached(text: str) -> Schedule:
    return parse_schedule(text)


def _numbering_holds(sub: Subscription, serial: Serial) -> bool:
    """Whether the channel's part numbers still mean the same text: same revision, same number
    of parts, and its next part still starts where its reading stopped."""
    if serial.story.revision != sub.revision:
        return False
    if sub.part_count is not None and sub.part_count != len(serial.parts):
        return False
    if sub.next_part > len(serial.parts):
        return True
    return serial.part(sub.next_part).start == sub.position


def _part_for_position(serial: Serial, position: int) -> int:
    """The number of the part that contains text offset ``position`` (one past the last part when
    the whole text has been posted). A position inside a part gives that part, so a reader may see
    a little again but never misses text."""
    if not serial.parts or position >= len(serial.story.text):
        return len(serial.parts) + 1
    found = serial.part_at(position)
    for number, part in enumerate(serial.parts, start=1):
        if part is found:
            return number
    return found.index


def _renumbered_notice(serial: Serial, before: Subscription, number: int) -> str:
    title = serial.story.title
    total = len(serial.parts)
    had = f" (it had {before.part_count})" if before.part_count is not None else ""
    if number > total:
        where = "This channel has already received all of its text."
    elif number == before.next_part:
        where = f"This channel continues with part {number}, where it left off in the text."
    else:
        where = (
            f"This channel continues where it left off in the text, which is now part {number} "
            f"(it was part {before.next_part})."
        )
    parts = "part" if total == 1 else "parts"
    return f"“{title}” was edited and now has {total} {parts}{had}. {where}"


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 1:
        return f"{int(span.total_seconds())} seconds"
    if minutes < 120 or minutes % 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    return f"{hours} hours"
