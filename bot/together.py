"""Reading together: what makes a channel a book club rather than a feed.

- A public vote for the next part: when ``next`` needs more than one reader, the first request
  opens a vote that others join; it ends when the part is posted (by the vote or the schedule)
  or when the quorum window runs out.
- Read receipts: a member marks a part read once; counts per part feed the status and the
  part's thread.
- Catch-up: the posted parts a member has not marked read.
- Reminders: members who opted in hear of each new part once, by DM; a DM Discord refuses stops
  their reminders until they turn them on again, and they are told once.

This module knows nothing of Discord: the front end shows votes, buttons and DMs, and words
them with the functions at the end, so the demo and Discord read the same.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from bot.render import format_duration

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.scheduler import NextOutcome, Scheduler
    from bot.store import Delivery, Vote, VoteEnd

__all__ = [
    "Ask",
    "ReadMark",
    "ReadingStore",
    "ReadingTogether",
    "count_of",
    "hand_off_text",
    "opener_text",
    "plural",
    "reads_line",
    "reminder_text",
    "vote_text",
]

log = logging.getLogger(__name__)

DEFAULT_DISCUSSION_RULE = (
    "Talk about this part and earlier ones only: no spoilers for what comes next."
)


class ReadingStore(Protocol):
    """What reading together keeps (``bot.store.Store`` and ``bot.pgstore.PostgresStore``)."""

    async def has_asked(self, channel_id: int, member_id: int, *, since: datetime) -> bool: ...
    async def count_votes(self, channel_id: int, *, since: datetime) -> int: ...
    async def open_vote(
        self,
        *,
        channel_id: int,
        guild_id: int,
        part: int,
        opened_by: int,
        now: datetime,
        closes_at: datetime,
    ) -> tuple[Vote, bool]: ...
    async def vote(self, vote_id: int) -> Vote | None: ...
    async def open_vote_of(self, channel_id: int) -> Vote | None: ...
    async def open_votes(self) -> list[Vote]: ...
    async def set_vote_message(
        self, vote_id: int, message_id: int, *, reposted: bool = False
    ) -> None: ...
    async def close_vote(
        self, vote_id: int, state: VoteEnd, *, asked: int | None = None
    ) -> Vote | None: ...
    async def posted_delivery_by_nonce(self, nonce: str) -> Delivery | None: ...
    async def add_receipt(self, delivery_id: int, member_id: int, now: datetime) -> bool: ...
    async def read_counts(self, channel_id: int) -> dict[int, int]: ...
    async def unread(self, channel_id: int, member_id: int) -> list[Delivery]: ...
    async def mark_read_through(
        self, channel_id: int, member_id: int, part: int, now: datetime
    ) -> int: ...
    async def set_thread_opener(self, nonce: str, thread_id: int, message_id: int) -> None: ...
    async def thread_opener(self, delivery_id: int) -> tuple[int, int] | None: ...
    async def set_reminder(
        self, *, channel_id: int, guild_id: int, member_id: int, on: bool, now: datetime
    ) -> bool: ...
    async def claim_reminders(self, channel_id: int, nonce: str) -> list[int]: ...
    async def reminder_failed(self, channel_id: int, member_id: int, now: datetime) -> None: ...
    async def remove_member_reminders(self, guild_id: int, member_id: int) -> int: ...
    async def take_failed_reminders(self, member_id: int) -> list[int]: ...
    async def members_to_tell(self) -> set[int]: ...


@dataclass(frozen=True, slots=True)
class Ask:
    """A request for the next part. ``vote`` is the channel's open vote when the request counted
    towards one (``opened`` when this request opened it); ``already`` when the member had asked
    before within the window (counted once)."""

    outcome: NextOutcome
    vote: Vote | None = None
    opened: bool = False
    already: bool = False


@dataclass(frozen=True, slots=True)
class ReadMark:
    """A press of "Read" on a part: ``new`` unless the member had marked it before."""

    delivery: Delivery
    new: bool
    readers: int


class ReadingTogether:
    def __init__(self, store: ReadingStore, scheduler: Scheduler, clock: Clock) -> None:
        self._store = store
        self.scheduler = scheduler
        self._clock = clock
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    @property
    def window(self) -> timedelta:
        return self.scheduler.settings.quorum_window

    @property
    def quorum(self) -> int:
        return self.scheduler.settings.next_quorum

    # --- votes ---------------------------------------------------------------------------------

    async def ask(self, *, guild_id: int, channel_id: int, member_id: int) -> Ask:
        """A member asks for the next part (a command or a vote button). Requests of one channel
        are taken one at a time, so a vote opens once and a quorum posts one part."""
        async with self._lock(channel_id):
            now = self._clock.now()
            already = await self._store.has_asked(channel_id, member_id, since=now - self.window)
            outcome = await self.scheduler.request_next(channel_id, member_id)
            if outcome.posted is not None:
                # The vote (if one was open) carried the part: it ends here, with its count.
                vote = await self._store.open_vote_of(channel_id)
                if vote is not None:
                    vote = await self._store.close_vote(vote.id, "posted", asked=outcome.votes)
                return Ask(outcome, vote, already=already)
            if outcome.needed <= outcome.votes:
                return Ask(outcome, already=already)  # refused for another reason
            status = await self.scheduler.status(channel_id)
            vote, opened = await self._store.open_vote(
                channel_id=channel_id,
                guild_id=guild_id,
                part=status.next_part,
                opened_by=member_id,
                now=now,
                closes_at=now + self.window,
            )
            return Ask(outcome, vote, opened=opened, already=already)

    async def vote(self, vote_id: int) -> Vote | None:
        return await self._store.vote(vote_id)

    async def open_vote(self, channel_id: int) -> Vote | None:
        return await self._store.open_vote_of(channel_id)

    async def votes_for(self, vote: Vote) -> int:
        """How many distinct members asked within the vote's window so far."""
        return await self._store.count_votes(vote.channel_id, since=vote.opened_at - self.window)

    async def part_posted(self, channel_id: int) -> Vote | None:
        """A part went out on schedule: the channel's open vote, if any, ends with it (a vote
        that carried a part ends in ``ask``). Returns the ended vote."""
        vote = await self._store.open_vote_of(channel_id)
        if vote is None:
            return None
        return await self._store.close_vote(vote.id, "posted")

    async def lapse_due(self) -> list[Vote]:
        """End the votes whose window has run out; returns them."""
        now = self._clock.now()
        lapsed: list[Vote] = []
        for vote in await self._store.open_votes():
            if vote.closes_at > now:
                break
            closed = await self._store.close_vote(vote.id, "lapsed")
            if closed is not None:
                log.info("The vote for part %s in channel %s lapsed", vote.part, vote.channel_id)
                lapsed.append(closed)
        return lapsed

    async def next_lapse(self) -> datetime | None:
        votes = await self._store.open_votes()
        return votes[0].closes_at if votes else None

    async def vote_shown(self, vote_id: int, message_id: int, *, reposted: bool = False) -> None:
        await self._store.set_vote_message(vote_id, message_id, reposted=reposted)

    # --- read receipts -------------------------------------------------------------------------

    async def mark_read(self, nonce: str, channel_id: int, member_id: int) -> ReadMark | None:
        """Record that the member read the part posted with ``nonce`` in ``channel_id``; ``None``
        when no such part is posted there (an old button, another channel's, a forged one)."""
        delivery = await self._store.posted_delivery_by_nonce(nonce)
        if delivery is None or delivery.channel_id != channel_id:
            return None
        new = await self._store.add_receipt(delivery.id, member_id, self._clock.now())
        counts = await self._store.read_counts(channel_id)
        return ReadMark(delivery, new, counts.get(delivery.part, 0))

    async def read_counts(self, channel_id: int) -> dict[int, int]:
        return await self._store.read_counts(channel_id)

    async def unread(self, channel_id: int, member_id: int) -> list[Delivery]:
        return await self._store.unread(channel_id, member_id)

    async def mark_all_read(self, channel_id: int, member_id: int, through: int) -> int:
        return await self._store.mark_read_through(
            channel_id, member_id, through, self._clock.now()
        )

    async def thread_opened(self, nonce: str, thread_id: int, message_id: int) -> None:
        await self._store.set_thread_opener(nonce, thread_id, message_id)

    async def thread_opener(self, delivery: Delivery) -> tuple[int, int] | None:
        return await self._store.thread_opener(delivery.id)

    # --- reminders -----------------------------------------------------------------------------

    async def set_reminder(
        self, *, guild_id: int, channel_id: int, member_id: int, on: bool
    ) -> bool:
        """Returns whether reminders were on before."""
        return await self._store.set_reminder(
            channel_id=channel_id,
            guild_id=guild_id,
            member_id=member_id,
            on=on,
            now=self._clock.now(),
        )

    async def claim_reminders(self, channel_id: int, nonce: str) -> list[int]:
        return await self._store.claim_reminders(channel_id, nonce)

    async def reminder_refused(self, channel_id: int, member_id: int) -> None:
        await self._store.reminder_failed(channel_id, member_id, self._clock.now())

    async def member_left(self, guild_id: int, member_id: int) -> None:
        await self._store.remove_member_reminders(guild_id, member_id)

    async def members_to_tell(self) -> set[int]:
        return await self._store.members_to_tell()

    async def take_refused_reminders(self, member_id: int) -> list[int]:
        return await self._store.take_failed_reminders(member_id)

    def _lock(self, channel_id: int) -> asyncio.Lock:
        lock = self._locks.get(channel_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[channel_id] = lock
        return lock


# --- wording -------------------------------------------------------------------------------------


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 part``, ``2 parts``."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def count_of(votes: int, needed: int) -> str:
    """``1 of 2 readers has asked``, ``2 of 3 readers have asked``."""
    return f"{votes} of {plural(needed, 'reader')} {'has' if votes == 1 else 'have'} asked"


def vote_text(
    vote: Vote,
    votes: int,
    needed: int,
    *,
    who: str,
    until: str | None = None,
    link: str | None = None,
    window: timedelta | None = None,
) -> str:
    """The public vote message in each state; ``until`` is when an open vote closes, as the
    front end shows a time."""
    if vote.state == "open":
        text = f"{who} wants Part {vote.part} now · {votes} of {needed} · ⏭ Me too"
        return text + (f" (open until {until})" if until else "")
    if vote.state == "posted":
        out = f"Part {vote.part} is out" + (f" → {link}" if link else "")
        return f"{out}: {plural(votes, 'reader')} asked for it, {who} first."
    if vote.state == "lapsed":
        span = f" within {format_duration(window)}" if window is not None else ""
        return (
            f"The vote for Part {vote.part} lapsed: {votes} of {needed} asked{span}. "
            "Ask again with /serial next."
        )
    return f"The vote for Part {vote.part} ended: this channel no longer follows the story."


def reads_line(counts: dict[int, int], *, recent: int = 3) -> str | None:
    """``12 read Part 3 · 4 read Part 2`` for the most recent parts, or ``None`` before any."""
    parts = sorted(counts, reverse=True)[:recent]
    if not parts:
        return None
    return " · ".join(f"{counts[p]} read Part {p}" for p in parts)


def mark_text(mark: ReadMark) -> str:
    """The answer to a press of ✓ Read, seen only by who pressed."""
    part = mark.delivery.part
    if mark.new:
        return f"Marked read: Part {part} ({plural(mark.readers, 'reader')} so far)."
    return f"You had already marked Part {part} read."


def opener_text(
    part: int,
    total: int,
    *,
    rule: str,
    previous_thread: str | None,
    readers: int = 0,
) -> str:
    """The message that opens a part's discussion thread."""
    lines = [f"**Part {part} of {total}**: talk about it here."]
    if previous_thread:
        lines.append(f"Part {part - 1} is discussed in {previous_thread}.")
    lines.append(rule)
    lines.append(
        f"✓ {readers} read Part {part}"
        if readers
        else "Press ✓ Read on the part when you have read it."
    )
    return "\n".join(lines)


def hand_off_text(part: int, link: str) -> str:
    """The line a part's thread gets when the next part arrives."""
    return f"Part {part} is out → {link}"


def reminder_text(title: str, part: int, where: str, link: str) -> str:
    return f"Part {part} of “{title}” is out in {where}: {link}"
