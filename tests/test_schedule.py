from __future__ import annotations

import contextlib
import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.schedule import (
    EXAMPLES,
    Schedule,
    ScheduleError,
    estimate_finish,
    parse_schedule,
    parse_timezone,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
ZONES = [
    BERLIN,
    NEW_YORK,
    ZoneInfo("UTC"),
    ZoneInfo("Australia/Lord_Howe"),  # half-hour DST shift
    ZoneInfo("America/St_Johns"),  # half-hour offset
    ZoneInfo("Asia/Kolkata"),
    ZoneInfo("Pacific/Apia"),  # skipped a whole day in 2011
]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


# --- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("daily 18:00", "daily 18:00"),
        ("  DAILY   at 7:05 ", "daily 07:05"),
        ("every day 18:00", "daily 18:00"),
        ("weekdays 07:30", "weekdays 07:30"),
        ("mon,tue,wed,thu,fri 07:30", "weekdays 07:30"),
        ("mon,wed,fri 20:00", "mon,wed,fri 20:00"),
        (" Fri , MON,wed  at 20:00", "mon,wed,fri 20:00"),
        ("monday-thursday 08:00", "mon,tue,wed,thu 08:00"),
        ("fri-mon 08:00", "mon,fri,sat,sun 08:00"),
        ("sat,sun 11:00", "weekends 11:00"),
        ("weekly sun 10:00", "weekly sun 10:00"),
        ("sunday 10:00", "weekly sun 10:00"),
        ("every 6h", "every 6h"),
        ("Every 6 hours", "every 6h"),
        ("every 2d 09:00", "every 2d 09:00"),
        ("every 2 days at 9:00", "every 2d 09:00"),
        ("every 1d 09:00", "daily 09:00"),
    ],
)
def test_schedules_parse_to_their_canonical_text(text: str, canonical: str) -> None:
    schedule = parse_schedule(text)
    assert schedule.text == canonical
    assert parse_schedule(schedule.text) == schedule


def test_the_documented_examples_all_parse() -> None:
    for example in EXAMPLES:
        assert parse_schedule(example).text == example


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "empty"),
        ("daily", "needs a time of day"),
        ("daily 25:00", "not a time of day"),
        ("daily 18.00", "not a time of day"),
        ("daily 6pm", "not a time of day"),
        ("18:00", "not which days"),
        ("every 0h", "from 1 to 720 hours"),
        ("every 1000h", "from 1 to 720 hours"),
        ("every 2d", "needs a time of day"),
        ("every 0d 10:00", "from 1 to 365 days"),
        ("every 6h 10:00", "takes no time of day"),
        ("every week", "not a schedule I understand"),
        ("every week 10:00", "not a schedule I understand"),
        ("weekly 10:00", "one day"),
        ("weekly sun", "needs a time of day"),
        ("mon,wdd 20:00", '"wdd"'),
        ("fortnightly 10:00", "not a schedule I understand"),
        ("x" * 500, "too long"),
    ],
)
def test_bad_schedules_say_what_is_wrong_and_show_a_valid_example(
    text: str, complaint: str
) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text)
    message = str(caught.value)
    assert complaint in message
    quoted = re.findall(r'"([^"]+)"', message)
    valid = []
    for candidate in quoted:
        with contextlib.suppress(ScheduleError):
            valid.append(parse_schedule(candidate))
    assert valid, f"no valid example in: {message}"
    assert isinstance(caught.value, ValueError)


def test_timezones_are_iana_names_in_any_case() -> None:
    assert parse_timezone("Europe/Berlin").key == "Europe/Berlin"
    assert parse_timezone(" europe/berlin ").key == "Europe/Berlin"
    assert parse_timezone("utc").key == "UTC"


@pytest.mark.parametrize("name", ["", "Mars/Olympus", "Europe", "../etc/passwd", "localtime"])
def test_bad_timezones_are_refused_with_an_example(name: str) -> None:
    with pytest.raises(ScheduleError, match='"Europe/Berlin"'):
        parse_timezone(name)


# --- daylight saving time, worked examples -------------------------------------------------------


def test_a_skipped_local_time_runs_at_the_first_valid_time_after_it() -> None:
    # Berlin, 2024-03-31: 02:00 CET jumps to 03:00 CEST.
    schedule = parse_schedule("daily 02:30")
    runs = []
    moment = utc(2024, 3, 29, 12)
    for _ in range(3):
        moment = schedule.next_after(moment, BERLIN)
        runs.append(moment)
    assert runs == [utc(2024, 3, 30, 1, 30), utc(2024, 3, 31, 1, 0), utc(2024, 4, 1, 0, 30)]
    assert local(runs[1], BERLIN).time() == time(3, 0)


