"""Edits asked for faster than the interval are coalesced: the first at once, then at most one
per interval, always with the newest state."""

from __future__ import annotations

import asyncio
import itertools

from bot.frontend.coalesce import EditCoalescer


async def test_a_burst_becomes_one_edit_now_and_one_with_the_newest_state() -> None:
    coalescer = EditCoalescer(interval=0.2)
    state = {"count": 0}
    shown: list[tuple[int, float]] = []
    loop = asyncio.get_running_loop()

    async def edit() -> None:
        shown.append((state["count"], loop.time()))

    started = loop.time()
    for _ in range(100):
        state["count"] += 1
        coalescer.request("vote", edit)
        await asyncio.sleep(0.001)
    await coalescer.flush()
    elapsed = loop.time() - started

    assert len(shown) <= 1 + elapsed / 0.2 + 1  # one at once, then one per interval at most
    assert shown[-1][0] == 100  # the last edit shows the final state
    gaps = [b[1] - a[1] for a, b in itertools.pairwise(shown)]
    assert all(gap >= 0.19 for gap in gaps)


async def test_messages_are_paced_separately_and_a_failed_edit_does_not_stop_the_next() -> None:
    coalescer = EditCoalescer(interval=0.05)
    done: list[str] = []

    async def fails() -> None:
        raise RuntimeError("Discord said no")

    async def works(name: str) -> None:
        done.append(name)

    coalescer.request("a", fails)
    coalescer.request("b", lambda: works("b"))
    await coalescer.flush()
    coalescer.request("a", lambda: works("a"))
    await coalescer.flush()
    assert sorted(done) == ["a", "b"]
