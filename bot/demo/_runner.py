"""Running the demo: the store, the scheduler and the console poster put together, the typed
commands read while the story is told, and a clean stop on Ctrl-C, SIGTERM or the end."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.clock import ScaledClock
from bot.demo._commands import ConsoleCommands, next_line
from bot.demo._console import Console, speed_text, when
from bot.demo._poster import ConsolePoster
from bot.demo._setup import (
    CHANNEL_ID,
    CHANNEL_NAME,
    EXIT_BAD_INPUT,
    EXIT_OK,
    GUILD_ID,
    READER_ID,
    DemoError,
    DemoSetup,
    prepare,
)
from bot.demo._stdin import StdinLines
from bot.render import status_bar
from bot.schedule import ScheduleError
from bot.scheduler import PartPosted, Scheduler, SchedulerSettings, SerialError
from bot.store import Store, StoreError, Subscription, Vote
from bot.story import Serial
from bot.together import ReadingTogether


class _Demo:
    """One run of the demo on one database; ``run`` returns the exit code."""

    def __init__(
        self, setup: DemoSetup, db_path: Path, *, kept: bool, console: Console, stdin: TextIO
    ) -> None:
        self.setup = setup
        self.db_path = db_path
        self.kept = kept
        self.console = console
        self.stdin = stdin
        self.exit_code: int | None = None
        self._stop = asyncio.Event()
        self._busy = asyncio.Lock()
        self.scheduler: Scheduler | None = None
        self.poster: ConsolePoster | None = None
        self.together: ReadingTogether | None = None
        # Work started when a part is posted.
        self._after: set[asyncio.Future[Vote | None]] = set()

    def stop(self, code: int) -> None:
        if self.exit_code is None:
            self.exit_code = code
        self._stop.set()

    async def run(self) -> int:
        try:
            store = await Store.open(self.db_path)
        except StoreError as error:
            raise DemoError(str(error)) from None
        try:
            return await self._run(store)
        finally:
            await store.close()

    async def _run(self, store: Store) -> int:
        setup = self.setup
        config = setup.config
        existing = await store.subscription(CHANNEL_ID)
        serial = setup.serial
        if existing is not None:
            if setup.chosen and existing.slug != serial.slug:
                raise DemoError(
                    f"the database {self.db_path} follows '{existing.slug}', not "
                    f"'{serial.slug}'; give another --db to start a new story"
                )
            found = setup.library.get(existing.slug)
            if found is None:
                raise DemoError(
                    f"the database {self.db_path} follows '{existing.slug}', which is not in "
                    f"{config.stories}"
                )
            serial = found
            if existing.completed:
                assert existing.completed_at is not None
                self.console.write(
                    f"“{serial.story.title}” is finished in {self.db_path}: all "
                    f"{len(serial.parts)} parts were posted (on "
                    f"{when(existing.completed_at, existing.timezone)}). Give another --db, "
                    "or delete this one, to read it again."
                )
                return EXIT_OK

        # Virtual time ran ahead in an earlier run: start after it, so time never goes back.
        start = datetime.now(UTC)
        if existing is not None:
            start = max(start, existing.updated_at)
        clock = ScaledClock(setup.speed, start=start)
        poster = ConsolePoster(
            self.console,
            clock,
            held=True,
            threads=config.threads.enabled,
            archive_minutes=config.threads.auto_archive_minutes,
            timezone=existing.timezone if existing is not None else config.default_timezone,
        )
        scheduler = Scheduler(
            store,
            setup.library,
            poster,
            clock,
            SchedulerSettings.from_config(config),
            default_timezone=config.default_timezone,
            on_posted=self._part_posted,
        )
        self.scheduler, self.poster = scheduler, poster
        self.together = ReadingTogether(store, scheduler, clock)
        answers = ConsoleCommands(self.console, poster, scheduler, self.together, stop=self.stop)
        self.console.on_closed = lambda: self.stop(EXIT_OK)

        loop = asyncio.get_running_loop()
        stdin = StdinLines(loop, self.stdin)
        commands: asyncio.Task[None] | None = None
        handled = self._install_signals(loop)
        try:
            await scheduler.start()
            try:
                if existing is None:
                    sub = await scheduler.subscribe(
                        guild_id=GUILD_ID,
                        channel_id=CHANNEL_ID,
                        slug=serial.slug,
                        schedule=setup.schedule,
                        subscribed_by=READER_ID,
                        thread_archive_minutes=config.threads.auto_archive_minutes,
                    )
                elif setup.schedule_given and setup.schedule != existing.schedule:
                    sub = await scheduler.set_schedule(CHANNEL_ID, setup.schedule)
                else:
                    sub = existing
            except (SerialError, ScheduleError) as error:
                raise DemoError(str(error)) from None
            await self._introduce(serial, sub, clock, continuing=existing is not None)
            poster.timezone = sub.timezone
            poster.release()
            stdin.start()
            commands = asyncio.create_task(
                self._read_commands(stdin, answers), name="demo-commands"
            )
            ended = asyncio.create_task(poster.ended.wait())
            stopped = asyncio.create_task(self._stop.wait())
            try:
                await asyncio.wait({ended, stopped}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                ended.cancel()
                stopped.cancel()
            if poster.ended.is_set():
                self.stop(EXIT_OK)
        finally:
            # A command under way (a `next` that posts the last part, say) finishes first.
            async with self._busy:
                if commands is not None:
                    commands.cancel()
                    await asyncio.gather(commands, return_exceptions=True)
            stdin.close()
            poster.release()  # a held post must not keep the scheduler from stopping
            await scheduler.stop()
            for sig in handled:
                loop.remove_signal_handler(sig)
        self._farewell(serial)
        return self.exit_code if self.exit_code is not None else EXIT_OK

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> list[signal.Signals]:
        handled: list[signal.Signals] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                continue  # Windows: Ctrl-C arrives as KeyboardInterrupt instead
            handled.append(sig)
        return handled

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.exit_code is None:
            self.console.write()
            self.console.write(f"Stopping ({sig.name})…")
        self.stop(128 + int(sig))

    async def _introduce(
        self, serial: Serial, sub: Subscription, clock: ScaledClock, *, continuing: bool
    ) -> None:
        out = self.console
        story = serial.story
        meta = story.meta
        parts = len(serial.parts)
        by = f" by {meta.author}" if meta.author else ""
        out.write(
            out.style(f"Serialbot demo · “{story.title}”{by}", "1")
            + f" · {parts} part{'s' if parts != 1 else ''}, {story.words:,} words"
            + f" → #{CHANNEL_NAME}"
        )
        if meta.content_notes:
            out.write(
                f"Rating: {meta.rating.value} · Content notes: {', '.join(meta.content_notes)}"
            )
        else:
            out.write(f"Rating: {meta.rating.value}")
        where = f"kept in {self.db_path}" if self.kept else "throwaway"
        out.write(
            f"Schedule: {sub.schedule} ({sub.timezone}) · clock: {speed_text(self.setup.speed)}"
            f" · database: {where}"
        )
        status = await self._scheduler().status(CHANNEL_ID)
        if continuing:
            out.write(f"Continuing: {status_bar(status.parts_posted, parts)} posted so far.")
        out.write(next_line(status, clock.now()))
        out.write("Type help for the commands (next, status, pause, resume, read N); Ctrl-C stops.")

    def _farewell(self, serial: Serial) -> None:
        out = self.console
        if self.poster is not None and self.poster.ended.is_set():
            out.write()
            out.write(out.rule(f"The End · “{serial.story.title}” is over", char="━", code="1"))
        elif self.kept:
            out.write(f"Progress is kept in {self.db_path}; run again with --db to continue.")

    def _scheduler(self) -> Scheduler:
        assert self.scheduler is not None
        return self.scheduler

    # --- typed lines and posted parts ------------------------------------------------------

    async def _read_commands(self, stdin: StdinLines, answers: ConsoleCommands) -> None:
        while (line := await stdin.lines.get()) is not None:
            async with self._busy:
                if self._stop.is_set():
                    return
                await answers.command(line)

    def _part_posted(self, posted: PartPosted) -> None:
        if posted.trigger != "schedule":
            return
        task = asyncio.ensure_future(self._together().part_posted(CHANNEL_ID))
        self._after.add(task)
        task.add_done_callback(self._vote_ended)

    def _vote_ended(self, task: asyncio.Future[Vote | None]) -> None:
        self._after.discard(task)
        if task.cancelled() or task.exception() is not None:
            return
        vote = task.result()
        if vote is not None:
            self.console.write(
                self.console.style(
                    f"📣 Part {vote.part} arrived on schedule; the vote ended.", "33"
                )
            )

    def _together(self) -> ReadingTogether:
        assert self.together is not None
        return self.together


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(
        # The demo's output is the posts; only trouble from the core belongs beside them.
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    _tolerant_output(sys.stdout)
    try:
        setup = prepare(args)
    except DemoError as error:
        print(f"serialbot demo: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    console = Console(sys.stdout)
    with tempfile.TemporaryDirectory(prefix="serialbot-demo-") as scratch:
        kept = args.db is not None
        db_path = Path(args.db) if kept else Path(scratch) / "demo.sqlite3"
        demo = _Demo(setup, db_path, kept=kept, console=console, stdin=sys.stdin)
        try:
            return asyncio.run(demo.run())
        except DemoError as error:
            print(f"serialbot demo: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            return 128 + int(signal.SIGINT)


def _tolerant_output(stream: TextIO) -> None:
    # A terminal or pipe that cannot show ━ or 🧵 gets a placeholder rather than a crash.
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(ValueError, OSError):
            reconfigure(errors="replace")
