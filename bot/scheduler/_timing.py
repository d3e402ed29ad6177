"""When a channel's next part is due: after a post, and after missed slots (the catch-up
policy)."""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.schedule import Schedule, parse_schedule, parse_timezone
from bot.scheduler._settings import SchedulerSettings, SerialSource
from bot.store import CatchUp, Store, Subscription

log = logging.getLogger(__name__)

PAGE = 200


@functools.lru_cache(maxsize=256)
def _parse_cached(text: str) -> Schedule:
    return parse_schedule(text)


def timing(sub: Subscription) -> tuple[Schedule, ZoneInfo]:
    return _parse_cached(sub.schedule), parse_timezone(sub.timezone)


def policy(sub: Subscription, settings: SchedulerSettings) -> CatchUp:
    """The channel's catch-up policy: its own when an admin chose one, else the configured."""
    return sub.catch_up if sub.catch_up_own else settings.catch_up


def after_post(
    sub: Subscription,
    schedule: Schedule,
    zone: ZoneInfo,
    now: datetime,
    settings: SchedulerSettings,
) -> tuple[datetime, datetime]:
    """(slot_due, next_due) after a part went out at ``now``. A post before its slot (a
    request) leaves the slot alone; a post at or after it uses the slot up."""
    slot = sub.slot_due
    if slot is None:
        slot = schedule.first_after(now, zone)
        return slot, slot
    if slot > now:
        return slot, slot
    if policy(sub, settings) == "all":
        later = schedule.next_after(slot, zone)
        missed = schedule.last_missed(later, now, zone, settings.catch_up_cap - 1)
        if missed:
            return missed[0], now + settings.catch_up_spacing
    slot = schedule.upcoming(slot, now, zone)
    return slot, slot


def overdue_plan(
    sub: Subscription,
    schedule: Schedule,
    zone: ZoneInfo,
    now: datetime,
    settings: SchedulerSettings,
) -> tuple[datetime, datetime]:
    """(slot_due, next_due) for a subscription that may have missed slots."""
    slot = sub.slot_due
    if slot is None:
        slot = schedule.first_after(now, zone)
        return slot, slot
    if slot > now:
        return slot, slot
    chosen = policy(sub, settings)
    if chosen == "skip":
        slot = schedule.upcoming(slot, now, zone)
        return slot, slot
    if chosen == "all":
        missed = schedule.last_missed(slot, now, zone, settings.catch_up_cap)
        return (missed[0] if missed else slot), now
    return slot, now


async def catch_up(
    store: Store, library: SerialSource, settings: SchedulerSettings, now: datetime
) -> None:
    """Apply each overdue subscription's catch-up policy (at start-up)."""
    after: tuple[datetime, int] | None = None
    while batch := await store.due(now, PAGE, after=after, shards=settings.shards):
        for sub in batch:
            try:
                await _catch_up_one(store, library, settings, sub, now)
            except Exception:
                log.exception("Could not apply the catch-up policy to channel %s", sub.channel_id)
        last = batch[-1]
        assert last.next_due is not None
        after = (last.next_due, last.id)


async def _catch_up_one(
    store: Store,
    library: SerialSource,
    settings: SchedulerSettings,
    sub: Subscription,
    now: datetime,
) -> None:
    if sub.slot_due is None or sub.slot_due > now:
        return  # a retry or the closing message is due: it goes out now
    serial = library.get(sub.slug)
    if serial is None or sub.next_part > len(serial.parts):
        return
    schedule, zone = timing(sub)
    slot, due = overdue_plan(sub, schedule, zone, now, settings)
    if (slot, due) == (sub.slot_due, sub.next_due):
        return
    await store.set_due(sub.id, slot_due=slot, next_due=due, now=now)
    log.info(
        "Channel %s missed slots since %s; catch-up %r: next part %s",
        sub.channel_id,
        sub.slot_due.isoformat(),
        policy(sub, settings),
        "now" if due <= now else f"at {due.isoformat()}",
    )
