"""What the scheduler answers and how it reads: the results front ends render, and every
sentence the scheduler itself says to a channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.limits import REASON_SHOWN, quoted_title, shorten
from bot.revision import Change
from bot.scheduler._claims import CLAIMED_ELSEWHERE
from bot.store import Subscription
from bot.story import Serial
from bot.uploads import shown_slug, split_key


@dataclass(frozen=True, slots=True)
class NextOutcome:
    """The answer to "post the next part now". ``posted`` is the part number, or ``None`` with
    ``refused`` saying why (and ``retry_at`` when asking again will work). ``votes`` and
    ``needed`` describe the quorum; both are 0 when the refusal had nothing to do with it."""

    posted: int | None
    refused: str | None = None
    retry_at: datetime | None = None
    votes: int = 0
    needed: int = 0

    @classmethod
    def finished(cls, title: str) -> NextOutcome:
        return cls(
            None,
            f"{quoted_title(title)} is finished: every part has been posted. An admin can start it "
            "again with /serial restart.",
        )

    @classmethod
    def paused(cls, title: str, reason: str | None) -> NextOutcome:
        return cls(
            None,
            f"{quoted_title(title)} is paused ({_reason(reason)}). An admin can "
            "continue it with /serial resume.",
        )

    @classmethod
    def cooling_down(cls, cooldown: timedelta, retry_at: datetime) -> NextOutcome:
        return cls(
            None,
            "A part was posted on request a short while ago; the next one can be asked "
            f"for {duration(cooldown)} after it.",
            retry_at=retry_at,
        )

    @classmethod
    def counted(cls, votes: int, needed: int, window: timedelta) -> NextOutcome:
        return cls(
            None,
            f"Your request is counted. The next part comes early when {needed} readers "
            f"ask within {duration(window)}.",
            votes=votes,
            needed=needed,
        )

    @classmethod
    def after_delivery(
        cls, result: DeliveryResult, title: str, votes: int, needed: int
    ) -> NextOutcome:
        """The answer once the requested delivery was tried."""
        if result.kind == "posted":
            return cls(result.part, votes=votes, needed=needed)
        if result.kind == "retry":
            return cls(
                None,
                "Discord did not take the part just now; it will be posted as soon as it does.",
            )
        if result.kind == "delayed":
            return cls(
                None,
                "Discord has asked the bot to wait a while, so nothing is posted just now; "
                "scheduled parts go out once it allows.",
                retry_at=result.retry_at,
            )
        if result.kind == "paused":
            return cls(
                None,
                f"I could not post here ({result.reason}), so the serial is paused. An admin "
                "can continue it with /serial resume once that is fixed.",
            )
        if result.kind == "finished":
            return cls(None, f"{quoted_title(title)} has no more parts.")
        if result.reason == CLAIMED_ELSEWHERE:
            return cls(None, "A part is being posted here right now; ask again in a minute.")
        return cls(None, "The bot is shutting down; ask again in a minute.")


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    """Where a channel is in its serial. ``parts_posted`` counts the parts before the next one
    (the channel's progress); ``next_due`` is ``None`` while paused or once finished."""

    subscription: Subscription
    serial: Serial | None
    parts_posted: int
    parts_total: int | None
    next_part: int
    next_due: datetime | None
    finish_estimate: datetime | None
    # Why the bot cannot save progress (writes to its database fail), if it cannot.
    write_problem: str | None = None


DeliveryKind = Literal["posted", "retry", "delayed", "paused", "finished", "skipped"]


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What one attempt to post to a channel came to."""

    kind: DeliveryKind
    subscription: Subscription | None
    part: int | None = None
    reason: str | None = None
    retry_at: datetime | None = None


UNWRITABLE_NOTICE = (
    "I cannot save my progress right now (the bot's database cannot be written), so no parts "
    "are posted until it can; the bot's operator can see why in its log. Parts that come due "
    "meanwhile follow once it is fixed."
)


def unwritable_status(problem: str) -> str:
    return f"⚠ Posting is on hold: the bot's database cannot be written ({shorten(problem, 200)})."


def paused_notice(title: str, reason: str) -> str:
    return (
        f"The serial {quoted_title(title)} is paused: {_reason(reason)}. An admin can "
        "continue it with /serial resume once that is fixed."
    )


def renumbered_notice(serial: Serial, before: Subscription, number: int) -> str:
    title = serial.story.title
    total = len(serial.parts)
    had = f" (it had {before.part_count})" if before.part_count is not None else ""
    if number > total:
        where = "This channel has already received all of its text."
    elif number == before.next_part:
        where = f"This channel continues with part {number}, where it left off in the text."
    else:
        where = (
            f"This channel continues where it left off in the text, which is now part {number} "
            f"(it was part {before.next_part})."
        )
    parts = "part" if total == 1 else "parts"
    return f"{quoted_title(title)} was edited and now has {total} {parts}{had}. {where}"


def missing_notice(key: str) -> str:
    if split_key(key) is not None:
        return (
            f"The serial {quoted_title(shown_slug(key))} is paused: this server's upload of it "
            "can no longer be read. An admin can upload the file again with `/serial library "
            "replace`; the serial then continues where it left off."
        )
    return (
        f"The serial {quoted_title(key)} is paused: its story file is no longer in the "
        "library. It continues by itself, where it left off, once the file is back."
    )


def back_notice(title: str) -> str:
    return (
        f"{quoted_title(title)} is back in the library: this channel continues where it left off."
    )


def unsure_notice(title: str, reason: str) -> str:
    return (
        f"The serial {quoted_title(title)} is paused: {_reason(reason)}. An admin can choose "
        "the part to continue from with /serial jump."
    )


def edited_notice(title: str, change: Change, first: int, total: int) -> str:
    """What an edit changed around the channel's place, and how its parts are numbered now."""
    sides = []
    before = _words_changed(change.added_before, change.removed_before, change.rewritten_before)
    if before:
        sides.append(f"{before} before where this channel is")
    after = _words_changed(change.added_after, change.removed_after, change.rewritten_after)
    if after:
        sides.append(f"{after} after it")
    if change.moved_unread:
        paragraphs = _count(change.moved_unread, "paragraph")
        sides.append(
            f"{paragraphs} this channel had not reached now "
            f"{'stand' if change.moved_unread > 1 else 'stands'} before it and will not be posted"
        )
    what = "; ".join(sides) if sides else "its words are the same"
    if first > total:
        rest = "this channel has received all of it"
    elif first == total:
        rest = f"the rest is now part {first}"
    else:
        rest = f"the rest is now parts {first}–{total}"
    return f"{quoted_title(title)} was edited: {what}; {rest}."


def _words_changed(added: int, removed: int, rewritten: int) -> str:
    said = [
        f"{_count(n, 'word')} {verb}"
        for n, verb in ((added, "added"), (removed, "removed"), (rewritten, "rewritten"))
        if n
    ]
    if len(said) > 1:
        return ", ".join(said[:-1]) + " and " + said[-1]
    return said[0] if said else ""


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 1:
        return f"{int(span.total_seconds())} seconds"
    if minutes < 120 or minutes % 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    return f"{hours} hours"


def _reason(reason: str | None) -> str:
    return shorten(reason or "by an admin", REASON_SHOWN)
