"""Requests that cannot be done; each message tells the user what to do instead."""

from __future__ import annotations

from bot.limits import ARCHIVE_MINUTES, quoted_title
from bot.store import Subscription


class SerialError(Exception):
    """A request that cannot be done; the message tells the user what to do instead."""


class NotSubscribed(SerialError):
    def __init__(self, channel_id: int) -> None:
        super().__init__(
            "This channel does not follow a serial. An admin can start one with /serial subscribe."
        )
        self.channel_id = channel_id


class AlreadySubscribed(SerialError):
    def __init__(self, subscription: Subscription, title: str) -> None:
        super().__init__(
            f"This channel already follows {quoted_title(title)}. To switch stories, use "
            "/serial unsubscribe first; to move within it, /serial jump or /serial restart."
        )
        self.subscription = subscription
        self.title = title


class UnknownStory(SerialError):
    def __init__(self, slug: str) -> None:
        shown = slug if len(slug) <= 60 else slug[:59] + "…"
        super().__init__(
            f"There is no story “{shown}” in the library. /serial stories lists the stories "
            "this bot can post."
        )
        self.slug = slug


class PartOutOfRange(SerialError):
    def __init__(self, part: int, total: int, title: str) -> None:
        valid = "part 1" if total == 1 else f"parts 1 to {total}"
        super().__init__(
            f"There is no part {part}: {quoted_title(title)} has {valid}. Pick one of those."
        )
        self.part = part
        self.total = total


class BadArchiveDuration(SerialError):
    def __init__(self) -> None:
        super().__init__(
            f"Threads can auto-archive after {_listed(ARCHIVE_MINUTES)} minutes "
            "(an hour, a day, three days or a week); pick one of those."
        )


def _listed(values: tuple[int, ...]) -> str:
    return ", ".join(str(v) for v in values[:-1]) + f" or {values[-1]}"
