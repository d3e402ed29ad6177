"""When parts go out: a small schedule grammar and the pure maths of the next due time.

Grammar (case-insensitive; extra spaces are ignored; ``at`` before the time is optional)::

    daily 18:00            every day at 18:00 (also: "every day 18:00")
    weekdays 07:30         Monday to Friday
    weekends 11:00         Saturday and Sunday
    mon,wed,fri 20:00      the listed days; full names and ranges work too ("monday-thursday")
    weekly sun 10:00       once a week
    every 6h               every 6 hours (1 to 720) of absolute time, from the previous due time
    every 2d 09:00         every 2 days (1 to 365) at 09:00, from the previous due time

Times are 24-hour ``HH:MM`` in the subscription's timezone (an IANA name such as ``Europe/Berlin``).
Every schedule has a canonical text (``Schedule.text``): ``" MON , Fri,wed  at 20:00 "`` reads back
as ``"mon,wed,fri 20:00"``, ``"sat,sun 11:00"`` as ``"weekends 11:00"``.

The first part of a new subscription goes out at the first due time after subscribing; for
``every Nh`` that is N hours later, for ``every Nd HH:MM`` the next ``HH:MM``.

Daylight saving time: a local time that does not exist on a given day (02:30 when clocks jump from
02:00 to 03:00) runs at the first valid time after it (03:00); a local time that happens twice
(when clocks go back) runs once, at its first occurrence. ``every Nh`` ignores the wall clock: it is
measured in absolute time from the previous due time, so it stays N hours apart across DST changes.

All datetimes in and out are timezone-aware UTC.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

__all__ = [
    "EXAMPLES",
    "Schedule",
    "ScheduleError",
    "estimate_finish",
    "parse_schedule",
    "parse_timezone",
]

EXAMPLES = (
    "daily 18:00",
    "weekdays 07:30",
    "mon,wed,fri 20:00",
    "weekly sun 10:00",
    "every 6h",
    "every 2d 09:00",
)
MAX_HOURS = 720
MAX_DAYS = 365
_MAX_INPUT = 120

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_LOOKUP = {name: i for i, name in enumerate(_DAY_NAMES)} | {
    name: i for i, name in enumerate(_FULL_DAY_NAMES)
}
_DAY_LOOKUP |= {"tues": 1, "weds": 2, "thur": 3, "thurs": 3}
_ALL_DAYS = frozenset(range(7))
_WEEKDAYS = frozenset(range(5))
_WEEKENDS = frozenset({5, 6})

_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_CLOCKISH = re.compile(r"\d+[:.h]\d*|\d+ ?(?:am|pm)")
_EVERY_HOURS = re.compile(r"every (\d+) ?(?:h|hr|hrs|hour|hours)")
_EVERY_DAYS = re.compile(r"every (\d+) ?(?:d|day|days)")


class ScheduleError(ValueError):
    """A schedule or timezone that cannot be used. The message says what is wrong and shows a valid
    example; it is meant to be shown to the person who typed it."""


Kind = Literal["days", "hours", "day_interval"]


@dataclass(frozen=True, slots=True)
class Schedule:
    """A parsed schedule. Build one with ``parse_schedule``.

    ``kind`` is ``"days"`` (a local time on a set of weekdays), ``"hours"`` (every ``step`` hours of
    absolute time) or ``"day_interval"`` (every ``step`` days at a local time).
    """

    text: str
    kind: Kind
    at: time | None = None
    days: frozenset[int] = frozenset()
    step: int = 0

    def next_after(self, after: datetime, tz: ZoneInfo) -> datetime:
        """The first due time strictly after ``after``.

        For ``every Nh`` and ``every Nd HH:MM``, ``after`` is the anchor: the previous due time.
        """
        after = _utc(after)
        if self.kind == "hours":
            return after + timedelta(hours=self.step)
        assert self.at is not None
        if self.kind == "day_interval":
            return _resolve(_local_date(after, tz) + timedelta(days=self.step), self.at, tz)
        return _next_on_days(after, self.at, self.days, tz)

    def first_after(self, now: datetime, tz: ZoneInfo) -> datetime:
        """The first due time of a new subscription (or after the schedule changed): like
        ``next_after``, except that ``every Nd HH:MM`` starts at the next ``HH:MM``."""
        now = _utc(now)
        if self.kind == "day_interval":
            assert self.at is not None
            return _next_on_days(now, self.at, _ALL_DAYS, tz)
        return self.next_after(now, tz)

    def upcoming(self, anchor: datetime, now: datetime, tz: ZoneInfo) -> datetime:
        """The first due time strictly after both ``anchor`` and ``now`` in the series that
        continues from the due time ``anchor`` (used after a late post, so that interval schedules
        keep their phase)."""
        anchor, now = _utc(anchor), _utc(now)
        if self.kind == "days":
            return self.next_after(max(anchor, now), tz)
        if self.kind == "hours":
            step = timedelta(hours=self.step)
            if now < anchor:
                return anchor + step
            return anchor + step * ((now - anchor) // step + 1)
        assert self.at is not None
        first = _local_date(anchor, tz) + timedelta(days=self.step)
        behind = (_local_date(now, tz) - first).days
        day = first + timedelta(days=max(0, behind // self.step - 1) * self.step)
        while (due := _resolve(day, self.at, tz)) <= now:
            day += timedelta(days=self.step)
        return due

    def last_missed(
        self, anchor: datetime, now: datetime, tz: ZoneInfo, count: int
    ) -> list[datetime]:
        """Of the due times ``anchor``, ``next_after(anchor)``, ... that are ``<= now``, the last
        ``count`` (oldest first). Empty if ``anchor`` is still ahead."""
        anchor, now = _utc(anchor), _utc(now)
        if count <= 0 or anchor > now:
            return []
        if self.kind == "hours":
            step = timedelta(hours=self.step)
            total = (now - anchor) // step + 1
            first = max(0, total - count)
            return [anchor + step * i for i in range(first, total)]
        missed: deque[datetime] = deque(maxlen=count)
        due = anchor
        while due <= now:
            missed.append(due)
            due = self.next_after(due, tz)
        return list(missed)


def parse_schedule(text: str) -> Schedule:
    """Parse a schedule typed by an admin (see the module docstring for the grammar)."""
    raw = text.strip()
    if not raw:
        raise ScheduleError(f"The schedule is empty. {_examples()}")
    if len(raw) > _MAX_INPUT:
        raise ScheduleError(f"That schedule is too long to be one. {_examples()}")
    norm = " ".join(raw.lower().split())
    norm = re.sub(r" ?([,-]) ?", r"\1", norm)
    norm = re.sub(r"^every day\b", "daily", norm)
    norm = re.sub(r" at (?=\d)", " ", norm)

    if match := _EVERY_HOURS.fullmatch(norm):
        hours = int(match.group(1))
        if not 1 <= hours <= MAX_HOURS:
            raise ScheduleError(
                f'The interval in "{_echo(raw)}" must be from 1 to {MAX_HOURS} hours, '
                'for example "every 6h".'
            )
        return Schedule(text=f"every {hours}h", kind="hours", step=hours)

    head, _, clock = norm.rpartition(" ")
    if not _CLOCKISH.fullmatch(clock):
        raise ScheduleError(_missing_time(norm, raw))
    if not head:
        raise ScheduleError(
            f'"{_echo(raw)}" says when but not which days: for example "daily {clock}".'
        )
    at = _parse_time(clock, raw)

    if head == "daily":
        return _on_days(_ALL_DAYS, at)
    if head == "weekdays":
        return _on_days(_WEEKDAYS, at)
    if head == "weekends":
        return _on_days(_WEEKENDS, at)
    if head == "weekly" or head.startswith("weekly "):
        day = head.removeprefix("weekly").strip()
        if day not in _DAY_LOOKUP:
            raise ScheduleError(
                f'"{_echo(raw)}" needs one day after "weekly", for example "weekly sun {clock}".'
            )
        return _on_days(frozenset({_DAY_LOOKUP[day]}), at)
    if match := _EVERY_DAYS.fullmatch(head):
        step = int(match.group(1))
        if not 1 <= step <= MAX_DAYS:
            raise ScheduleError(
                f'The interval in "{_echo(raw)}" must be from 1 to {MAX_DAYS} days, '
                'for example "every 2d 09:00".'
            )
        if step == 1:
            return _on_days(_ALL_DAYS, at)
        return Schedule(text=f"every {step}d {at:%H:%M}", kind="day_interval", at=at, step=step)
    if _EVERY_HOURS.fullmatch(head):
        raise ScheduleError(
            f'"{_echo(raw)}": every N hours takes no time of day. Write "every 6h", or '
            '"every 2d 09:00" for days at a time.'
        )
    if head.startswith("every"):
        raise ScheduleError(
            f'"{_echo(raw)}" is not a schedule I understand: write "every 6h" (hours) or '
            '"every 2d 09:00" (days at a time).'
        )
    return _on_days(_parse_days(head, raw), at)


def parse_timezone(name: str) -> ZoneInfo:
    """An IANA timezone by name; the case of the letters does not matter."""
    key = name.strip()
    if key.upper() == "UTC":
        return ZoneInfo("UTC")
    known = timezone_names()
    key = known.get(key) or known.get(key.lower(), "")
    if not key:
        raise ScheduleError(
            f'"{_echo(name)}" is not a timezone I know: use an IANA name such as '
            '"Europe/Berlin", "America/New_York" or "UTC".'
        )
    return ZoneInfo(key)


def estimate_finish(
    schedule: Schedule, tz: ZoneInfo, after: datetime, parts_left: int
) -> datetime | None:
    """When the last of ``parts_left`` parts goes out if each takes the next due time, starting
    after ``after`` (the previous due time, or now). ``None`` when nothing is left."""
    if parts_left <= 0:
        return None
    due = _utc(after)
    try:
        if schedule.kind == "hours":
            return due + timedelta(hours=schedule.step * parts_left)
        for _ in range(parts_left):
            due = schedule.next_after(due, tz)
    except OverflowError:
        return None
    return due


# --- parsing helpers ---------------------------------------------------------------------------


def _examples() -> str:
    quoted = ", ".join(f'"{e}"' for e in EXAMPLES)
    return f"Examples of valid schedules: {quoted}."


def _echo(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:39] + "…"


def _missing_time(norm: str, raw: str) -> str:
    if _EVERY_DAYS.fullmatch(norm):
        return f'"{_echo(raw)}" needs a time of day, for example "{norm} 09:00".'
    days_only = norm in ("daily", "weekdays", "weekends") or (
        norm.startswith("weekly ") and norm.removeprefix("weekly ") in _DAY_LOOKUP
    )
    if days_only or _only_days(norm):
        return f'"{_echo(raw)}" needs a time of day as 24-hour HH:MM, for example "{norm} 18:00".'
    return f'"{_echo(raw)}" is not a schedule I understand. {_examples()}'


def _parse_time(clock: str, raw: str) -> time:
    match = _TIME.fullmatch(clock)
    hour, minute = (int(match.group(1)), int(match.group(2))) if match else (99, 99)
    if hour > 23 or minute > 59:
        raise ScheduleError(
            f'"{clock}" in "{_echo(raw)}" is not a time of day: use 24-hour HH:MM from 00:00 to '
            '23:59, for example "daily 18:00".'
        )
    return time(hour, minute)


def _looks_like_days(head: str) -> bool:
    return any(piece in _DAY_LOOKUP for piece in re.split(r"[,-]", head))


def _only_days(head: str) -> bool:
    return all(piece in _DAY_LOOKUP for piece in re.split(r"[,-]", head))


def _parse_days(head: str, raw: str) -> frozenset[int]:
    days: set[int] = set()
    for item in head.split(","):
        first, dash, last = item.partition("-")
        for name in (first, last) if dash else (first,):
            if name not in _DAY_LOOKUP:
                if not _looks_like_days(head):
                    raise ScheduleError(
                        f'"{_echo(raw)}" is not a schedule I understand. {_examples()}'
                    )
                raise ScheduleError(
                    f'"{_echo(name)}" in "{_echo(raw)}" is not a day: use mon, tue, wed, thu, '
                    'fri, sat or sun, for example "mon,wed,fri 20:00".'
                )
        start = _DAY_LOOKUP[first]
        if dash:
            end = _DAY_LOOKUP[last]
            span = (end - start) % 7
            days.update((start + i) % 7 for i in range(span + 1))
        else:
            days.add(start)
    return frozenset(days)


def _on_days(days: frozenset[int], at: time) -> Schedule:
    clock = f"{at:%H:%M}"
    if days == _ALL_DAYS:
        text = f"daily {clock}"
    elif days == _WEEKDAYS:
        text = f"weekdays {clock}"
    elif days == _WEEKENDS:
        text = f"weekends {clock}"
    elif len(days) == 1:
        text = f"weekly {_DAY_NAMES[next(iter(days))]} {clock}"
    else:
        text = ",".join(_DAY_NAMES[d] for d in sorted(days)) + f" {clock}"
    return Schedule(text=text, kind="days", at=at, days=days)


@lru_cache(maxsize=1)
def timezone_names() -> dict[str, str]:
    """Usable zone names (not the ``posix/`` and ``right/`` copies, nor ``localtime`` or
    ``Factory``), keyed by themselves and by their lower-case form."""
    names = {
        n
        for n in available_timezones()
        if n not in ("localtime", "Factory") and not n.startswith(("posix/", "right/"))
    }
    return {n: n for n in names} | {n.lower(): n for n in sorted(names)}


# --- time maths --------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return moment.astimezone(UTC)


def _local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def _wall(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def _resolve(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant (UTC) when the wall clock in ``tz`` first shows ``at`` on ``day``, or, if it
    never does (skipped by a DST jump), the first instant after the jump."""
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=tz).astimezone(UTC)  # fold=0: the earlier of a repeated hour
    if _wall(first, tz) == wall:
        return first
    # ``wall`` falls in a gap. Before the jump the wall clock is behind ``wall``, after it ahead;
    # with fold=1 Python reads ``wall`` with the later offset, which lands before the jump.
    lo = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = first
    if lo >= hi:  # not a forward jump after all; cannot happen with real zone data
        return first
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            mid = lo + timedelta(seconds=1)
        if _wall(mid, tz) >= wall:
            hi = mid
        else:
            lo = mid
    return hi


def _next_on_days(after: datetime, at: time, days: frozenset[int], tz: ZoneInfo) -> datetime:
    start = _local_date(after, tz) - timedelta(days=1)
    for offset in range(16):
        day = start + timedelta(days=offset)
        if day.weekday() in days and (due := _resolve(day, at, tz)) > after:
            return due
    raise AssertionError(f"no due time within two weeks of {after}")  # pragma: no cover
