"""``ConsolePoster``: the ``Poster`` of the demo, printing each post to the terminal."""

from __future__ import annotations

import asyncio
import itertools

from bot.clock import Clock
from bot.demo._console import Console, when
from bot.demo._setup import CHANNEL_NAME
from bot.poster import Delivered, Destination
from bot.render import format_duration, render_end, render_part
from bot.story import Part, Serial


class ConsolePoster:
    """A ``Poster`` that prints each post as it would read in the channel: the channel and time,
    every message with its size, and the thread each part opens."""

    def __init__(
        self,
        console: Console,
        clock: Clock,
        *,
        channel_name: str = CHANNEL_NAME,
        threads: bool = True,
        archive_minutes: int = 1440,
        held: bool = False,
        timezone: str = "UTC",
    ) -> None:
        self.console = console
        # The channel's timezone, for the time shown on each post.
        self.timezone = timezone
        self.clock = clock
        self.channel_name = channel_name
        self.threads = threads
        self.archive_minutes = archive_minutes
        self.ended = asyncio.Event()
        # While held, posts wait (so the demo's introduction is printed before part 1).
        self._released = asyncio.Event()
        if not held:
            self._released.set()
        self._ids = itertools.count(1_000_001)

    async def post_part(
        self, destination: Destination, serial: Serial, part: Part, *, nonce: str
    ) -> Delivered:
        await self._released.wait()
        rendered = render_part(serial, part)
        messages = (rendered.header, *rendered.messages)
        out = self.console
        out.write()
        out.write(self._banner(f"Part {part.index} of {len(serial.parts)}"))
        ids = tuple(next(self._ids) for _ in messages)
        self._messages(messages)
        thread_id: int | None = None
        if self.threads:
            thread_id = ids[0]
            minutes = destination.thread_archive_minutes or self.archive_minutes
            archive = format_duration(minutes * 60)
            out.write(
                out.style(f"🧵 thread: {rendered.thread_name}", "36")
                + out.style(f"  (on message 1; archives after {archive} of quiet)", "2")
            )
        return Delivered(message_ids=ids, thread_id=thread_id)

    async def post_end(self, destination: Destination, serial: Serial, *, nonce: str) -> None:
        await self._released.wait()
        out = self.console
        out.write()
        out.write(self._banner("closing message"))
        self._messages((render_end(serial),))
        self.ended.set()

    async def post_notice(self, destination: Destination, text: str) -> None:
        await self._released.wait()
        self.console.write()
        self.console.write(self._banner("notice"))
        self.console.write(self.console.style(f"📣 {text}", "33"))

    def release(self) -> None:
        """Let held posts through."""
        self._released.set()

    def show_again(self, serial: Serial, part: Part) -> None:
        """``read N``: the part once more, as the ephemeral replies /serial read sends."""
        rendered = render_part(serial, part)
        out = self.console
        out.write(out.rule(f"only you can see this · Part {part.index} again", char="┄"))
        self._messages((rendered.header, *rendered.messages))
        out.write(out.rule(char="┄"))

    def _banner(self, what: str) -> str:
        moment = when(self.clock.now(), self.timezone)
        return self.console.rule(f"#{self.channel_name} · {what} · {moment}", char="━", code="1")

    def _messages(self, messages: tuple[str, ...]) -> None:
        out = self.console
        for number, text in enumerate(messages, start=1):
            label = f"message {number}/{len(messages)} · {len(text):,} chars"
            out.write(out.rule(label, char="┈"))
            out.write(out.discord(text))
