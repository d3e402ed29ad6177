"""The contract between the scheduler and whatever shows a part to readers (Discord, the console
demo, a test recorder). The scheduler never imports Discord; it calls a ``Poster``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from bot.story import Part, Serial


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a post goes: the channel, the server it belongs to (where a notice falls back to),
    and how long the threads opened there stay open (``None``: the poster's default)."""

    guild_id: int
    channel_id: int
    thread_archive_minutes: int | None = None
    # Who subscribed the channel: told directly when the server has no better place for a notice.
    admin_id: int | None = None


@dataclass(frozen=True, slots=True)
class Delivered:
    message_ids: tuple[int, ...]
    thread_id: int | None = None


class PostError(Exception):
    """A part could not be posted. ``reason`` is said to admins (status, notices). Each subclass
    has one meaning for the scheduler; a bare ``PostError`` (from a poster that does not say)
    is taken as passing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PostRefused(PostError):
    """The platform refused the post as it stands (a locked thread, a forum that requires a
    tag, content it rejects, a missing permission): asking again gets the same answer, and
    every refusal counts towards an IP ban. Pause with the reason and tell the admins once."""


class PostForbidden(PostRefused):
    """We lack access or permissions: pause until an admin resumes, never retry in a loop."""


class ChannelGone(PostError):
    """The channel (or the whole guild) is no longer there for us: pause, do not retry."""


class PostDelayed(PostError):
    """Rate limited, or the platform told the whole bot to stop for a while: nothing is wrong
    with this post. Every post waits ``retry_after`` seconds, then goes as planned."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PostTransient(PostError):
    """Server errors, time-outs, a lost connection, an odd answer: try again later with
    backoff."""


class Poster(Protocol):
    async def post_part(
        self, destination: Destination, serial: Serial, part: Part, *, nonce: str
    ) -> Delivered:
        """Post ``part`` to the destination channel. ``nonce`` is deterministic for this
        (channel, story, part), so repeating a post after a crash does not duplicate it."""
        ...

    async def post_end(self, destination: Destination, serial: Serial, *, nonce: str) -> None:
        """Close the serial: "The End" and the story's summary, after the last part."""
        ...

    async def post_notice(self, destination: Destination, text: str) -> None:
        """A short message from the bot itself to the channel's admins and readers (a pause
        because permissions are missing, say). Best effort: may raise ``PostError``."""
        ...


@runtime_checkable
class ResumingPoster(Poster, Protocol):
    """A poster that can finish a part an earlier attempt may have left half-posted, after the
    platform's own repeat protection (the nonce window) has run out."""

    async def resume_part(
        self, destination: Destination, serial: Serial, part: Part, *, nonce: str
    ) -> Delivered:
        """Like ``post_part``, for a part whose earlier attempt may have reached the channel in
        whole or in part: what is already there is kept, and only the rest is posted."""
        ...
