"""Processes sharing a PostgreSQL database, without Discord: schedulers with overlapping work
post every part once (each channel is claimed while posted), a channel a killed process still
holds waits for the claim to run out and is then finished with its recorded nonce, and pacers
share one request budget. The wire version, with real processes and kills, is
test_cluster_wire.py."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta

from bot.clock import ManualClock
from bot.pgstore import PostgresStore
from bot.scheduler import Scheduler, SchedulerSettings
from bot.shared_pacing import SharedPacer, pacer_for
from bot.store import Store
from tests.recording_poster import RecordingPoster
from tests.test_scheduler import START, FakeLibrary, make_serial

SETTINGS = SchedulerSettings(claim_seconds=0.5, poll_seconds=0.1)


async def _schedulers(url: str, count: int, clock: ManualClock, library: FakeLibrary) -> list:
    made = []
    for _ in range(count):
        store = await PostgresStore.open(url)
        poster = RecordingPoster(clock, yields=5)
        made.append((store, poster, Scheduler(store, library, poster, clock, SETTINGS)))
    return made


async def test_schedulers_sharing_a_database_post_each_part_once(postgres_url: str) -> None:
    clock = ManualClock(START)
    library = FakeLibrary(make_serial(parts=3))
    processes = await _schedulers(postgres_url, 3, clock, library)
    first = processes[0][2]
    try:
        for channel in range(1, 31):
            await first.subscribe(
                guild_id=100 + channel,
                channel_id=channel,
                slug="tale",
                schedule="every 1h",
                subscribed_by=7,
            )
        for _, _, scheduler in processes:
            await scheduler.start()
        for _ in range(3):
            clock.advance(timedelta(hours=1))
            for _, _, scheduler in processes:
                scheduler.wake()
            await asyncio.sleep(0.2)
            await asyncio.wait_for(asyncio.gather(*(s.idle() for _, _, s in processes)), timeout=20)
    finally:
        for store, _, scheduler in processes:
            await scheduler.stop()
            await store.close()
    posted = Counter(
        (p.channel_id, p.part) for _, poster, _ in processes for p in poster.of("part")
    )
    assert set(posted) == {(c, n) for c in range(1, 31) for n in (1, 2, 3)}
    assert set(posted.values()) == {1}, "a part was posted twice"
    # The work was shared, not done by one alone.
    assert sum(1 for _, poster, _ in processes if poster.of("part")) >= 2


async def test_a_channel_held_by_a_killed_process_is_finished_once_its_claim_runs_out(
    postgres_url: str,
) -> None:
    clock = ManualClock(START)
    library = FakeLibrary(make_serial(parts=3))
    [(store, poster, scheduler)] = await _schedulers(postgres_url, 1, clock, library)
    try:
        sub = await scheduler.subscribe(
            guild_id=5, channel_id=1, slug="tale", schedule="every 1h", subscribed_by=7
        )
        # A process that began part 1 and was killed: its delivery is pending, its claim held.
        await store.begin_delivery(sub, part=1, nonce="killed-nonce", trigger="schedule", now=START)
        assert await store.claim(1, "killed", now=time.time(), until=time.time() + 0.6)
        clock.advance(timedelta(hours=1))
        started = time.monotonic()
        await scheduler.start()
        await asyncio.sleep(0.2)
        assert poster.of("part") == []  # still held by the killed process
        for _ in range(100):
            if poster.of("part"):
                break
            await asyncio.sleep(0.05)
        assert time.monotonic() - started >= 0.5
        [post] = poster.of("part")
        assert (post.part, post.nonce) == (1, "killed-nonce")
        assert (await store.delivery(1, 1)).state == "posted"
    finally:
        await scheduler.stop()
        await store.close()


async def test_on_sqlite_every_claim_is_granted(tmp_path) -> None:
    clock = ManualClock(START)
    async with await Store.open(tmp_path / "s.sqlite3") as store:
        scheduler = Scheduler(store, FakeLibrary(make_serial()), RecordingPoster(clock), clock)
        assert not scheduler._courier.claims.shared
        assert not isinstance(pacer_for(store, 50), SharedPacer)


async def test_processes_share_one_request_rate(postgres_url: str) -> None:
    stores = [await PostgresStore.open(postgres_url) for _ in range(2)]
    rate = 100.0
    pacers = [pacer_for(store, rate) for store in stores]
    assert all(isinstance(p, SharedPacer) for p in pacers)
    try:

        async def send(pacer: SharedPacer, count: int) -> float:
            for _ in range(count):
                await pacer.acquire()
            return time.monotonic()

        # One busy process alone gets the whole rate...
        started = time.monotonic()
        await send(pacers[0], 30)
        alone = time.monotonic() - started
        # ...and two busy ones together get it once, not twice.
        started = time.monotonic()
        await asyncio.gather(send(pacers[0], 30), send(pacers[1], 30))
        together = time.monotonic() - started
    finally:
        for store in stores:
            await store.close()
    # Together never faster than the one rate allows (not twice it)...
    assert together >= 59 / rate - 0.02
    # ...and one process alone is not held to half of it.
    assert 29 / rate - 0.02 <= alone < 0.75 * together


async def test_next_in_a_channel_another_process_is_posting_to_says_so(postgres_url: str) -> None:
    clock = ManualClock(START)
    library = FakeLibrary(make_serial(parts=3))
    [(store, poster, scheduler)] = await _schedulers(postgres_url, 1, clock, library)
    try:
        await scheduler.subscribe(
            guild_id=5, channel_id=1, slug="tale", schedule="daily 18:00", subscribed_by=7
        )
        await scheduler.start()
        assert await store.claim(1, "other", now=time.time(), until=time.time() + 30)
        outcome = await scheduler.request_next(1, member_id=42)
        assert outcome.posted is None
        assert outcome.refused == "A part is being posted here right now; ask again in a minute."
        assert poster.of("part") == []
        await store.release_claim(1, "other")
        assert (await scheduler.request_next(1, member_id=42)).posted == 1
    finally:
        await scheduler.stop()
        await store.close()