def test_a_repeated_local_time_runs_once_at_its_first_occurrence() -> None:
    # New York, 2024-11-03: 01:00-02:00 happens twice (EDT, then EST).
    schedule = parse_schedule("daily 01:30")
    first = schedule.next_after(utc(2024, 11, 2, 12), NEW_YORK)
    second = schedule.next_after(first, NEW_YORK)
    assert first == utc(2024, 11, 3, 5, 30)  # 01:30 EDT
    assert second == utc(2024, 11, 4, 6, 30)  # the next day, 01:30 EST
    # Even asked from between the two occurrences, the second one is not a due time.
    assert schedule.next_after(utc(2024, 11, 3, 6, 0), NEW_YORK) == second


def test_new_york_spring_forward_gap() -> None:
    schedule = parse_schedule("daily 02:15")
    assert schedule.next_after(utc(2024, 3, 9, 12), NEW_YORK) == utc(2024, 3, 10, 7, 0)


def test_every_n_hours_is_absolute_time_across_dst() -> None:
    schedule = parse_schedule("every 6h")
    moment = utc(2024, 3, 30, 22)
    runs = [moment]
    for _ in range(4):
        runs.append(schedule.next_after(runs[-1], BERLIN))
    assert all(b - a == timedelta(hours=6) for a, b in itertools.pairwise(runs))
    # The wall clock shows the DST jump: 23:00, 05:00 (after it), 11:00 ...
    assert [local(r, BERLIN).hour for r in runs] == [23, 6, 12, 18, 0]


def test_every_n_days_keeps_the_local_time_across_dst() -> None:
    schedule = parse_schedule("every 2d 09:00")
    moment = schedule.first_after(utc(2024, 3, 28, 12), BERLIN)
    runs = [moment]
    for _ in range(3):
        runs.append(schedule.next_after(runs[-1], BERLIN))
    assert [local(r, BERLIN) for r in runs] == [
        datetime(2024, 3, 29, 9),
        datetime(2024, 3, 31, 9),
        datetime(2024, 4, 2, 9),
        datetime(2024, 4, 4, 9),
    ]


def test_first_due_of_every_n_days_is_the_next_occurrence_of_the_time() -> None:
    schedule = parse_schedule("every 3d 09:00")
    assert schedule.first_after(utc(2024, 5, 1, 6), ZoneInfo("UTC")) == utc(2024, 5, 1, 9)
    assert schedule.first_after(utc(2024, 5, 1, 10), ZoneInfo("UTC")) == utc(2024, 5, 2, 9)


def test_upcoming_keeps_the_phase_of_interval_schedules() -> None:
    hours = parse_schedule("every 6h")
    anchor = utc(2024, 5, 1, 1)
    assert hours.upcoming(anchor, utc(2024, 5, 3, 8), BERLIN) == utc(2024, 5, 3, 13)
    days = parse_schedule("every 2d 09:00")
    zone = ZoneInfo("UTC")
    assert days.upcoming(utc(2024, 5, 1, 9), utc(2024, 5, 20, 10), zone) == utc(2024, 5, 21, 9)
    daily = parse_schedule("daily 18:00")
    assert daily.upcoming(utc(2024, 5, 1, 18), utc(2024, 5, 4, 19), zone) == utc(2024, 5, 5, 18)


def test_last_missed_returns_the_latest_slots_up_to_now() -> None:
    daily = parse_schedule("daily 18:00")
    zone = ZoneInfo("UTC")
    missed = daily.last_missed(utc(2024, 5, 1, 18), utc(2024, 5, 6, 12), zone, 3)
    assert missed == [utc(2024, 5, 3, 18), utc(2024, 5, 4, 18), utc(2024, 5, 5, 18)]
    assert daily.last_missed(utc(2024, 5, 7, 18), utc(2024, 5, 6, 12), zone, 3) == []
    hours = parse_schedule("every 6h")
    assert hours.last_missed(utc(2024, 5, 1, 0), utc(2024, 5, 1, 13), zone, 2) == [
        utc(2024, 5, 1, 6),
        utc(2024, 5, 1, 12),
    ]


def test_estimate_finish_counts_due_times() -> None:
    daily = parse_schedule("daily 18:00")
    zone = ZoneInfo("UTC")
    assert estimate_finish(daily, zone, utc(2024, 5, 1, 12), 3) == utc(2024, 5, 3, 18)
    assert estimate_finish(daily, zone, utc(2024, 5, 1, 12), 0) is None
    hours = parse_schedule("every 6h")
    assert estimate_finish(hours, zone, utc(2024, 5, 1, 0), 4) == utc(2024, 5, 2, 0)


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_schedule("daily 18:00").next_after(datetime(2024, 5, 1), BERLIN)


