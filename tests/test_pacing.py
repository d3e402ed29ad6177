"""The request pacer on a virtual clock: even spacing under the rate, first come first served,
urgent requests first, pauses that hold everything, and the invalid-request count."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.pacing import INVALID_REQUEST_WINDOW_SECONDS, Pacer, Paused, RestHealth, urgent


class VirtualTime:
    """A monotonic clock that moves only when the pacer sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        # Let the tasks woken so far run (and note the time) before time moves on.
        for _ in range(5):
            await asyncio.sleep(0)
        self.now += seconds


def pacer(rate: float = 10.0, **options: float) -> tuple[Pacer, VirtualTime]:
    """A pacer that keeps no unused rate unless told to (``catch_up``): one turn at a time."""
    options.setdefault("catch_up", 0.0)
    clock = VirtualTime()
    return Pacer(rate, monotonic=clock, sleep=clock.sleep, **options), clock


async def _take(p: Pacer, clock: VirtualTime, label: str, log: list[tuple[str, float]]) -> None:
    await p.acquire()
    log.append((label, clock.now))


async def test_a_burst_is_spaced_evenly_at_the_rate_in_the_order_asked() -> None:
    p, clock = pacer(10.0)
    start = clock.now
    log: list[tuple[str, float]] = []
    await asyncio.gather(*(_take(p, clock, str(i), log) for i in range(25)))

    assert [label for label, _ in log] == [str(i) for i in range(25)]
    gaps = [b - a for (_, a), (_, b) in itertools.pairwise(log)]
    assert all(gap == pytest.approx(0.1) for gap in gaps)
    assert log[-1][1] - start == pytest.approx(2.4)
    assert p.health.requests == 25


async def test_no_second_holds_more_than_rate_plus_one_requests() -> None:
    p, clock = pacer(48.0)
    log: list[tuple[str, float]] = []
    for wave in range(3):
        await asyncio.gather(*(_take(p, clock, f"{wave}.{i}", log) for i in range(60)))
        clock.now += 0.37  # idle time must not turn into a burst
    times = [t for _, t in log]
    for i, t in enumerate(times):
        within = sum(1 for u in times[i:] if u < t + 1.0)
        assert within <= 49


async def test_idle_time_does_not_build_a_burst() -> None:
    p, clock = pacer(10.0, catch_up=0.5)
    await p.acquire()
    clock.now += 60.0
    log: list[tuple[str, float]] = []
    begin = clock.now
    await asyncio.gather(*(_take(p, clock, str(i), log) for i in range(5)))
    assert [t - begin for _, t in log] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


class LateTime(VirtualTime):
    """An event loop that wakes the pacer late: every third sleep overruns by ``late``."""

    def __init__(self, late: float) -> None:
        super().__init__()
        self.late = late
        self.sleeps = 0

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        await super().sleep(seconds + (self.late if self.sleeps % 3 == 0 else 0.0))


async def _rate_with_late_wakes(catch_up: float) -> tuple[float, list[float]]:
    clock = LateTime(late=0.03)  # more than half a turn at 48/s
    p = Pacer(48.0, monotonic=clock, sleep=clock.sleep, catch_up=catch_up)
    log: list[tuple[str, float]] = []
    await asyncio.gather(*(_take(p, clock, str(i), log) for i in range(600)))
    times = [t for _, t in log]
    steady = times[int(p.capacity) :]  # the bucket starts full
    return (len(steady) - 1) / (steady[-1] - steady[0]), times


async def test_a_loop_that_wakes_late_costs_no_rate() -> None:
    rate, times = await _rate_with_late_wakes(catch_up=0.25)
    assert rate == pytest.approx(48.0, rel=0.005)
    for i, t in enumerate(times):
        assert sum(1 for u in times[i:] if u < t + 1.0) <= 49
    # Without the kept rate every late wake-up is lost (this is what the catch-up is for).
    lossy, _ = await _rate_with_late_wakes(catch_up=0.0)
    assert lossy < 44.0


async def _after_a_lull(catch_up: float) -> tuple[float, list[float], list[float]]:
    p, clock = pacer(48.0, catch_up=catch_up)
    log: list[tuple[str, float]] = []
    await asyncio.gather(*(_take(p, clock, f"a{i}", log) for i in range(200)))
    resumed = clock.now + 0.2  # every channel under way waits for an answer for 0.2 s
    clock.now = resumed
    await asyncio.gather(*(_take(p, clock, f"b{i}", log) for i in range(100)))
    after = [t - resumed for label, t in log if label.startswith("b")]
    return resumed, after, [t for _, t in log]


