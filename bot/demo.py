"""``serialbot demo``: the serial offline, in a terminal.

The real core runs here: the library and splitter, an SQLite store, the scheduler and the same
rendering Discord gets. Only the poster differs: ``ConsolePoster`` prints each post as it would
read in a channel (its messages, their sizes, the thread each part opens). A fast clock makes a
day pass in a second, so the whole story is told in moments.

Lines typed while it runs act like the slash commands (``next``, ``status``, ``pause``,
``resume``, ``read N``), so the demo shows the whole flow a reader and an admin see. Progress is
kept in a throwaway database unless ``--db`` names one, in which case a later run continues.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import math
import os
import re
import signal
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.clock import Clock, ScaledClock
from bot.config import Config, ConfigError, load_config
from bot.library import STORY_SUFFIXES, Library, StoryError, load_story, make_serial, slug_for
from bot.poster import Delivered, Destination
from bot.render import format_duration, render_end, render_part, status_bar
from bot.schedule import ScheduleError, parse_schedule
from bot.scheduler import (
    ChannelStatus,
    NextOutcome,
    PartPosted,
    Scheduler,
    SchedulerSettings,
    SerialError,
)
from bot.store import Store, StoreError, Subscription, Vote
from bot.story import Part, Serial
from bot.together import ReadingTogether, count_of, plural, reads_line, vote_text

__all__ = ["ConsolePoster", "main"]

log = logging.getLogger(__name__)

DEFAULT_STORY = "you-left"
# The demo's one server, channel and reader. Offline, any ids will do.
GUILD_ID = 1
CHANNEL_ID = 2
READER_ID = 3
CHANNEL_NAME = "serial-demo"

EXIT_OK = 0
EXIT_BAD_INPUT = 2
# Faster, and the virtual clock would run off the calendar (past the year 9999) in minutes.
MAX_SPEED = 1e9
_RULE_WIDTH = 72

HELP = """\
Commands (type one and press Enter):
  next     post the next part now, as /serial next does (within the cooldown)
  status   where the channel is in the story and when the next part comes
  pause    hold the schedule, as an admin's /serial pause does
  resume   continue after a pause
  read N   re-read part N, if it has been posted
  metoo    another reader joins the vote for the next part (with --quorum 2 or more)
  mark [N] mark part N (default: the latest) read, as its ✓ Read button does
  help     this list
  quit     stop the demo (progress stays in the database given with --db)"""
_HINT = "Try: next, metoo, mark, status, pause, resume, read N, help or quit."


class DemoError(Exception):
    """Input the demo cannot work with; the message is one line for the user."""


# --- output ----------------------------------------------------------------------------------

# Discord markdown as the header and closing message use it: escapes, bold, italics, headings.
_MARKUP = re.compile(r"(?P<esc>\\(?P<char>.))|(?P<bold>\*\*)|(?P<italic>\*)|^(?P<heading>#{1,3} )")


class Console:
    """Where the demo writes. ANSI styles only on a terminal that wants them."""

    def __init__(self, stream: TextIO, *, colour: bool | None = None) -> None:
        self.stream = stream
        if colour is None:
            colour = (
                _isatty(stream)
                and "NO_COLOR" not in os.environ
                and os.environ.get("TERM") != "dumb"
            )
        self.colour = colour
        # Called once when the reader goes away (``serialbot demo | head``).
        self.on_closed: Callable[[], None] | None = None
        self._closed = False

    def write(self, text: str = "") -> None:
        if self._closed:
            return
        try:
            self.stream.write(text + "\n")
            # A pipe would otherwise hold posts back until the demo ends.
            self.stream.flush()
        except BrokenPipeError:
            self._closed = True
            _silence(self.stream)
            if self.on_closed is not None:
                self.on_closed()

    def style(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour and text else text

    def rule(self, label: str = "", *, char: str = "─", code: str = "2") -> str:
        head = f"{char * 2} {label} " if label else ""
        return self.style(head + char * max(3, _RULE_WIDTH - len(head)), code)

    def discord(self, markdown: str) -> str:
        """Discord markdown as a reader sees it: escapes removed, emphasis shown (on a terminal)
        or dropped (elsewhere)."""
        lines = []
        for line in markdown.split("\n"):
            out: list[str] = []
            bold = italic = heading = False
            position = 0
            for match in _MARKUP.finditer(line):
                out.append(line[position : match.start()])
                position = match.end()
                if match.group("esc"):
                    out.append(match.group("char"))
                elif match.group("bold"):
                    bold = not bold
                    out.append(self._code("1" if bold else "22"))
                elif match.group("italic"):
                    italic = not italic
                    out.append(self._code("3" if italic else "23"))
                elif match.group("heading"):
                    heading = True
                    out.append(self._code("1"))
            out.append(line[position:])
            if bold or italic or heading:
                out.append(self._code("0"))
            lines.append("".join(out))
        return "\n".join(lines)

    def _code(self, code: str) -> str:
        return f"\033[{code}m" if self.colour else ""


def _silence(stream: TextIO) -> None:
    # Python flushes stdout once more at exit; pointed at the null device, that flush cannot fail.
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _when(moment: datetime, timezone: str) -> str:
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname() or timezone}"


def _speed_text(speed: float) -> str:
    if speed >= 60:
        return f"{format_duration(speed)} of demo time per second"
    return f"{speed:g}× real time"


# --- the poster ------------------------------------------------------------------------------


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
        when = _when(self.clock.now(), self.timezone)
        return self.console.rule(f"#{self.channel_name} · {what} · {when}", char="━", code="1")

    def _messages(self, messages: tuple[str, ...]) -> None:
        out = self.console
        for number, text in enumerate(messages, start=1):
            label = f"message {number}/{len(messages)} · {len(text):,} chars"
            out.write(out.rule(label, char="┈"))
            out.write(out.discord(text))


# --- input -----------------------------------------------------------------------------------


class _Stdin:
    """Lines typed on stdin, delivered to the event loop without blocking it. A pipe or terminal
    is watched by the loop itself; anything else (a regular file, a loop without ``add_reader``)
    is read by a daemon thread, which never holds up the exit. ``None`` marks the end."""

    def __init__(self, loop: asyncio.AbstractEventLoop, stream: TextIO) -> None:
        self._loop = loop
        self._stream = stream
        self.lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._buffer = b""
        self._fd: int | None = None

    def start(self) -> None:
        try:
            fd = self._stream.fileno()
        except (AttributeError, OSError, ValueError):
            self.lines.put_nowait(None)
            return
        try:
            self._loop.add_reader(fd, self._readable, fd)
        except (OSError, NotImplementedError, ValueError):
            threading.Thread(target=self._read_blocking, name="demo-stdin", daemon=True).start()
            return
        self._fd = fd

    def close(self) -> None:
        if self._fd is not None:
            self._loop.remove_reader(self._fd)
            self._fd = None

    def _readable(self, fd: int) -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.close()
            if self._buffer:
                self.lines.put_nowait(self._buffer.decode("utf-8", "replace"))
            self.lines.put_nowait(None)
            return
        *complete, self._buffer = (self._buffer + data).split(b"\n")
        for line in complete:
            self.lines.put_nowait(line.decode("utf-8", "replace"))

    def _read_blocking(self) -> None:
        try:
            for line in self._stream:
                self._loop.call_soon_threadsafe(self.lines.put_nowait, line.rstrip("\r\n"))
        except (OSError, ValueError, RuntimeError):
            pass
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is listening
            self._loop.call_soon_threadsafe(self.lines.put_nowait, None)


# --- setting up ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Setup:
    config: Config
    library: Library
    serial: Serial
    # The story was chosen on the command line (not the default).
    chosen: bool
    schedule: str
    schedule_given: bool
    speed: float


def _prepare(args: argparse.Namespace) -> _Setup:
    try:
        config = load_config(args.config)
    except ConfigError as error:
        shown = "; ".join(error.problems)
        more = " (serialbot check lists them)" if len(error.problems) > 1 else ""
        raise DemoError(f"the configuration cannot be used: {shown}{more}") from None

    quorum = getattr(args, "quorum", None)
    if quorum is not None:
        if not 1 <= quorum <= 100:
            raise DemoError(f"--quorum must be from 1 to 100, not {quorum}")
        config = replace(config, next=replace(config.next, quorum=quorum))

    speed = float(args.speed)
    if not math.isfinite(speed) or not 0 < speed <= MAX_SPEED:
        raise DemoError(f"--speed must be more than 0 and at most {MAX_SPEED:,.0f}, not {speed:g}")

    schedule_given = args.schedule is not None
    schedule_text = args.schedule if schedule_given else config.default_schedule
    try:
        schedule = parse_schedule(schedule_text).text
    except ScheduleError as error:
        raise DemoError(f"bad schedule: {error}") from None

    library, serial, chosen = _choose_story(config, args.story)
    return _Setup(
        config=config,
        library=library,
        serial=serial,
        chosen=chosen,
        schedule=schedule,
        schedule_given=schedule_given,
        speed=speed,
    )


def _looks_like_file(story: str) -> bool:
    path = Path(story)
    return (
        path.suffix.lower() in STORY_SUFFIXES or os.sep in story or "/" in story or path.is_file()
    )


def _choose_story(config: Config, story: str | None) -> tuple[Library, Serial, bool]:
    if story is not None and _looks_like_file(story):
        path = Path(story)
        if not path.is_file():
            raise DemoError(f"no story file {story}")
        try:
            loaded = load_story(path, max_bytes=config.max_story_bytes)
        except StoryError as error:
            raise DemoError(f"cannot use the story {error}") from None
        serial = make_serial(loaded, config.words_per_part, config.tolerance)
        library = Library(
            path.parent,
            {serial.slug: serial},
            [],
            words_per_part=config.words_per_part,
            tolerance=config.tolerance,
            max_bytes=config.max_story_bytes,
        )
        return library, serial, True

    library = Library.load(
        config.stories,
        words_per_part=config.words_per_part,
        tolerance=config.tolerance,
        max_bytes=config.max_story_bytes,
        author_notes=config.author_notes,
    )
    slug = story.strip().lower() if story is not None else DEFAULT_STORY
    serial = library.get(slug)
    if serial is not None:
        return library, serial, story is not None
    broken = next((p for p in library.problems if slug_for(p.path) == slug), None)
    if broken is not None:
        raise DemoError(f"cannot use the story {broken}")
    if story is None and len(library):
        # A library without the bundled story still makes a demo: its first story.
        return library, next(iter(library)), False
    known = ", ".join(library.serials) or "none"
    raise DemoError(f"no story '{slug}' in {config.stories} (stories there: {known})")


# --- running ---------------------------------------------------------------------------------


class _Demo:
    def __init__(
        self, setup: _Setup, db_path: Path, *, kept: bool, console: Console, stdin: TextIO
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
        # Readers simulated by `metoo`, and work started when a part is posted.
        self._others = 0
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
                    f"{_when(existing.completed_at, existing.timezone)}). Give another --db, "
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
        self.console.on_closed = lambda: self.stop(EXIT_OK)

        loop = asyncio.get_running_loop()
        stdin = _Stdin(loop, self.stdin)
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
            commands = asyncio.create_task(self._commands(stdin), name="demo-commands")
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
            f"Schedule: {sub.schedule} ({sub.timezone}) · clock: {_speed_text(self.setup.speed)}"
            f" · database: {where}"
        )
        status = await self._scheduler().status(CHANNEL_ID)
        if continuing:
            out.write(f"Continuing: {status_bar(status.parts_posted, parts)} posted so far.")
        out.write(self._next_line(status, clock.now()))
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

    # --- commands ----------------------------------------------------------------------------

    async def _commands(self, stdin: _Stdin) -> None:
        while (line := await stdin.lines.get()) is not None:
            async with self._busy:
                if self._stop.is_set():
                    return
                await self.command(line)

    async def command(self, line: str) -> None:
        words = line.strip().lower().split()
        if not words:
            return
        if words[0] in ("/serial", "serial") and len(words) > 1:
            words = words[1:]  # "/serial next", as typed in Discord, works too
        name, rest = words[0].lstrip("/"), words[1:]
        handlers: dict[str, Callable[[list[str]], Awaitable[None]]] = {
            "next": self._next,
            "status": self._status,
            "pause": self._pause,
            "resume": self._resume,
            "read": self._read,
            "metoo": self._metoo,
            "mark": self._mark,
        }
        try:
            if name in handlers:
                await handlers[name](rest)
            elif name in ("help", "?"):
                self.reply(HELP)
            elif name in ("quit", "exit", "q"):
                self.reply("Stopping.")
                self.stop(EXIT_OK)
            else:
                self.reply(f"Unknown command “{line.strip()[:40]}”. {_HINT}")
        except SerialError as error:
            self.reply(str(error))

    def reply(self, text: str) -> None:
        """The bot's answer to a command (in Discord, mostly seen only by who asked)."""
        prefix = self.console.style("»", "32")
        for number, line in enumerate(text.split("\n")):
            self.console.write(f"{prefix if number == 0 else ' '} {line}")

    async def _next(self, _: list[str]) -> None:
        ask = await self._together().ask(
            guild_id=GUILD_ID, channel_id=CHANNEL_ID, member_id=READER_ID
        )
        if ask.outcome.posted is not None:
            self.reply(f"You asked for the next part: Part {ask.outcome.posted} is up.")
        else:
            self.reply(self._refusal(ask.outcome))
        if ask.vote is not None:
            await self._show_vote(ask.vote)

    async def _metoo(self, _: list[str]) -> None:
        together = self._together()
        vote = await together.open_vote(CHANNEL_ID)
        if vote is None:
            self.reply("No vote is open: `next` opens one when the quorum is over 1 (--quorum 3).")
            return
        self._others += 1
        who = f"reader {self._others + 1}"
        ask = await together.ask(
            guild_id=GUILD_ID, channel_id=CHANNEL_ID, member_id=READER_ID + self._others
        )
        self.reply(f"{who} pressed ⏭ Me too.")
        if ask.vote is not None:
            await self._show_vote(ask.vote)
        elif ask.outcome.refused:
            self.reply(ask.outcome.refused)

    async def _show_vote(self, vote: Vote) -> None:
        """The vote message as the channel sees it (in Discord: one message, edited)."""
        together = self._together()
        votes = await together.votes_for(vote) if vote.state == "open" else vote.asked
        until = _when(vote.closes_at, self._timezone()) if vote.state == "open" else None
        text = vote_text(
            vote, votes, together.quorum, who="reader", until=until, window=together.window
        )
        self.console.write(self.console.style(f"📣 {text}", "33"))

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

    async def _mark(self, rest: list[str]) -> None:
        scheduler = self._scheduler()
        status = await scheduler.status(CHANNEL_ID)
        if rest and not rest[0].isdigit():
            self.reply("Say which part, e.g. mark 2, or just mark for the latest.")
            return
        number = int(rest[0]) if rest else status.parts_posted
        delivery = await scheduler.posted_part(CHANNEL_ID, number) if number else None
        if delivery is None:
            self.reply(f"Part {number} has not been posted here yet.")
            return
        mark = await self._together().mark_read(delivery.nonce, CHANNEL_ID, READER_ID)
        if mark is None:
            self.reply(f"Part {number} has not been posted here yet.")
        elif mark.new:
            self.reply(f"Marked read: Part {number} ({plural(mark.readers, 'reader')} so far).")
        else:
            self.reply(f"You had already marked Part {number} read.")

    def _together(self) -> ReadingTogether:
        assert self.together is not None
        return self.together

    def _timezone(self) -> str:
        assert self.poster is not None
        return self.poster.timezone

    def _refusal(self, outcome: NextOutcome) -> str:
        text = [outcome.refused or "Not yet."]
        if outcome.needed > outcome.votes:
            text.append(f"{count_of(outcome.votes, outcome.needed)}.")
        if outcome.retry_at is not None:
            now = self._now()
            wait = format_duration(max(timedelta(0), outcome.retry_at - now))
            text.append(f"Try again in {wait} (demo time).")
        return " ".join(text)

    async def _status(self, _: list[str]) -> None:
        status = await self._scheduler().status(CHANNEL_ID)
        text = self._status_text(status)
        reads = reads_line(await self._together().read_counts(CHANNEL_ID))
        self.reply(text + (f"\nRead so far: {reads}" if reads else ""))

    def _status_text(self, status: ChannelStatus) -> str:
        sub, serial = status.subscription, status.serial
        title = serial.story.title if serial is not None else sub.slug
        lines = [f"“{title}”"]
        if status.parts_total:
            lines.append(
                f"{status_bar(status.parts_posted, status.parts_total)} "
                f"Part {status.parts_posted} of {status.parts_total}"
            )
        if sub.completed:
            lines.append("Every part has been posted.")
            return "\n".join(lines)
        if sub.paused:
            lines.append(f"Paused: {sub.pause_reason or 'by an admin'}. Type resume to continue.")
        else:
            lines.append(self._next_line(status, self._now()))
            if status.finish_estimate is not None:
                lines.append(f"Expected to finish: {_when(status.finish_estimate, sub.timezone)}")
        lines.append(f"Schedule: {sub.schedule} ({sub.timezone})")
        return "\n".join(lines)

    def _next_line(self, status: ChannelStatus, now: datetime) -> str:
        sub = status.subscription
        if sub.paused:
            return f"Paused: {sub.pause_reason or 'by an admin'}. Type resume to continue."
        if status.next_due is None:
            return "Nothing more is scheduled."
        wait = format_duration(max(timedelta(0), status.next_due - now))
        return (
            f"Next: Part {status.next_part}, {_when(status.next_due, sub.timezone)} "
            f"(in {wait} of demo time)"
        )

    async def _pause(self, _: list[str]) -> None:
        await self._scheduler().pause(CHANNEL_ID, "paused from the demo console")
        self.reply("Paused. Type resume to pick up where it left off.")

    async def _resume(self, _: list[str]) -> None:
        scheduler = self._scheduler()
        await scheduler.resume(CHANNEL_ID)
        status = await scheduler.status(CHANNEL_ID)
        self.reply(f"Resumed. {self._next_line(status, self._now())}")

    async def _read(self, rest: list[str]) -> None:
        if len(rest) != 1 or not rest[0].isdigit():
            self.reply("Say which part, e.g. read 1.")
            return
        number = int(rest[0])
        scheduler = self._scheduler()
        delivery = await scheduler.posted_part(CHANNEL_ID, number)
        status = await scheduler.status(CHANNEL_ID)
        if delivery is None or status.serial is None or number > len(status.serial.parts):
            posted = status.parts_posted
            has = f"parts 1–{posted}" if posted > 1 else "part 1" if posted else "no parts yet"
            self.reply(
                f"Part {number} has not been posted here yet; this channel has received {has}."
            )
            return
        assert self.poster is not None
        self.poster.show_again(status.serial, status.serial.part(number))

    def _now(self) -> datetime:
        assert self.poster is not None
        return self.poster.clock.now()


# --- entry point -----------------------------------------------------------------------------


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(
        # The demo's output is the posts; only trouble from the core belongs beside them.
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    _tolerant_output(sys.stdout)
    try:
        setup = _prepare(args)
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