# --- properties ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shift:
    """A change of a zone's UTC offset: at ``instant`` the wall clock goes from ``before`` to
    ``after`` (forward over a gap, or back over a repeated stretch)."""

    tz: ZoneInfo
    instant: datetime
    before: datetime
    after: datetime


def _shifts(tz: ZoneInfo, first_year: int, last_year: int) -> list[Shift]:
    found = []
    moment = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    offset = moment.astimezone(tz).utcoffset()
    step = timedelta(days=1)
    while moment < end:
        if moment.astimezone(tz).utcoffset() == offset:
            moment += step
            continue
        # The change happened in the last day: narrow it down to the minute.
        instant = moment - step
        for unit in (timedelta(hours=1), timedelta(minutes=1)):
            while (instant + unit).astimezone(tz).utcoffset() == offset:
                instant += unit
        instant += timedelta(minutes=1)
        before = local(instant - timedelta(minutes=1), tz) + timedelta(minutes=1)
        found.append(Shift(tz, instant, before, local(instant, tz)))
        offset = instant.astimezone(tz).utcoffset()
        moment = instant + step
    return found


SHIFTS = [shift for tz in ZONES for shift in _shifts(tz, 2008, 2030)]
zones = st.sampled_from(ZONES)
any_moment = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)
)
clock_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 1, 15, 29, 30, 31, 45, 59]))
day_sets = st.frozensets(st.integers(0, 6), min_size=1)
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def on_days(days: frozenset[int], at: time) -> Schedule:
    return parse_schedule(",".join(DAY_NAMES[d] for d in sorted(days)) + f" {at:%H:%M}")


