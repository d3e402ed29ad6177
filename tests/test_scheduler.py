from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import metrics
from bot.clock import ManualClock
from bot.poster import ChannelGone, PostForbidden, PostTransient
from bot.schedule import ScheduleError
from bot.scheduler import (
    AlreadySubscribed,
    NotSubscribed,
    PartOutOfRange,
    Scheduler,
    SchedulerSettings,
    SerialError,
    UnknownStory,
    delivery_nonce,
)
from bot.store import Store, Subscription
from bot.story import Break, Paragraph, Part, Serial, Story, StoryMeta
from tests.postgres_server import open_test_store
from tests.recording_poster import RecordingPoster

BERLIN = ZoneInfo("Europe/Berlin")
# A Monday, six days before Berlin moves its clocks forward (2024-03-31).
START = datetime(2024, 3, 25, 12, 0, tzinfo=UTC)


# --- a small story factory -----------------------------------------------------------------------


def make_serial(
    slug: str = "tale",
    parts: int = 5,
    *,
    revision: str = "r1",
    title: str = "A Tale",
    paragraphs: int | None = None,
) -> Serial:
    """A story of ``paragraphs`` short paragraphs (default: one per part) cut into ``parts``
    parts that tile the text."""
    count = paragraphs or parts
    texts = [f"Paragraph {i} of {title}." for i in range(1, count + 1)]
    text = "\n\n".join(texts)
    paras = []
    offset = 0
    for i, body in enumerate(texts):
        paras.append(
            Paragraph(offset, offset + len(body), 4, Break.CHAPTER if i == 0 else Break.PARAGRAPH)
        )
        offset += len(body) + 2
    story = Story(slug, Path(f"{slug}.txt"), StoryMeta(title), text, tuple(paras), revision)
    per_part = -(-count // parts)
    groups = [paras[i : i + per_part] for i in range(0, count, per_part)]
    cut = []
    for number, group in enumerate(groups, start=1):
        start = group[0].start
        end = groups[number][0].start if number < len(groups) else len(text)
        cut.append(
            Part(
                index=number,
                start=start,
                end=end,
                paragraphs=tuple(story.paragraph_text(p) for p in group),
                words=4 * len(group),
                ends_with=Break.END if number == len(groups) else Break.PARAGRAPH,
            )
        )
    return Serial(story, tuple(cut))


class FakeLibrary:
    # What an edited story's unread text is cut anew with (a part of these stories is one
    # paragraph of 4 words).
    words_per_part = 4
    tolerance = 0.35

    def __init__(self, *serials: Serial) -> None:
        self.serials = {s.slug: s for s in serials}

    def get(self, slug: str) -> Serial | None:
        return self.serials.get(slug)


# --- the test bench ------------------------------------------------------------------------------


@dataclass
class Bench:
    path: Path | str  # a SQLite file, or a postgresql:// URL
    clock: ManualClock
    library: FakeLibrary
    poster: RecordingPoster
    settings: SchedulerSettings
    store: Store = field(init=False)
    scheduler: Scheduler = field(init=False)

    async def open(self) -> None:
        self.store = await open_test_store(self.path)  # type: ignore[assignment]
        self.scheduler = Scheduler(self.store, self.library, self.poster, self.clock, self.settings)

    async def close(self) -> None:
        await self.scheduler.stop()
        await self.store.close()

    async def reopen(self) -> None:
        """A new process over the same database file."""
        await self.close()
        await self.open()
        await self.scheduler.start()
        await self.idle()

    async def idle(self) -> None:
        await asyncio.wait_for(self.scheduler.idle(), timeout=10)

    async def subscribe(
        self, channel_id: int = 1, schedule: str = "daily 18:00", **kwargs: Any
    ) -> Subscription:
        kwargs.setdefault("guild_id", 100)
        kwargs.setdefault("slug", "tale")
        kwargs.setdefault("timezone", "Europe/Berlin")
        kwargs.setdefault("subscribed_by", 7)
        return await self.scheduler.subscribe(channel_id=channel_id, schedule=schedule, **kwargs)

    async def advance(self, delta: timedelta) -> None:
        await self.run_until(self.clock.now() + delta)

    async def run_until(self, end: datetime) -> None:
        """Move the clock from one due time to the next, letting the scheduler work at each."""
        await self.idle()
        while True:
            assert not await self.store.due(self.clock.now(), 1), "something due was left undone"
            due = await self.store.next_due_after(self.clock.now())
            if due is None or due > end:
                break
            self.clock.set(due)
            await self.idle()
        self.clock.set(max(end, self.clock.now()))
        await self.idle()

    def times(self, channel_id: int = 1) -> list[datetime]:
        return [p.at for p in self.poster.of("part", channel_id)]


async def until(condition: Callable[[], bool]) -> None:
    """Let other tasks (and the database thread) run until ``condition`` holds."""
    for _ in range(200_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


SETTINGS = SchedulerSettings()


@pytest.fixture
def settings() -> SchedulerSettings:
    return SETTINGS


@pytest.fixture
async def bench(database: Path | str, settings: SchedulerSettings) -> AsyncIterator[Bench]:
    """The scheduler on a SQLite store and, again, on a PostgreSQL one."""
    clock = ManualClock(START)
    made = Bench(
        database,
        clock,
        FakeLibrary(make_serial(parts=20), make_serial("short", 3, title="Short")),
        RecordingPoster(clock),
        settings,
    )
    await made.open()
    await made.scheduler.start()
    yield made
    await made.close()


# --- schedules over simulated weeks --------------------------------------------------------------


async def test_daily_schedule_posts_one_part_a_day_at_local_time_across_dst(bench: Bench) -> None:
    await bench.subscribe(schedule="daily 18:00")
    await bench.run_until(datetime(2024, 4, 3, 23, 0, tzinfo=UTC))
    times = bench.times()
    assert bench.poster.parts(1) == list(range(1, 11))
    # 18:00 in Berlin is 17:00 UTC before 31 March and 16:00 UTC from then on.
    assert times[:6] == [datetime(2024, 3, d, 17, 0, tzinfo=UTC) for d in range(25, 31)]
    assert times[6:] == [datetime(2024, 3, 31, 16, 0, tzinfo=UTC)] + [
        datetime(2024, 4, d, 16, 0, tzinfo=UTC) for d in range(1, 4)
    ]
    assert all(t.astimezone(BERLIN).hour == 18 for t in times)


async def test_weekly_schedule_posts_on_its_day_across_new_york_dst(bench: Bench) -> None:
    await bench.subscribe(schedule="weekly sun 10:00", timezone="America/New_York")
    await bench.run_until(datetime(2024, 4, 15, tzinfo=UTC))
    # Sundays 31 Mar, 7 and 14 Apr (New York moved its clocks on 10 Mar: EDT, UTC-4).
    assert bench.times() == [
        datetime(2024, 3, 31, 14, tzinfo=UTC),
        datetime(2024, 4, 7, 14, tzinfo=UTC),
        datetime(2024, 4, 14, 14, tzinfo=UTC),
    ]


async def test_weekday_and_day_list_schedules_skip_other_days(bench: Bench) -> None:
    await bench.subscribe(1, "weekdays 07:30")
    await bench.subscribe(2, "mon,wed,fri 20:00")
    await bench.run_until(datetime(2024, 4, 8, tzinfo=UTC))
    weekdays = [t.astimezone(BERLIN) for t in bench.times(1)]
    assert [t.day for t in weekdays] == [26, 27, 28, 29, 1, 2, 3, 4, 5]
    assert all(t.hour == 7 and t.minute == 30 for t in weekdays)
    listed = [t.astimezone(BERLIN) for t in bench.times(2)]
    assert [(t.day, t.strftime("%a")) for t in listed] == [
        (25, "Mon"),
        (27, "Wed"),
        (29, "Fri"),
        (1, "Mon"),
        (3, "Wed"),
        (5, "Fri"),
    ]


async def test_interval_schedule_keeps_absolute_spacing_across_dst(bench: Bench) -> None:
    await bench.subscribe(schedule="every 6h")
    await bench.run_until(datetime(2024, 4, 1, tzinfo=UTC))
    times = bench.times()
    assert times[0] == START + timedelta(hours=6)
    assert all(b - a == timedelta(hours=6) for a, b in itertools.pairwise(times))
    assert len(times) == 20  # the whole story, then it ends


async def test_every_two_days_keeps_local_time_across_dst(bench: Bench) -> None:
    await bench.subscribe(schedule="every 2d 09:00")
    await bench.run_until(datetime(2024, 4, 6, tzinfo=UTC))
    local = [t.astimezone(BERLIN) for t in bench.times()]
    assert [t.day for t in local] == [26, 28, 30, 1, 3, 5]
    assert all(t.hour == 9 and t.minute == 0 for t in local)


async def test_one_task_sleeps_for_all_subscriptions(bench: Bench) -> None:
    for channel in range(1, 11):
        await bench.subscribe(channel, f"daily {8 + channel:02d}:00")
    await bench.idle()
    # The persisted-timer pattern: one sleeper (the loop), not one per subscription.
    assert bench.clock.sleepers == 1


async def test_an_earlier_subscription_wakes_the_sleeping_loop(bench: Bench) -> None:
    await bench.subscribe(1, "weekly sun 10:00")
    await bench.idle()
    await bench.subscribe(2, "daily 13:30")  # 12:30 UTC, half an hour from now
    bench.clock.set(START + timedelta(minutes=30))
    await bench.idle()
    assert bench.poster.parts(2) == [1]


# --- reading ahead on request --------------------------------------------------------------------


async def test_request_next_posts_at_once_and_the_schedule_keeps_its_times(bench: Bench) -> None:
    await bench.subscribe()
    outcome = await bench.scheduler.request_next(1, member_id=50)
    assert outcome.posted == 1
    assert outcome.refused is None
    await bench.run_until(datetime(2024, 3, 26, 18, tzinfo=UTC))
    assert bench.poster.parts(1) == [1, 2, 3]
    assert bench.times()[1:] == [
        datetime(2024, 3, 25, 17, tzinfo=UTC),
        datetime(2024, 3, 26, 17, tzinfo=UTC),
    ]
    posted = await bench.scheduler.posted_part(1, 1)
    assert posted is not None and posted.trigger == "request"
    assert (await bench.scheduler.posted_part(1, 2)).trigger == "schedule"


async def test_request_next_respects_the_cooldown(bench: Bench) -> None:
    await bench.subscribe()
    assert (await bench.scheduler.request_next(1, 50)).posted == 1
    await bench.advance(timedelta(minutes=10))
    refused = await bench.scheduler.request_next(1, 51)
    assert refused.posted is None
    assert refused.retry_at == START + timedelta(minutes=30)
    assert "30 minutes" in (refused.refused or "")
    assert (refused.votes, refused.needed) == (0, 0)
    await bench.advance(timedelta(minutes=20))
    assert (await bench.scheduler.request_next(1, 51)).posted == 2
    assert bench.poster.parts(1) == [1, 2]


@pytest.mark.parametrize(
    "settings", [SchedulerSettings(next_quorum=3, quorum_window=timedelta(minutes=30))]
)
async def test_request_next_waits_for_a_quorum_of_distinct_readers(bench: Bench) -> None:
    await bench.subscribe()
    first = await bench.scheduler.request_next(1, 50)
    assert (first.posted, first.votes, first.needed) == (None, 1, 3)
    again = await bench.scheduler.request_next(1, 50)
    assert (again.posted, again.votes) == (None, 1)  # the same reader counts once
    second = await bench.scheduler.request_next(1, 51)
    assert (second.posted, second.votes) == (None, 2)
    third = await bench.scheduler.request_next(1, 52)
    assert (third.posted, third.votes, third.needed) == (1, 3, 3)
    assert bench.poster.parts(1) == [1]


@pytest.mark.parametrize(
    "settings",
    [
        SchedulerSettings(
            next_quorum=2, quorum_window=timedelta(minutes=30), next_cooldown=timedelta(0)
        )
    ],
)
async def test_quorum_votes_expire_after_the_window(bench: Bench) -> None:
    await bench.subscribe(schedule="weekly sun 10:00")
    await bench.scheduler.request_next(1, 50)
    await bench.advance(timedelta(minutes=31))
    late = await bench.scheduler.request_next(1, 51)
    assert (late.posted, late.votes) == (None, 1)
    now = await bench.scheduler.request_next(1, 50)
    assert (now.posted, now.votes) == (1, 2)
    # Votes are used up by the post.
    assert (await bench.scheduler.request_next(1, 52)).votes == 1


async def test_request_next_is_refused_when_paused_or_finished(bench: Bench) -> None:
    await bench.subscribe(slug="short")
    await bench.scheduler.pause(1, "holidays")
    paused = await bench.scheduler.request_next(1, 50)
    assert paused.posted is None and "holidays" in (paused.refused or "")
    assert "/serial resume" in (paused.refused or "")
    await bench.scheduler.resume(1)
    await bench.advance(timedelta(days=4))
    finished = await bench.scheduler.request_next(1, 50)
    assert finished.posted is None and "finished" in (finished.refused or "")
    assert bench.poster.parts(1) == [1, 2, 3]


async def test_request_next_in_a_channel_without_serial_is_an_error(bench: Bench) -> None:
    with pytest.raises(NotSubscribed, match="/serial subscribe"):
        await bench.scheduler.request_next(99, 50)


async def test_a_request_that_discord_fails_is_posted_by_the_retry(bench: Bench) -> None:
    await bench.subscribe()
    bench.poster.fail("part", 1, PostTransient("502 Bad Gateway"))
    outcome = await bench.scheduler.request_next(1, 50)
    assert outcome.posted is None and "Discord" in (outcome.refused or "")
    await bench.run_until(START + timedelta(minutes=5))
    assert bench.times() == [START + timedelta(minutes=1)]
    assert (await bench.scheduler.posted_part(1, 1)).trigger == "request"
    # The regular slot that evening still posts the next part.
    await bench.run_until(datetime(2024, 3, 25, 18, tzinfo=UTC))
    assert bench.poster.parts(1) == [1, 2]


async def test_concurrent_requests_post_one_part_within_the_cooldown(bench: Bench) -> None:
    await bench.subscribe()
    outcomes = await asyncio.gather(*(bench.scheduler.request_next(1, m) for m in range(10)))
    assert sorted(o.posted or 0 for o in outcomes) == [0] * 9 + [1]
    assert bench.poster.parts(1) == [1]


# --- surviving restarts and downtime -------------------------------------------------------------


async def test_a_new_process_continues_where_the_last_one_left_off(bench: Bench) -> None:
    await bench.subscribe()
    await bench.run_until(datetime(2024, 3, 26, 20, tzinfo=UTC))
    assert bench.poster.parts(1) == [1, 2]
    await bench.reopen()
    await bench.run_until(datetime(2024, 3, 28, 20, tzinfo=UTC))
    assert bench.poster.parts(1) == [1, 2, 3, 4]
    nonces = [p.nonce for p in bench.poster.of("part", 1)]
    assert len(set(nonces)) == 4


async def test_after_downtime_one_missed_part_is_posted_then_the_schedule(bench: Bench) -> None:
    await bench.subscribe()
    await bench.run_until(datetime(2024, 3, 25, 20, tzinfo=UTC))
    await bench.close()
    bench.clock.set(datetime(2024, 3, 28, 9, tzinfo=UTC))  # three slots missed
    await bench.open()
    await bench.scheduler.start()
    await bench.idle()
    assert bench.poster.parts(1) == [1, 2]
    assert bench.times()[-1] == datetime(2024, 3, 28, 9, tzinfo=UTC)
    await bench.run_until(datetime(2024, 3, 29, 20, tzinfo=UTC))
    assert bench.times()[2:] == [
        datetime(2024, 3, 28, 17, tzinfo=UTC),
        datetime(2024, 3, 29, 17, tzinfo=UTC),
    ]


@pytest.mark.parametrize("settings", [SchedulerSettings(catch_up="skip")])
async def test_after_downtime_skip_waits_for_the_next_slot(bench: Bench) -> None:
    await bench.subscribe()
    await bench.run_until(datetime(2024, 3, 25, 20, tzinfo=UTC))
    await bench.close()
    bench.clock.set(datetime(2024, 3, 28, 9, tzinfo=UTC))
    await bench.open()
    await bench.scheduler.start()
    await bench.idle()
    assert bench.poster.parts(1) == [1]
    await bench.run_until(datetime(2024, 3, 28, 20, tzinfo=UTC))
    assert bench.times()[1:] == [datetime(2024, 3, 28, 17, tzinfo=UTC)]


@pytest.mark.parametrize(
    "settings",
    [SchedulerSettings(catch_up="all", catch_up_cap=3, catch_up_spacing=timedelta(minutes=10))],
)
async def test_after_downtime_all_posts_missed_parts_spaced_and_capped(bench: Bench) -> None:
    await bench.subscribe()
    await bench.run_until(datetime(2024, 3, 25, 20, tzinfo=UTC))
    await bench.close()
    back = datetime(2024, 3, 30, 9, tzinfo=UTC)  # five slots missed
    bench.clock.set(back)
    await bench.open()
    await bench.scheduler.start()
    await bench.run_until(datetime(2024, 3, 30, 20, tzinfo=UTC))
    assert bench.poster.parts(1) == [1, 2, 3, 4, 5]
    assert bench.times()[1:] == [
        back,
        back + timedelta(minutes=10),
        back + timedelta(minutes=20),
        datetime(2024, 3, 30, 17, tzinfo=UTC),
    ]


async def test_a_pending_delivery_is_posted_again_with_its_nonce_on_start(bench: Bench) -> None:
    sub = await bench.subscribe(schedule="weekly sun 10:00")
    await bench.close()
    # A crash after recording the intent, before recording the result.
    await bench.open()
    await bench.store.begin_delivery(
        sub, part=1, nonce="left-by-crash", trigger="schedule", now=START
    )
    await bench.scheduler.start()
    await bench.idle()
    posts = bench.poster.of("part", 1)
    assert [(p.part, p.nonce) for p in posts] == [(1, "left-by-crash")]
    assert await bench.store.pending_deliveries() == []
    after = await bench.scheduler.subscription(1)
    assert after is not None and after.next_part == 2
    assert after.next_due == datetime(2024, 3, 31, 8, tzinfo=UTC)  # the schedule kept


# --- the end of a story --------------------------------------------------------------------------


async def test_the_end_is_posted_once_and_the_subscription_completes(bench: Bench) -> None:
    await bench.subscribe(slug="short")
    await bench.run_until(START + timedelta(days=10))
    assert bench.poster.parts(1) == [1, 2, 3]
    ends = bench.poster.of("end", 1)
    assert len(ends) == 1
    assert ends[0].at == bench.times()[-1]
    sub = await bench.scheduler.subscription(1)
    assert sub is not None and sub.completed and sub.next_due is None
    status = await bench.scheduler.status(1)
    assert (status.parts_posted, status.next_due, status.finish_estimate) == (3, None, None)


async def test_a_failed_closing_message_is_retried_not_repeated(bench: Bench) -> None:
    await bench.subscribe(slug="short")
    bench.poster.fail("end", 1, PostTransient("503"))
    await bench.run_until(START + timedelta(days=10))
    assert len(bench.poster.of("end", 1)) == 1
    assert (await bench.scheduler.subscription(1)).completed


async def test_a_finished_channel_can_subscribe_to_another_story(bench: Bench) -> None:
    await bench.subscribe(slug="short")
    await bench.run_until(START + timedelta(days=5))
    sub = await bench.subscribe(slug="tale")
    assert (sub.slug, sub.next_part, sub.completed) == ("tale", 1, False)


# --- failures ------------------------------------------------------------------------------------


async def test_transient_failures_retry_with_backoff_and_keep_the_schedule(bench: Bench) -> None:
    await bench.subscribe()
    bench.poster.fail("part", 1, *(PostTransient("503 Service Unavailable") for _ in range(3)))
    await bench.run_until(datetime(2024, 3, 26, 20, tzinfo=UTC))
    slot = datetime(2024, 3, 25, 17, tzinfo=UTC)
    # Failed at the slot, then retried 1, 2 and 4 minutes later; the next day is not moved.
    assert bench.times() == [
        slot + timedelta(minutes=7),
        datetime(2024, 3, 26, 17, tzinfo=UTC),
    ]
    first = bench.poster.of("part", 1)[0]
    pending_nonce = delivery_nonce(1, "tale", "r1", 1, subscription_id=1, run=0)
    assert first.nonce == pending_nonce
    assert (await bench.scheduler.subscription(1)).retry_count == 0


@pytest.mark.parametrize(
    "settings",
    [SchedulerSettings(retry_base=timedelta(minutes=1), retry_max=timedelta(minutes=10))],
)
async def test_backoff_is_capped(bench: Bench) -> None:
    await bench.subscribe()
    bench.poster.fail("part", 1, *(PostTransient("timeout") for _ in range(7)))
    retries: list[datetime] = []
    await bench.run_until(datetime(2024, 3, 25, 17, tzinfo=UTC))
    for _ in range(7):
        sub = await bench.scheduler.subscription(1)
        assert sub is not None and sub.next_due is not None
        retries.append(sub.next_due)
        await bench.run_until(sub.next_due)
    gaps = [b - a for a, b in itertools.pairwise(retries)]
    assert gaps == [timedelta(minutes=m) for m in (2, 4, 8, 10, 10, 10)]
    assert bench.poster.parts(1) == [1]


@pytest.mark.parametrize(
    "error", [PostForbidden("Missing Permissions"), ChannelGone("Unknown Channel")]
)
async def test_forbidden_or_gone_pauses_with_a_single_notice(
    bench: Bench, error: Exception
) -> None:
    await bench.subscribe()
    bench.poster.fail("part", 1, error)
    await bench.run_until(START + timedelta(days=5))
    assert bench.poster.parts(1) == []
    notices = bench.poster.of("notice", 1)
    assert len(notices) == 1
    assert str(error) in (notices[0].text or "")
    sub = await bench.scheduler.subscription(1)
    assert sub is not None and sub.paused and sub.pause_reason == str(error)
    status = await bench.scheduler.status(1)
    assert status.next_due is None
    # Resuming tries again at once.
    await bench.scheduler.resume(1)
    await bench.idle()
    assert bench.poster.parts(1) == [1]


async def test_a_failing_notice_does_not_break_the_pause(bench: Bench) -> None:
    await bench.subscribe()
    bench.poster.fail("part", 1, PostForbidden("Missing Access"))
    bench.poster.fail("notice", 1, PostForbidden("Missing Access"))
    await bench.run_until(START + timedelta(days=2))
    assert (await bench.scheduler.subscription(1)).paused
    assert bench.poster.of("notice", 1) == []


async def test_an_unexpected_poster_error_is_retried_and_logged(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    await bench.subscribe()
    bench.poster.fail("part", 1, RuntimeError("bug in the poster"))
    with caplog.at_level(logging.ERROR, logger="bot.scheduler"):
        await bench.run_until(datetime(2024, 3, 25, 18, tzinfo=UTC))
    assert "bug in the poster" in caplog.text
    assert bench.poster.parts(1) == [1]


async def test_the_loop_survives_a_failing_database_call(
    bench: Bench, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bench.subscribe()
    await bench.idle()
    real_due = bench.store.due
    calls = {"n": 0}

    async def flaky_due(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk hiccup")
        return await real_due(*args, **kwargs)

    monkeypatch.setattr(bench.store, "due", flaky_due)
    with metrics.collecting() as counted, caplog.at_level(logging.ERROR, logger="bot.scheduler"):
        bench.clock.set(datetime(2024, 3, 25, 17, tzinfo=UTC))
        for _ in range(50):
            await asyncio.sleep(0)
        assert "disk hiccup" in caplog.text
        await bench.run_until(datetime(2024, 3, 25, 18, tzinfo=UTC))
        errors = counted.registry.get_sample_value(
            "serialbot_database_errors_total", {"operation": "scheduler"}
        )
    assert errors == 1
    assert bench.scheduler.running
    assert bench.poster.parts(1) == [1]


async def test_a_story_removed_from_the_library_pauses_with_a_reason(bench: Bench) -> None:
    await bench.subscribe()
    del bench.library.serials["tale"]
    await bench.run_until(START + timedelta(days=2))
    sub = await bench.scheduler.subscription(1)
    assert sub is not None and sub.paused
    assert "no longer in the library" in (sub.pause_reason or "")
    assert len(bench.poster.of("notice", 1)) == 1


async def test_an_upload_that_no_longer_loads_pauses_by_its_slug_and_a_replace_resumes_it(
    bench: Bench,
) -> None:
    bench.library.serials["100:tale"] = make_serial("100:tale", parts=10, paragraphs=20)
    await bench.subscribe(slug="100:tale")
    await bench.run_until(START + timedelta(days=1))
    assert bench.poster.parts(1) == [1]
    upload = bench.library.serials.pop("100:tale")
    await bench.run_until(START + timedelta(days=2))
    sub = await bench.scheduler.subscription(1)
    assert sub is not None and sub.paused
    assert "“tale”" in (sub.pause_reason or "") and "100:" not in (sub.pause_reason or "")
    [notice] = bench.poster.of("notice", 1)
    assert "“tale”" in notice.text and "100:" not in notice.text
    assert "/serial library replace" in notice.text
    bench.library.serials["100:tale"] = upload
    await bench.scheduler.follow_story(1)
    await bench.run_until(START + timedelta(days=4))
    sub = await bench.scheduler.subscription(1)
    assert sub is not None and not sub.paused
    assert bench.poster.parts(1)[-1] > 1


async def test_an_edited_story_continues_from_the_same_text_position(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    bench.library.serials["tale"] = make_serial(parts=10, paragraphs=20)
    await bench.subscribe()
    await bench.run_until(datetime(2024, 3, 26, 20, tzinfo=UTC))
    assert bench.poster.parts(1) == [1, 2]  # paragraphs 1-4 read
    # Re-cut into 20 parts of one paragraph: paragraph 5 is the story's part 5, and this
    # channel's part 3, after the two it received.
    bench.library.serials["tale"] = make_serial(parts=20, paragraphs=20, revision="r2")
    with caplog.at_level(logging.INFO, logger="bot.scheduler"):
        await bench.run_until(datetime(2024, 3, 27, 20, tzinfo=UTC))
    assert bench.poster.parts(1) == [1, 2, 3]
    assert bench.poster.of("part", 1)[-1].text == "Paragraph 5 of A Tale."
    sub = await bench.scheduler.subscription(1)
    assert sub is not None and (sub.revision, sub.next_part) == ("r2", 4)
    assert "changed" in caplog.text


# --- bounded concurrency and ordering ------------------------------------------------------------


@pytest.mark.parametrize("settings", [SchedulerSettings(concurrency=4)])
async def test_a_thousand_channels_due_at_once_are_all_posted_within_the_bound(
    bench: Bench,
) -> None:
    for channel in range(1, 1001):
        await bench.subscribe(channel, "daily 18:00", guild_id=channel % 7)
    await bench.idle()
    bench.poster.gate = asyncio.Event()
    bench.clock.set(datetime(2024, 3, 25, 17, 0, tzinfo=UTC))
    # Hold the posts: exactly the bound are in flight, however long they take.
    await until(lambda: bench.poster.active == 4)
    for _ in range(1000):
        await asyncio.sleep(0)
    assert bench.poster.active == 4
    bench.poster.gate.set()
    await bench.idle()
    posted = [p.channel_id for p in bench.poster.of("part")]
    assert sorted(posted) == list(range(1, 1001))
    assert bench.poster.max_active == 4
    assert bench.poster.overlaps == 0


async def test_one_channel_never_posts_two_parts_at_once(bench: Bench) -> None:
    await bench.subscribe()
    await bench.idle()
    bench.poster.gate = asyncio.Event()
    bench.clock.set(datetime(2024, 3, 25, 17, tzinfo=UTC))
    await until(lambda: bench.poster.active == 1)
    asked = asyncio.ensure_future(bench.scheduler.request_next(1, 50))
    for _ in range(1000):
        await asyncio.sleep(0)
    assert bench.poster.active == 1  # the request waits for the scheduled post
    bench.poster.gate.set()
    outcome = await asked
    await bench.idle()
    assert outcome.posted == 2
    assert bench.poster.parts(1) == [1, 2]
    assert bench.poster.overlaps == 0


async def test_stop_lets_a_post_under_way_finish(bench: Bench) -> None:
    await bench.subscribe()
    await bench.idle()
    bench.poster.gate = asyncio.Event()
    bench.clock.set(datetime(2024, 3, 25, 17, tzinfo=UTC))
    await until(lambda: bench.poster.active == 1)
    stopping = asyncio.ensure_future(bench.scheduler.stop())
    for _ in range(1000):
        await asyncio.sleep(0)
    assert not stopping.done()
    bench.poster.gate.set()
    await stopping
    assert bench.poster.parts(1) == [1]
    assert await bench.store.pending_deliveries() == []
    await bench.scheduler.stop()  # idempotent


# --- admin commands ------------------------------------------------------------------------------


async def test_subscribe_refuses_what_cannot_work(bench: Bench) -> None:
    with pytest.raises(UnknownStory, match="/serial stories"):
        await bench.subscribe(slug="nope")
    with pytest.raises(PartOutOfRange, match="parts 1 to 3"):
        await bench.subscribe(slug="short", start_part=4)
    with pytest.raises(ScheduleError, match='"daily 18:00"'):
        await bench.subscribe(schedule="sometimes")
    with pytest.raises(ScheduleError, match="Europe/Berlin"):
        await bench.subscribe(timezone="Moon/Base")
    with pytest.raises(SerialError, match="10080"):
        await bench.subscribe(thread_archive_minutes=5)
    assert await bench.scheduler.subscription(1) is None


async def test_a_second_subscription_names_the_story_and_how_to_switch(bench: Bench) -> None:
    await bench.subscribe(slug="short")
    with pytest.raises(AlreadySubscribed) as caught:
        await bench.subscribe(slug="tale")
    assert "Short" in str(caught.value)
    assert "/serial unsubscribe" in str(caught.value)


async def test_subscribe_can_start_later_in_the_story(bench: Bench) -> None:
    await bench.subscribe(start_part=4, thread_archive_minutes=1440)
    await bench.run_until(datetime(2024, 3, 25, 18, tzinfo=UTC))
    assert bench.poster.parts(1) == [4]
    assert (await bench.scheduler.subscription(1)).thread_archive_minutes == 1440


async def test_default_timezone_applies_when_none_is_given(tmp_path: Path) -> None:
    clock = ManualClock(START)
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        scheduler = Scheduler(
            store,
            FakeLibrary(make_serial()),
            RecordingPoster(clock),
            clock,
            default_timezone="America/New_York",
        )
        sub = await scheduler.subscribe(
            guild_id=1, channel_id=1, slug="tale", schedule="daily 18:00", subscribed_by=1
        )
        assert sub.timezone == "America/New_York"
        assert sub.next_due == datetime(2024, 3, 25, 22, tzinfo=UTC)


async def test_unsubscribe_stops_posting(bench: Bench) -> None:
    await bench.subscribe()
    removed = await bench.scheduler.unsubscribe(1)
    assert removed.slug == "tale"
    await bench.run_until(START + timedelta(days=2))
    assert bench.poster.parts(1) == []
    with pytest.raises(NotSubscribed):
        await bench.scheduler.unsubscribe(1)


async def test_pause_holds_and_resume_posts_one_part_then_the_schedule(bench: Bench) -> None:
    await bench.subscribe()
    await bench.scheduler.pause(1, "holidays")
    await bench.run_until(datetime(2024, 3, 28, 9, tzinfo=UTC))
    assert bench.poster.parts(1) == []
    await bench.scheduler.resume(1)
    await bench.run_until(datetime(2024, 3, 28, 20, tzinfo=UTC))
    assert bench.times() == [
        datetime(2024, 3, 28, 9, tzinfo=UTC),
        datetime(2024, 3, 28, 17, tzinfo=UTC),
    ]


async def test_pause_guild_pauses_its_channels_only(bench: Bench) -> None:
    await bench.subscribe(1, guild_id=5)
    await bench.subscribe(2, guild_id=5)
    await bench.subscribe(3, guild_id=6)
    assert await bench.scheduler.pause_guild(5, "the bot was removed from the server") == 2
    await bench.run_until(START + timedelta(days=1))
    assert {p.channel_id for p in bench.poster.of("part")} == {3}
    assert bench.poster.of("notice") == []


async def test_set_schedule_moves_the_next_due_time(bench: Bench) -> None:
    await bench.subscribe()
    sub = await bench.scheduler.set_schedule(1, "Weekly Sun 10:00")
    assert sub.schedule == "weekly sun 10:00"
    assert sub.next_due == datetime(2024, 3, 31, 8, tzinfo=UTC)
    sub = await bench.scheduler.set_schedule(1, "daily 09:00", "America/New_York")
    assert (sub.timezone, sub.next_due) == (
        "America/New_York",
        datetime(2024, 3, 25, 13, tzinfo=UTC),
    )
    with pytest.raises(ScheduleError):
        await bench.scheduler.set_schedule(1, "whenever")


async def test_jump_and_restart_move_the_next_part_with_fresh_nonces(bench: Bench) -> None:
    await bench.subscribe()
    await bench.run_until(datetime(2024, 3, 25, 18, tzinfo=UTC))
    await bench.scheduler.jump(1, 7)
    await bench.run_until(datetime(2024, 3, 26, 18, tzinfo=UTC))
    await bench.scheduler.restart(1)
    await bench.run_until(datetime(2024, 3, 27, 18, tzinfo=UTC))
    assert bench.poster.parts(1) == [1, 7, 1]
    first, _, again = bench.poster.of("part", 1)
    assert first.nonce != again.nonce
    with pytest.raises(PartOutOfRange, match="parts 1 to 20"):
        await bench.scheduler.jump(1, 21)


async def test_restart_reopens_a_finished_serial(bench: Bench) -> None:
    await bench.subscribe(slug="short")
    await bench.run_until(START + timedelta(days=5))
    sub = await bench.scheduler.restart(1)
    assert not sub.completed and sub.next_part == 1
    await bench.run_until(START + timedelta(days=6))
    assert bench.poster.parts(1) == [1, 2, 3, 1]


async def test_status_reports_progress_and_a_finish_estimate(bench: Bench) -> None:
    await bench.subscribe(slug="short")
    await bench.run_until(datetime(2024, 3, 25, 18, tzinfo=UTC))
    status = await bench.scheduler.status(1)
    assert (status.parts_posted, status.parts_total, status.next_part) == (1, 3, 2)
    assert status.next_due == datetime(2024, 3, 26, 17, tzinfo=UTC)
    assert status.finish_estimate == datetime(2024, 3, 27, 17, tzinfo=UTC)
    assert status.serial is not None and status.serial.slug == "short"
    with pytest.raises(NotSubscribed):
        await bench.scheduler.status(2)


async def test_posted_part_returns_only_parts_the_channel_received(bench: Bench) -> None:
    await bench.subscribe()
    await bench.run_until(datetime(2024, 3, 25, 18, tzinfo=UTC))
    received = await bench.scheduler.posted_part(1, 1)
    assert received is not None and received.state == "posted" and received.message_ids
    assert await bench.scheduler.posted_part(1, 2) is None
    assert await bench.scheduler.posted_part(2, 1) is None


# --- nonces and settings -------------------------------------------------------------------------


def test_delivery_nonces_are_deterministic_short_and_distinct() -> None:
    nonce = delivery_nonce(123456789012345678, "tale", "r1", 3)
    assert nonce == delivery_nonce(123456789012345678, "tale", "r1", 3)
    assert len(nonce) <= 25
    others = {
        delivery_nonce(123456789012345678, "tale", "r1", 4),
        delivery_nonce(123456789012345678, "tale", "r2", 3),
        delivery_nonce(123456789012345679, "tale", "r1", 3),
        delivery_nonce(123456789012345678, "tail", "r1", 3),
        delivery_nonce(123456789012345678, "tale", "r1", 3, run=1),
        delivery_nonce(123456789012345678, "tale", "r1", 3, subscription_id=2),
    }
    assert nonce not in others and len(others) == 6


def test_settings_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        SchedulerSettings(concurrency=0)
    with pytest.raises(ValueError):
        SchedulerSettings(catch_up="some")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SchedulerSettings(retry_base=timedelta(hours=2), retry_max=timedelta(hours=1))
    assert SchedulerSettings().backoff(1) == timedelta(minutes=1)
    assert SchedulerSettings().backoff(100) == timedelta(hours=1)