async def test_a_moment_with_nothing_asked_is_made_up_afterwards() -> None:
    _, after, times = await _after_a_lull(catch_up=0.25)
    # The 0.2 s of unused rate (9.6 turns) goes at twice the rate, never at the same instant.
    gaps = [b - a for a, b in itertools.pairwise(after)]
    assert gaps[:10] == pytest.approx([1 / 96] * 10)
    assert min(gaps) >= 1 / 96 - 1e-9
    for i, t in enumerate(times):
        assert sum(1 for u in times[i:] if u < t + 1.0) <= 49
    # Without the kept rate the lull is lost: the same 100 requests take a turn longer.
    _, lossy, _ = await _after_a_lull(catch_up=0.0)
    assert lossy[-1] == pytest.approx(99 / 48)
    assert after[-1] < lossy[-1] - 0.04


async def test_urgent_requests_go_before_the_queue() -> None:
    p, clock = pacer(10.0)
    log: list[tuple[str, float]] = []
    queued = [asyncio.ensure_future(_take(p, clock, f"post{i}", log)) for i in range(10)]
    await asyncio.sleep(0)
    with urgent():
        member = asyncio.ensure_future(_take(p, clock, "next", log))
    await asyncio.gather(*queued, member)
    order = [label for label, _ in log]
    assert order.index("next") <= 2


async def test_a_members_requests_go_at_once_while_the_second_has_room() -> None:
    p, clock = pacer(48.0)
    await p.acquire()  # a scheduled post just went: the grid's next slot is ahead
    log: list[tuple[str, float]] = []
    begin = clock.now
    with urgent():
        for part in ("header", "text", "thread"):
            await _take(p, clock, part, log)
    assert [t - begin for _, t in log] == [0.0, 0.0, 0.0]
    # The scheduled stream keeps its rate.
    await _take(p, clock, "post", log)
    assert log[-1][1] - begin == pytest.approx(1 / 48)


async def test_members_requests_during_a_burst_keep_every_second_within_rate_plus_one() -> None:
    p, clock = pacer(48.0)
    log: list[tuple[str, float]] = []
    posts = [asyncio.ensure_future(_take(p, clock, f"post{i}", log)) for i in range(150)]
    await asyncio.sleep(0)
    members = []
    for i in range(40):
        with urgent():
            members.append(asyncio.ensure_future(_take(p, clock, f"member{i}", log)))
        if i % 8 == 7:
            clock.now += 0.05  # members keep asking while the posts go out
            await asyncio.sleep(0)
    await asyncio.gather(*posts, *members)
    times = sorted(t for _, t in log)
    assert len(times) == 190
    for i, t in enumerate(times):
        assert sum(1 for u in times[i:] if u < t + 1.0) <= 49
    order = [label for label, _ in log]
    # Each member's request went before the posts still queued when it asked.
    assert order.index("member39") < order.index("post149")


async def test_a_pause_holds_every_request_until_it_ends() -> None:
    p, clock = pacer(10.0)
    log: list[tuple[str, float]] = []
    await p.acquire()  # one just went: the rest wait their turn
    waiting = [asyncio.ensure_future(_take(p, clock, str(i), log)) for i in range(4)]
    await asyncio.sleep(0)
    start = clock.now
    assert p.pause(5.0, "global rate limit") is True
    assert p.pause(3.0, "a shorter one") is False  # already paused: not a new pause
    await asyncio.gather(*waiting)
    assert all(t >= start + 5.0 for _, t in log)
    assert p.health.paused_for() == 0.0


async def test_a_long_pause_refuses_at_once_with_the_time_left() -> None:
    p, _clock = pacer(10.0, max_queued_wait=10.0)
    p.pause(600.0, "banned")
    with pytest.raises(Paused) as caught:
        await p.acquire()
    assert caught.value.retry_after == pytest.approx(600.0)
    assert caught.value.reason == "banned"
    assert p.health.requests == 0


async def test_waiters_are_let_go_with_the_news_when_a_long_pause_begins() -> None:
    p, _clock = pacer(1.0, max_queued_wait=10.0)
    waiting = [asyncio.ensure_future(p.acquire()) for _ in range(3)]
    await asyncio.sleep(0)
    p.pause(3600.0, "banned")
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert sum(isinstance(r, Paused) for r in results) >= 2


async def test_a_cancelled_waiter_gives_its_turn_to_the_next() -> None:
    p, clock = pacer(10.0)
    log: list[tuple[str, float]] = []
    first = asyncio.ensure_future(_take(p, clock, "first", log))
    gone = asyncio.ensure_future(_take(p, clock, "gone", log))
    last = asyncio.ensure_future(_take(p, clock, "last", log))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.gather(first, last)
    assert [label for label, _ in log] == ["first", "last"]


def test_invalid_requests_are_counted_over_the_last_ten_minutes() -> None:
    clock = VirtualTime()
    health = RestHealth(clock)
    for _ in range(3):
        health.invalid()
    clock.now += INVALID_REQUEST_WINDOW_SECONDS - 1
    health.invalid()
    assert health.invalid_recent() == 4
    clock.now += 2
    assert health.invalid_recent() == 1


def test_the_rate_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Pacer(0)
