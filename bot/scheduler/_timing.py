"""When a channel's next part is due: after a post, after missed slots (the catch-up policy),
and the part numbering that follows a story's revisions."""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.schedule import Schedule, parse_schedule, parse_timezone
from bot.scheduler._settings import SchedulerSettings, SerialSource
from bot.store import Store, Subscription
from bot.story import Serial

log = logging.getLogger(__name__)

PAGE = 200


@functools.lru_cache(maxsize=256)
def _parse_cached(text: str) -> Schedule:
    return parse_schedule(text)


def timing(sub: Subscription) -> tuple[Schedule, ZoneInfo]:
    return _parse_cached(sub.schedule), parse_timezone(sub.timezone)


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
    if sub.catch_up == "all":
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
    if sub.catch_up == "skip":
        slot = schedule.upcoming(slot, now, zone)
        return slot, slot
    if sub.catch_up == "all":
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
        sub.catch_up,
        "now" if due <= now else f"at {due.isoformat()}",
    )


def numbering_holds(sub: Subscription, serial: Serial) -> bool:
    """Whether the channel's part numbers still mean the same text: same revision, same number
    of parts, and its next part still starts where its reading stopped."""
    if serial.story.revision != sub.revision:
        return False
    if sub.part_count is not None and sub.part_count != len(serial.parts):
        return False
    if sub.next_part > len(serial.parts):
        return True
    return serial.part(sub.next_part).start == sub.position


def part_for_position(serial: Serial, position: int) -> int:
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
