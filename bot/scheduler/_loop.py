"""The loop: one supervised task sleeps until the earliest due subscription, wakes early when
something changes, and hands each due channel to the courier, a bounded number at a time."""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import time
from datetime import datetime, timedelta

from bot import metrics
from bot.clock import Clock
from bot.scheduler._claims import CLAIMED_ELSEWHERE
from bot.scheduler._delivery import Courier
from bot.scheduler._settings import SchedulerSettings
from bot.scheduler._timing import PAGE
from bot.store import Store, StoreError, Subscription

log = logging.getLogger(__name__)

_LOOP_RETRY = timedelta(seconds=5)
_LOOP_RETRY_MAX = timedelta(minutes=5)


class Loop:
    def __init__(
        self, store: Store, courier: Courier, clock: Clock, settings: SchedulerSettings
    ) -> None:
        self._store = store
        self._courier = courier
        self._clock = clock
        self._settings = settings
        # Channels whose post is under way, and when the loop may next touch channels that failed
        # in a way the store could not record.
        self._inflight: dict[int, asyncio.Task[datetime | None]] = {}
        self._holdoff: dict[int, datetime] = {}
        # Channels another process holds, and when (monotonic seconds) to look at them again.
        self._elsewhere: dict[int, float] = {}
        self._failures: dict[int, int] = {}
        # Channels whose post finished while a page of due channels was being read: the page
        # may show them as they were before, and their next turn is decided on a fresh read.
        self._finished_during_read: set[int] = set()
        self._max_inflight = max(64, settings.concurrency * 16)
        self._capped = False
        self._planned: datetime | None = None
        self._wake_event = asyncio.Event()
        self._parked = False
        self._parked_signal = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        return self._task is not None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="serial-scheduler")
        self._task.add_done_callback(self._loop_ended)

    async def stop(self) -> None:
        """End the loop, then let every post it started finish and be recorded."""
        task, self._task = self._task, None
        self._wake_event.set()
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        if self._inflight:
            await asyncio.wait(list(self._inflight.values()))

    async def abandon(self) -> None:
        """Cancel the posts under way; each stays pending in the store."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def wake(self) -> None:
        self._wake_event.set()

    async def idle(self) -> None:
        """Return once the loop is waiting, no post is under way and nothing is due now."""
        while self.running:
            signal = self._parked_signal
            await asyncio.sleep(0)
            if self._parked and not self._inflight and not self._wake_event.is_set():
                now = self._clock.now()
                due = await self._store.due(
                    now, len(self._holdoff) + 1, shards=self._settings.shards
                )
                waiting = self._courier.held() is None and any(
                    self._holdoff.get(s.channel_id, now) <= now
                    and s.channel_id not in self._elsewhere
                    for s in due
                )
                if not waiting and self._parked and not self._inflight:
                    return
                self.wake()
            await signal.wait()

    def signal_parked(self) -> None:
        signal, self._parked_signal = self._parked_signal, asyncio.Event()
        signal.set()

    async def _run(self) -> None:
        failures = 0
        while not self._courier.stopping:
            try:
                self._wake_event.clear()
                until = await self._dispatch_due()
                failures = 0
            except Exception as error:
                failures += 1
                if isinstance(error, StoreError | sqlite3.Error | OSError):
                    # What is due is all the loop reads: its failures are the database's.
                    metrics.database_error("scheduler")
                delay = min(_LOOP_RETRY * 2 ** min(failures - 1, 10), _LOOP_RETRY_MAX)
                log.exception(
                    "The scheduler loop failed (%s in a row); trying again in %s", failures, delay
                )
                until = self._clock.now() + delay
            if self._courier.stopping:
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
        elif not self._courier.stopping:
            log.error("The scheduler loop ended without being stopped")

    async def _dispatch_due(self) -> datetime | None:
        """Start a post for every due channel not already busy; return when to look again."""
        now = self._clock.now()
        if (held := self._courier.held()) is not None:
            return held  # the platform asked the whole bot to wait: due channels keep their place
        self._holdoff = {c: t for c, t in self._holdoff.items() if t > now}
        moment = time.monotonic()
        self._elsewhere = {c: t for c, t in self._elsewhere.items() if t > moment}
        capped = False
        after: tuple[datetime, int] | None = None
        # The channels under way come first (they were due earliest): a page need hold no more
        # than they, the room left, and the channels skipped for now.
        page = min(PAGE, self._max_inflight + len(self._holdoff) + len(self._elsewhere) + 1)
        while not capped:
            self._finished_during_read.clear()
            batch = await self._store.due(now, page, after=after, shards=self._settings.shards)
            for sub in batch:
                if sub.channel_id in self._finished_during_read:
                    self._wake_event.set()  # look again at once, at the row as it is now
                    continue
                if (
                    sub.channel_id in self._inflight
                    or sub.channel_id in self._holdoff
                    or sub.channel_id in self._elsewhere
                ):
                    continue
                if len(self._inflight) >= self._max_inflight:
                    capped = True
                    break
                self._dispatch(sub)
            if len(batch) < page:
                break
            last = batch[-1]
            assert last.next_due is not None
            after = (last.next_due, last.id)
        self._capped = capped
        upcoming = await self._store.next_due_after(now, shards=self._settings.shards)
        times = [t for t in (upcoming, *self._holdoff.values()) if t is not None]
        return min(times, default=None)

    def _recheck_seconds(self) -> float:
        poll = self._settings.poll_seconds
        return min(self._settings.claim_seconds, poll if poll is not None else float("inf"))

    def _recheck_in(self) -> float | None:
        """Real seconds until the loop should look at the shared database again, if it
        is shared: the poll, or sooner when a channel another process held is due a look."""
        times = [t - time.monotonic() for t in self._elsewhere.values()]
        if self._settings.poll_seconds is not None:
            times.append(self._settings.poll_seconds)
        return max(0.0, min(times)) if times else None

    def _dispatch(self, sub: Subscription) -> None:
        channel_id = sub.channel_id
        task = asyncio.create_task(self._scheduled(sub), name=f"serial-post-{channel_id}")
        self._inflight[channel_id] = task
        task.add_done_callback(functools.partial(self._post_done, channel_id))

    async def _scheduled(self, due: Subscription) -> datetime | None:
        """One due channel; never raises. Returns the channel's next due time, if known."""
        channel_id = due.channel_id
        try:
            result = await self._courier.deliver(
                channel_id, "schedule", only_if_due=True, known=due
            )
        except Exception:
            failures = self._failures.get(channel_id, 0) + 1
            self._failures[channel_id] = failures
            delay = self._settings.backoff(failures)
            until = self._clock.now() + delay
            self._holdoff[channel_id] = until
            if self._store.write_problem is None:
                log.exception(
                    "Posting to channel %s failed unexpectedly; trying again in %s",
                    channel_id,
                    delay,
                )
                return until
            # The store has said why, once; a traceback per channel and hour would bury it.
            log.warning(
                "Channel %s waits: the database cannot be written; trying again in %s",
                channel_id,
                delay,
            )
            try:
                await self._courier.tell_unwritable(channel_id)
            except Exception:
                log.exception("Could not tell channel %s that posting is on hold", channel_id)
            return until
        if self._store.write_problem is None:
            self._courier.writable_again()
        self._failures.pop(channel_id, None)
        if result.reason == CLAIMED_ELSEWHERE:
            # Look again later: the other process posts it, or its claim runs out.
            self._elsewhere[channel_id] = time.monotonic() + self._recheck_seconds()
            return None
        sub = result.subscription
        return sub.next_due if sub is not None and not sub.paused else None

    def _post_done(self, channel_id: int, task: asyncio.Task[datetime | None]) -> None:
        self._inflight.pop(channel_id, None)
        self._finished_during_read.add(channel_id)
        next_due = None if task.cancelled() else task.result()
        low = self._capped and len(self._inflight) <= self._max_inflight // 2
        sooner = next_due is not None and (self._planned is None or next_due < self._planned)
        if low or sooner or not self._inflight:
            self._wake_event.set()

    async def _park(self, until: datetime | None) -> None:
        self._parked = True
        self.signal_parked()
        waiter = asyncio.ensure_future(self._wake_event.wait())
        waits: set[asyncio.Future[None]] = {waiter}
        if until is not None:
            waits.add(asyncio.ensure_future(self._clock.sleep_until(until)))
        if (recheck := self._recheck_in()) is not None:
            # Real time: other processes change the shared database on their own clocks.
            waits.add(asyncio.ensure_future(asyncio.sleep(recheck)))
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for future in done:
                if not future.cancelled() and (error := future.exception()) is not None:
                    raise error
        finally:
            self._parked = False
            for future in waits:
                future.cancel()
