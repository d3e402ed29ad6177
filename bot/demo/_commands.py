"""The lines typed while the demo runs, answered as the slash commands answer them: ``next``,
``status``, ``pause``, ``resume``, ``read N``, ``metoo``, ``mark``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.demo._console import Console, when
from bot.demo._poster import ConsolePoster
from bot.demo._setup import CHANNEL_ID, EXIT_OK, GUILD_ID, READER_ID
from bot.render import format_duration, status_bar
from bot.scheduler import ChannelStatus, NextOutcome, Scheduler, SerialError
from bot.store import Vote
from bot.together import ReadingTogether, count_of, mark_text, reads_line, vote_text

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


class ConsoleCommands:
    """Answers typed commands for the demo's one channel and reader; ``stop`` ends the demo
    with an exit code."""

    def __init__(
        self,
        console: Console,
        poster: ConsolePoster,
        scheduler: Scheduler,
        together: ReadingTogether,
        *,
        stop: Callable[[int], None],
    ) -> None:
        self.console = console
        self.poster = poster
        self.scheduler = scheduler
        self.together = together
        self._stop = stop
        # Readers simulated by `metoo`.
        self._others = 0

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
                self._stop(EXIT_OK)
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
        ask = await self.together.ask(guild_id=GUILD_ID, channel_id=CHANNEL_ID, member_id=READER_ID)
        if ask.outcome.posted is not None:
            self.reply(f"You asked for the next part: Part {ask.outcome.posted} is up.")
        else:
            self.reply(self._refusal(ask.outcome))
        if ask.vote is not None:
            await self._show_vote(ask.vote)

    async def _metoo(self, _: list[str]) -> None:
        together = self.together
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
        together = self.together
        votes = await together.votes_for(vote) if vote.state == "open" else vote.asked
        until = when(vote.closes_at, self._timezone()) if vote.state == "open" else None
        text = vote_text(
            vote, votes, together.quorum, who="reader", until=until, window=together.window
        )
        self.console.write(self.console.style(f"📣 {text}", "33"))

    async def _mark(self, rest: list[str]) -> None:
        scheduler = self.scheduler
        status = await scheduler.status(CHANNEL_ID)
        if rest and not rest[0].isdigit():
            self.reply("Say which part, e.g. mark 2, or just mark for the latest.")
            return
        number = int(rest[0]) if rest else status.parts_posted
        delivery = await scheduler.posted_part(CHANNEL_ID, number) if number else None
        mark = (
            await self.together.mark_read(delivery.nonce, CHANNEL_ID, READER_ID)
            if delivery is not None
            else None
        )
        if mark is None:
            self.reply(f"Part {number} has not been posted here yet.")
        else:
            self.reply(mark_text(mark))

    def _timezone(self) -> str:
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
        status = await self.scheduler.status(CHANNEL_ID)
        text = self._status_text(status)
        reads = reads_line(await self.together.read_counts(CHANNEL_ID))
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
        lines.append(next_line(status, self._now()))
        if not sub.paused and status.finish_estimate is not None:
            lines.append(f"Expected to finish: {when(status.finish_estimate, sub.timezone)}")
        lines.append(f"Schedule: {sub.schedule} ({sub.timezone})")
        return "\n".join(lines)

    async def _pause(self, _: list[str]) -> None:
        await self.scheduler.pause(CHANNEL_ID, "paused from the demo console")
        self.reply("Paused. Type resume to pick up where it left off.")

    async def _resume(self, _: list[str]) -> None:
        scheduler = self.scheduler
        await scheduler.resume(CHANNEL_ID)
        status = await scheduler.status(CHANNEL_ID)
        self.reply(f"Resumed. {next_line(status, self._now())}")

    async def _read(self, rest: list[str]) -> None:
        if len(rest) != 1 or not rest[0].isdigit():
            self.reply("Say which part, e.g. read 1.")
            return
        number = int(rest[0])
        scheduler = self.scheduler
        delivery = await scheduler.posted_part(CHANNEL_ID, number)
        status = await scheduler.status(CHANNEL_ID)
        if delivery is None or status.serial is None or number > len(status.serial.parts):
            posted = status.parts_posted
            has = f"parts 1–{posted}" if posted > 1 else "part 1" if posted else "no parts yet"
            self.reply(
                f"Part {number} has not been posted here yet; this channel has received {has}."
            )
            return
        self.poster.show_again(status.serial, status.serial.part(number))

    def _now(self) -> datetime:
        return self.poster.clock.now()


def next_line(status: ChannelStatus, now: datetime) -> str:
    """When the next part comes, or why none is coming."""
    sub = status.subscription
    if sub.paused:
        return f"Paused: {sub.pause_reason or 'by an admin'}. Type resume to continue."
    if status.next_due is None:
        return "Nothing more is scheduled."
    wait = format_duration(max(timedelta(0), status.next_due - now))
    return (
        f"Next: Part {status.next_part}, {when(status.next_due, sub.timezone)} "
        f"(in {wait} of demo time)"
    )
