"""What readers ask of a channel's serial: the next part now (with the cooldown and the quorum),
where the serial stands, and a part the channel already received. Part of the ``Scheduler``,
which brings the store, the library, the clock and the courier."""

from __future__ import annotations

from datetime import datetime

from bot.clock import Clock
from bot.schedule import ScheduleError, estimate_finish
from bot.scheduler._answers import ChannelStatus, NextOutcome
from bot.scheduler._delivery import Courier
from bot.scheduler._revisions import MISSING_STORY
from bot.scheduler._settings import SchedulerSettings, SerialSource
from bot.scheduler._timing import timing
from bot.store import Delivery, Store, Subscription


class ReaderRequests:
    """The scheduler's part that answers readers; ``Scheduler`` provides what is declared."""

    _store: Store
    _library: SerialSource
    _clock: Clock
    _courier: Courier
    settings: SchedulerSettings

    def wake(self) -> None:
        raise NotImplementedError

    async def _require(self, channel_id: int) -> Subscription:
        raise NotImplementedError

    async def request_next(self, channel_id: int, member_id: int) -> NextOutcome:
        """A reader asks for the next part now. Posted at once when the channel is out of its
        cooldown and enough distinct readers asked within the window; the regular schedule keeps
        its times."""
        with self._courier.outside_loop():
            return await self._request_next(channel_id, member_id, self.settings)

    async def _request_next(
        self, channel_id: int, member_id: int, settings: SchedulerSettings
    ) -> NextOutcome:
        async with self._courier.lock(channel_id):
            sub = await self._require(channel_id)
            serial = self._library.get(sub.slug)
            title = serial.story.title if serial else sub.slug
            if sub.completed:
                return NextOutcome.finished(title)
            if sub.paused:
                return NextOutcome.paused(title, sub.pause_reason)
            now = self._clock.now()
            last = await self._store.last_request_post(channel_id)
            if last is not None and now < last + settings.next_cooldown:
                return NextOutcome.cooling_down(
                    settings.next_cooldown, last + settings.next_cooldown
                )
            votes = await self._store.add_vote(
                channel_id, member_id, now=now, since=now - settings.quorum_window
            )
            needed = settings.next_quorum
            if votes < needed:
                return NextOutcome.counted(votes, needed, settings.quorum_window)
            await self._store.clear_votes(channel_id)
            result = await self._courier.deliver_locked(
                channel_id, "request", only_if_due=False, known=sub
            )
        self.wake()
        return NextOutcome.after_delivery(result, title, votes, needed)

    async def status(self, channel_id: int) -> ChannelStatus:
        sub = await self._require(channel_id)
        serial = self._library.get(sub.slug)
        if serial is not None and sub.pause_cause == MISSING_STORY:
            async with self._courier.lock(channel_id):
                # Back since start-up looked: continue now rather than show a stale reason.
                sub = await self._require(channel_id)
                if sub.paused and sub.pause_cause == MISSING_STORY:
                    sub = await self._courier.revive(sub, serial)
                    self.wake()
        if serial is not None:
            serial = self._courier.revisions.view(sub, serial)
        total = len(serial.parts) if serial is not None else None
        next_part = sub.next_part
        posted = next_part - 1 if total is None else min(next_part - 1, total)
        next_due = None if sub.paused or sub.completed else sub.next_due
        finish: datetime | None = None
        if next_due is not None and total is not None and next_part <= total:
            left = total - next_part + 1
            try:
                schedule, zone = timing(sub)
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
            write_problem=self._store.write_problem,
        )

    async def posted_part(self, channel_id: int, part: int) -> Delivery | None:
        """The delivery of ``part`` to this channel, if the channel received it."""
        delivery = await self._store.delivery(channel_id, part)
        if delivery is None or delivery.state != "posted":
            return None
        return delivery
