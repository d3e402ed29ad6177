"""Reading together in the core: votes, receipts, catch-up and reminders on a real SQLite store
with an injected clock, and the wording every front end shares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.frontend.commands import finish_time
from bot.scheduler import Scheduler, SchedulerSettings
from bot.together import ReadingTogether, count_of, plural, reads_line, vote_text
from tests.postgres_server import open_test_store
from tests.recording_poster import RecordingPoster
from tests.test_scheduler import FakeLibrary, make_serial

START = datetime(2030, 6, 3, 12, 0, tzinfo=UTC)
CHANNEL = 100
GUILD = 1


@pytest.fixture
async def together(database: Path | str) -> AsyncIterator[ReadingTogether]:
    """On SQLite and on PostgreSQL (the ``database`` fixture)."""
    store = await open_test_store(database)
    clock = ManualClock(START)
    settings = SchedulerSettings(next_quorum=3, next_cooldown=timedelta(minutes=30))
    scheduler = Scheduler(
        store, FakeLibrary(make_serial()), RecordingPoster(clock), clock, settings
    )
    await scheduler.start()
    await scheduler.subscribe(
        guild_id=GUILD, channel_id=CHANNEL, slug="tale", schedule="daily 18:00", subscribed_by=9
    )
    try:
        yield ReadingTogether(store, scheduler, clock)
    finally:
        await scheduler.stop()
        await store.close()


async def test_the_first_request_opens_a_vote_and_the_quorum_closes_it_with_its_count(
    together: ReadingTogether,
) -> None:
    first = await together.ask(guild_id=GUILD, channel_id=CHANNEL, member_id=1)
    assert first.opened and first.vote is not None and first.vote.part == 1
    again = await together.ask(guild_id=GUILD, channel_id=CHANNEL, member_id=1)
    assert again.already and not again.opened and again.vote == first.vote
    assert again.outcome.votes == 1
    await together.ask(guild_id=GUILD, channel_id=CHANNEL, member_id=2)
    last = await together.ask(guild_id=GUILD, channel_id=CHANNEL, member_id=3)
    assert last.outcome.posted == 1
    assert last.vote is not None and (last.vote.state, last.vote.asked) == ("posted", 3)
    assert await together.open_vote(CHANNEL) is None


async def test_a_vote_lapses_after_the_window_and_forgets_its_requests(
    together: ReadingTogether,
) -> None:
    await together.ask(guild_id=GUILD, channel_id=CHANNEL, member_id=1)
    clock = together.scheduler._clock  # type: ignore[attr-defined]
    assert await together.lapse_due() == []
    clock.advance(together.window)
    [lapsed] = await together.lapse_due()
    assert (lapsed.state, lapsed.asked) == ("lapsed", 1)
    fresh = await together.ask(guild_id=GUILD, channel_id=CHANNEL, member_id=2)
    assert fresh.opened and fresh.outcome.votes == 1


async def test_receipts_count_once_and_catch_up_lists_the_rest(
    together: ReadingTogether,
) -> None:
    scheduler = together.scheduler
    for member in (1, 2, 3):
        await together.ask(guild_id=GUILD, channel_id=CHANNEL, member_id=member)
    first = await scheduler.posted_part(CHANNEL, 1)
    assert first is not None
    mark = await together.mark_read(first.nonce, CHANNEL, 7)
    assert mark is not None and (mark.new, mark.readers) == (True, 1)
    again = await together.mark_read(first.nonce, CHANNEL, 7)
    assert again is not None and (again.new, again.readers) == (False, 1)
    assert await together.mark_read(first.nonce, CHANNEL + 1, 7) is None  # another channel
    assert await together.mark_read("s" + "0" * 24, CHANNEL, 7) is None  # forged
    assert await together.read_counts(CHANNEL) == {1: 1}
    assert [d.part for d in await together.unread(CHANNEL, 8)] == [1]
    assert await together.mark_all_read(CHANNEL, 8, 1) == 1
    assert await together.unread(CHANNEL, 8) == []
    # an unsubscribe forgets the parts, and their receipts with them
    await scheduler.unsubscribe(CHANNEL)
    assert await together.read_counts(CHANNEL) == {}
    assert await together.mark_read(first.nonce, CHANNEL, 9) is None


async def test_reminders_are_claimed_once_per_part_and_stop_after_a_refused_dm(
    together: ReadingTogether,
) -> None:
    for member in (1, 2):
        await together.set_reminder(guild_id=GUILD, channel_id=CHANNEL, member_id=member, on=True)
    assert await together.claim_reminders(CHANNEL, "nonce-1") == [1, 2]
    assert await together.claim_reminders(CHANNEL, "nonce-1") == []
    await together.reminder_refused(CHANNEL, 2)
    assert await together.claim_reminders(CHANNEL, "nonce-2") == [1]
    assert await together.take_refused_reminders(2) == [CHANNEL]
    assert await together.take_refused_reminders(2) == []  # told once
    await together.set_reminder(guild_id=GUILD, channel_id=CHANNEL, member_id=2, on=True)
    assert await together.claim_reminders(CHANNEL, "nonce-3") == [1, 2]
    await together.member_left(GUILD, 1)
    await together.set_reminder(guild_id=GUILD, channel_id=CHANNEL, member_id=2, on=False)
    assert await together.claim_reminders(CHANNEL, "nonce-4") == []


def test_counts_read_in_the_singular_and_the_plural() -> None:
    assert plural(1, "part") == "1 part"
    assert plural(2, "part") == "2 parts"
    assert count_of(1, 2) == "1 of 2 readers has asked"
    assert count_of(2, 3) == "2 of 3 readers have asked"
    assert count_of(0, 1) == "0 of 1 reader have asked"
    assert reads_line({1: 4, 2: 0, 3: 12, 4: 1}) == "1 read Part 4 · 12 read Part 3 · 0 read Part 2"
    assert reads_line({}) is None


def test_a_finish_within_two_days_shows_its_time_and_a_later_one_its_date() -> None:
    now = START
    assert finish_time(now + timedelta(hours=47), now).endswith(":f>")
    assert finish_time(now + timedelta(days=3), now).endswith(":D>")


def test_the_vote_reads_as_open_posted_and_lapsed() -> None:
    from bot.store import Vote

    vote = Vote(1, CHANNEL, GUILD, 4, 7, START, START + timedelta(minutes=30), "open", None, False)
    assert vote_text(vote, 1, 3, who="<@7>").startswith("<@7> wants Part 4 now · 1 of 3 · ⏭ Me too")
    posted = vote_text(
        Vote(1, CHANNEL, GUILD, 4, 7, START, START, "posted", 5, False, asked=3),
        3,
        3,
        who="<@7>",
        link="LINK",
    )
    assert posted == "Part 4 is out → LINK: 3 readers asked for it, <@7> first."
    lapsed = vote_text(
        Vote(1, CHANNEL, GUILD, 4, 7, START, START, "lapsed", 5, False, asked=1),
        1,
        3,
        who="<@7>",
        window=timedelta(minutes=30),
    )
    assert lapsed.startswith("The vote for Part 4 lapsed: 1 of 3 asked within 30 min.")