@st.composite
def near_shift(draw: st.DrawFn) -> tuple[Shift, time, datetime]:
    """A DST change, a local time inside (or at the edge of) the stretch it skips or repeats,
    and a moment up to three days before it."""
    shift = draw(st.sampled_from(SHIFTS))
    low, high = sorted((shift.before, shift.after))
    minutes = int((high - low).total_seconds() // 60)
    wall = low + timedelta(minutes=draw(st.integers(-1, minutes)))
    ahead = draw(st.integers(1, 3 * 24 * 60))
    return shift, wall.time(), shift.instant - timedelta(minutes=ahead)


@st.composite
def wall_clock_cases(draw: st.DrawFn) -> tuple[Schedule, ZoneInfo, datetime]:
    """A weekday schedule, a zone and a moment; half of them straddle a DST change."""
    if draw(st.booleans()):
        shift, at, after = draw(near_shift())
        wall = local(shift.instant, shift.tz).replace(hour=at.hour, minute=at.minute)
        days = draw(day_sets) | {wall.weekday(), shift.before.weekday()}
        return on_days(frozenset(days), at), shift.tz, after
    return on_days(draw(day_sets), draw(clock_times)), draw(zones), draw(any_moment)


def reference_slot(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The first instant whose wall clock reads ``day at`` or later, by scanning minutes: slow,
    obvious, and independent of the implementation."""
    wall = datetime.combine(day, at)
    moment = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=15)
    moment = moment.replace(second=0, microsecond=0)
    # Jump close first: an hour at a time while safely before, then minute by minute.
    while local(moment + timedelta(hours=1), tz) < wall - timedelta(hours=2):
        moment += timedelta(hours=1)
    while local(moment, tz) < wall:
        moment += timedelta(minutes=1)
    return moment


@settings(max_examples=200, deadline=None)
@given(case=wall_clock_cases())
def test_next_due_is_the_first_slot_strictly_after(
    case: tuple[Schedule, ZoneInfo, datetime],
) -> None:
    schedule, tz, after = case
    due = schedule.next_after(after, tz)
    assert due > after
    assert due.tzinfo is not None and due.utcoffset() == timedelta(0)
    assert due - after <= timedelta(days=8)
    assert schedule.at is not None
    # No slot is skipped: every listed day around ``after``..``due`` has its slot outside
    # (after, due), and ``due`` is the slot of one of them.
    day = local(after, tz).date() - timedelta(days=1)
    slots = set()
    while day <= local(due, tz).date() + timedelta(days=1):
        if day.weekday() in schedule.days:
            slot = reference_slot(day, schedule.at, tz)
            assert not after < slot < due, (day, slot)
            slots.add(slot)
        day += timedelta(days=1)
    assert due in slots


@settings(max_examples=200, deadline=None)
@given(case=wall_clock_cases())
def test_due_times_show_the_local_time_unless_a_dst_jump_skipped_it(
    case: tuple[Schedule, ZoneInfo, datetime],
) -> None:
    schedule, tz, after = case
    due = schedule.next_after(after, tz)
    wall = local(due, tz)
    assert schedule.at is not None
    if wall.time() == schedule.at:
        assert wall.weekday() in schedule.days
        # A repeated hour runs at its first occurrence: an hour earlier, the clock read earlier.
        assert local(due - timedelta(hours=1), tz) < wall
    else:
        # The slot's time did not exist that day: the run is the first instant after the jump,
        # so a second earlier the clock read earlier than the slot.
        target = datetime.combine(wall.date(), schedule.at)
        if target > wall:
            target -= timedelta(days=1)
        assert target < wall
        assert local(due - timedelta(seconds=1), tz) < target
        assert target.weekday() in schedule.days


@settings(max_examples=100, deadline=None)
@given(case=wall_clock_cases(), steps=st.integers(2, 30))
def test_series_is_strictly_increasing_and_stable(
    case: tuple[Schedule, ZoneInfo, datetime], steps: int
) -> None:
    schedule, tz, after = case
    runs = [schedule.next_after(after, tz)]
    for _ in range(steps):
        runs.append(schedule.next_after(runs[-1], tz))
    assert all(a < b for a, b in itertools.pairwise(runs))
    # Asking from anywhere between two runs gives the later one: no slot in between.
    for earlier, later in itertools.pairwise(runs):
        middle = earlier + (later - earlier) / 2
        assert schedule.next_after(middle, tz) == later
        assert schedule.next_after(later - timedelta(microseconds=1), tz) == later


@settings(max_examples=100, deadline=None)
@given(case=wall_clock_cases(), apart=st.integers(0, 3 * 24 * 60 * 60))
def test_next_due_is_monotone(case: tuple[Schedule, ZoneInfo, datetime], apart: int) -> None:
    schedule, tz, early = case
    late = early + timedelta(seconds=apart)
    assert schedule.next_after(early, tz) <= schedule.next_after(late, tz)


@settings(max_examples=100, deadline=None)
@given(case=wall_clock_cases(), ahead=st.integers(0, 60 * 24 * 40))
def test_upcoming_is_the_first_slot_after_now(
    case: tuple[Schedule, ZoneInfo, datetime], ahead: int
) -> None:
    schedule, tz, anchor = case
    now = anchor + timedelta(minutes=ahead)
    assert schedule.upcoming(anchor, now, tz) == schedule.next_after(now, tz)


@settings(max_examples=100, deadline=None)
@given(hours=st.integers(1, 720), tz=zones, after=any_moment, steps=st.integers(1, 20))
def test_every_n_hours_is_exactly_n_hours_apart(
    hours: int, tz: ZoneInfo, after: datetime, steps: int
) -> None:
    schedule = parse_schedule(f"every {hours}h")
    runs = [schedule.next_after(after, tz)]
    for _ in range(steps):
        runs.append(schedule.next_after(runs[-1], tz))
    assert runs[0] - after == timedelta(hours=hours)
    assert all(b - a == timedelta(hours=hours) for a, b in itertools.pairwise(runs))


@settings(max_examples=100, deadline=None)
@given(step=st.integers(2, 30), shifted=near_shift(), steps=st.integers(1, 10))
def test_every_n_days_steps_n_local_days_at_the_local_time(
    step: int, shifted: tuple[Shift, time, datetime], steps: int
) -> None:
    shift, at, after = shifted
    tz = shift.tz
    schedule = parse_schedule(f"every {step}d {at:%H:%M}")
    runs = [schedule.first_after(after, tz)]
    for _ in range(steps):
        runs.append(schedule.next_after(runs[-1], tz))
    assert runs[0] > after
    assert runs[0] == schedule.next_after(after, tz) or runs[0] < schedule.next_after(after, tz)
    for earlier, later in itertools.pairwise(runs):
        assert later > earlier
        assert later == reference_slot(local(earlier, tz).date() + timedelta(days=step), at, tz)


@settings(max_examples=100, deadline=None)
@given(
    step=st.integers(1, 48),
    anchor=any_moment,
    ahead=st.integers(0, 60 * 24 * 30),
    count=st.integers(1, 5),
)
def test_last_missed_matches_walking_the_series(
    step: int, anchor: datetime, ahead: int, count: int
) -> None:
    schedule = parse_schedule(f"every {step}h")
    now = anchor + timedelta(minutes=ahead)
    walked = []
    due = anchor
    while due <= now:
        walked.append(due)
        due = schedule.next_after(due, BERLIN)
    assert schedule.last_missed(anchor, now, BERLIN, count) == walked[-count:]
    assert schedule.upcoming(anchor, now, BERLIN) == due


def test_the_dst_strategy_finds_real_changes() -> None:
    berlin_2024 = [s for s in SHIFTS if s.tz is BERLIN and s.instant.year == 2024]
    assert [(s.instant, s.before.time(), s.after.time()) for s in berlin_2024] == [
        (utc(2024, 3, 31, 1), time(2, 0), time(3, 0)),
        (utc(2024, 10, 27, 1), time(3, 0), time(2, 0)),
    ]
