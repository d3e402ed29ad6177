"""A ``Poster`` that records what it is asked to post instead of talking to Discord, with
scripted failures, a gate to hold posts in flight, and a count of how many run at once."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.clock import Clock
from bot.poster import Delivered, Destination
from bot.story import Part, Serial

PostKind = Literal["part", "end", "notice"]


@dataclass(frozen=True, slots=True)
class Post:
    kind: PostKind
    channel_id: int
    part: int | None
    nonce: str | None
    at: datetime
    text: str | None = None


class RecordingPoster:
    def __init__(self, clock: Clock, *, yields: int = 1) -> None:
        self.clock = clock
        self.yields = yields
        self.posts: list[Post] = []
        self.failures: dict[tuple[PostKind, int], list[BaseException]] = defaultdict(list)
        self.gate: asyncio.Event | None = None
        self.active = 0
        self.max_active = 0
        self.active_by_channel: dict[int, int] = defaultdict(int)
        self.overlaps = 0
        self._ids = itertools.count(1_000_000)

    def fail(self, kind: PostKind, channel_id: int, *errors: BaseException) -> None:
        """The next posts of ``kind`` to ``channel_id`` raise ``errors``, one each, in order."""
        self.failures[(kind, channel_id)].extend(errors)

    # --- what was posted -------------------------------------------------------------------------

    def parts(self, channel_id: int) -> list[int]:
        return [
            p.part
            for p in self.posts
            if p.kind == "part" and p.channel_id == channel_id and p.part is not None
        ]

    def of(self, kind: PostKind, channel_id: int | None = None) -> list[Post]:
        return [
            p
            for p in self.posts
            if p.kind == kind and (channel_id is None or p.channel_id == channel_id)
        ]

    # --- the Poster protocol ---------------------------------------------------------------------

    async def post_part(
        self, destination: Destination, serial: Serial, part: Part, *, nonce: str
    ) -> Delivered:
        async with self._posting(destination.channel_id):
            self._maybe_fail("part", destination.channel_id)
            self._record("part", destination, part.index, nonce, "\n\n".join(part.paragraphs))
            message = next(self._ids)
            return Delivered(message_ids=(message,), thread_id=message)

    async def post_end(self, destination: Destination, serial: Serial, *, nonce: str) -> None:
        async with self._posting(destination.channel_id):
            self._maybe_fail("end", destination.channel_id)
            self._record("end", destination, None, nonce)

    async def post_notice(self, destination: Destination, text: str) -> None:
        async with self._posting(destination.channel_id):
            self._maybe_fail("notice", destination.channel_id)
            self._record("notice", destination, None, None, text)

    # --- internals -------------------------------------------------------------------------------

    def _posting(self, channel_id: int) -> _InFlight:
        return _InFlight(self, channel_id)

    def _maybe_fail(self, kind: PostKind, channel_id: int) -> None:
        pending = self.failures.get((kind, channel_id))
        if pending:
            error = pending.pop(0)
            raise error

    def _record(
        self,
        kind: PostKind,
        destination: Destination,
        part: int | None,
        nonce: str | None,
        text: str | None = None,
    ) -> None:
        self.posts.append(
            Post(
                kind=kind,
                channel_id=destination.channel_id,
                part=part,
                nonce=nonce,
                at=self.clock.now(),
                text=text,
            )
        )


class _InFlight:
    def __init__(self, poster: RecordingPoster, channel_id: int) -> None:
        self.poster = poster
        self.channel_id = channel_id

    async def __aenter__(self) -> None:
        poster = self.poster
        poster.active += 1
        poster.max_active = max(poster.max_active, poster.active)
        poster.active_by_channel[self.channel_id] += 1
        if poster.active_by_channel[self.channel_id] > 1:
            poster.overlaps += 1
        # Give other tasks a chance to start posting too, as a real network call would.
        for _ in range(poster.yields):
            await asyncio.sleep(0)
        if poster.gate is not None:
            await poster.gate.wait()

    async def __aexit__(self, *exc: object) -> None:
        self.poster.active -= 1
        self.poster.active_by_channel[self.channel_id] -= 1
