"""Posting installments to Discord: the ``Poster`` the scheduler calls.

A text or announcement channel gets the part's header and text as plain messages, then a public
thread on the header for discussion, so talk about part 3 never sits under part 4. A forum channel
gets one post per part (the header opens it, the text follows inside).

Every message carries a nonce derived from the part's nonce; discord.py then sends
``enforce_nonce``, and Discord answers a repeat (after a crash, say) with the message it already
has instead of a second copy. Failures are translated into the typed errors of ``bot.poster`` so
the scheduler can tell "try later" from "pause and tell an admin"; a 403 or 404 is never retried
here, and 429s are left to discord.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import aiohttp
import discord

from bot.frontend import permissions
from bot.poster import ChannelGone, Delivered, PostError, PostForbidden, PostTransient
from bot.render import render_end, render_part

if TYPE_CHECKING:
    from bot.store import Subscription
    from bot.story import Part, Serial

log = logging.getLogger(__name__)

NONCE_MAX = 25
# Discord keeps nonces for "a few minutes"; a forum post (which cannot carry a nonce) found
# within this window is taken to be our own earlier attempt at the same part.
REPEAT_WINDOW = timedelta(minutes=2)
ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)
MESSAGE_MAX = 2000

_UNKNOWN_CHANNEL = 10003
_MISSING_ACCESS = 50001
_THREAD_ALREADY_CREATED = 160004

PostableChannel = discord.TextChannel | discord.ForumChannel


def message_nonce(part_nonce: str, index: int) -> str:
    """A nonce for the ``index``-th message of a post: stable across attempts, unique per
    message, and within Discord's 25 characters whatever the length of ``part_nonce``."""
    return hashlib.blake2b(f"{part_nonce}/{index}".encode(), digest_size=12).hexdigest()


def archive_duration(minutes: int) -> int:
    """The longest auto-archive duration Discord accepts that does not exceed ``minutes``."""
    fitting = [d for d in ARCHIVE_DURATIONS if d <= minutes]
    return fitting[-1] if fitting else ARCHIVE_DURATIONS[0]


class DiscordPoster:
    def __init__(
        self,
        client: discord.Client,
        *,
        auto_archive_minutes: int = 1440,
        threads: bool = True,
    ) -> None:
        self._client = client
        self._auto_archive_minutes = auto_archive_minutes
        self._threads = threads

    async def post_part(
        self, subscription: Subscription, serial: Serial, part: Part, *, nonce: str
    ) -> Delivered:
        rendered = render_part(serial, part, limit=MESSAGE_MAX)
        minutes = subscription.thread_archive_minutes or self._auto_archive_minutes
        channel = await self._channel(subscription.channel_id)
        with self._translate(channel):
            if isinstance(channel, discord.ForumChannel):
                return await self._forum_post(
                    channel,
                    rendered.thread_name,
                    rendered.header,
                    rendered.messages,
                    nonce=nonce,
                    minutes=minutes,
                )
            ids = [
                (await channel.send(text, nonce=message_nonce(nonce, i))).id
                for i, text in enumerate((rendered.header, *rendered.messages))
            ]
            thread_id = (
                await self._open_thread(channel, ids[0], rendered.thread_name, minutes)
                if self._threads
                else None
            )
            log.debug(
                "posted %s part %s to channel %s (%s messages, thread %s)",
                serial.slug,
                part.index,
                channel.id,
                len(ids),
                thread_id,
            )
            return Delivered(message_ids=tuple(ids), thread_id=thread_id)

    async def post_end(self, subscription: Subscription, serial: Serial, *, nonce: str) -> None:
        text = render_end(serial, limit=MESSAGE_MAX)
        channel = await self._channel(subscription.channel_id)
        with self._translate(channel):
            if isinstance(channel, discord.ForumChannel):
                name = f"{serial.story.title} · The End"[:100]
                minutes = subscription.thread_archive_minutes or self._auto_archive_minutes
                await self._forum_post(channel, name, text, (), nonce=nonce, minutes=minutes)
            else:
                await channel.send(text, nonce=message_nonce(nonce, 0))

    async def post_notice(self, subscription: Subscription, text: str) -> None:
        """Say it in the channel; where that is impossible (a forum, lost permissions, a deleted
        channel) fall back to the server's system channel."""
        text = text[:MESSAGE_MAX]
        first_error: PostError | None = None
        try:
            channel = await self._channel(subscription.channel_id)
            if isinstance(channel, discord.TextChannel):
                with self._translate(channel):
                    await channel.send(text)
                return
        except PostError as error:
            first_error = error
        guild = self._client.get_guild(subscription.guild_id)
        fallback = guild.system_channel if guild is not None else None
        if fallback is None or fallback.id == subscription.channel_id:
            raise first_error or PostForbidden("no channel to send a notice to")
        with self._translate(fallback):
            await fallback.send(f"About <#{subscription.channel_id}>: {text}"[:MESSAGE_MAX])

    async def _channel(self, channel_id: int) -> PostableChannel:
        if self._client.is_closed():
            raise PostTransient("the bot is shutting down")
        # Before the gateway is ready (start-up repairs run then) the cache is empty; REST works.
        channel = self._client.get_channel(channel_id)
        if channel is None:
            with self._translate(None):
                channel = await self._client.fetch_channel(channel_id)
        if not isinstance(channel, PostableChannel):
            raise ChannelGone(f"channel {channel_id} is no longer a text or forum channel")
        return channel

    async def _open_thread(
        self, channel: discord.TextChannel, message_id: int, name: str, minutes: int
    ) -> int:
        try:
            thread = await channel.get_partial_message(message_id).create_thread(
                name=name,
                auto_archive_duration=archive_duration(minutes),  # type: ignore[arg-type]
            )
        except discord.HTTPException as error:
            if error.code == _THREAD_ALREADY_CREATED:
                # A repeat after a crash: the thread is there, and its id is the message's.
                return message_id
            raise
        return thread.id

    async def _forum_post(
        self,
        forum: discord.ForumChannel,
        name: str,
        header: str,
        messages: tuple[str, ...],
        *,
        nonce: str,
        minutes: int,
    ) -> Delivered:
        thread = self._recent_post(forum, name)
        if thread is None:
            thread, _ = await forum.create_thread(
                name=name,
                content=header,
                auto_archive_duration=archive_duration(minutes),  # type: ignore[arg-type]
            )
        else:
            log.info(
                "forum %s already has post %r from a moment ago; continuing it", forum.id, name
            )
        ids = [thread.id]  # a forum post's starter message shares the thread's id
        for i, text in enumerate(messages, start=1):
            ids.append((await thread.send(text, nonce=message_nonce(nonce, i))).id)
        return Delivered(message_ids=tuple(ids), thread_id=thread.id)

    def _recent_post(self, forum: discord.ForumChannel, name: str) -> discord.Thread | None:
        """Our own post with this name made within the repeat window, if any. Forum posts cannot
        carry a nonce, so this is how a repeat after a crash avoids a second post."""
        me = self._client.user
        cutoff = discord.utils.utcnow() - REPEAT_WINDOW
        for thread in forum.threads:
            if (
                thread.name == name
                and me is not None
                and thread.owner_id == me.id
                and discord.utils.snowflake_time(thread.id) >= cutoff
            ):
                return thread
        return None

    @contextlib.contextmanager
    def _translate(self, channel: discord.abc.GuildChannel | None) -> Iterator[None]:
        """Discord's and the network's failures as the scheduler's typed errors."""
        where = f"#{channel.name}" if channel is not None else "the channel"
        try:
            yield
        except discord.NotFound as error:
            if error.code == _UNKNOWN_CHANNEL:
                raise ChannelGone(f"{where} was deleted") from error
            raise ChannelGone(f"{where} or its messages are gone ({error.text})") from error
        except discord.Forbidden as error:
            raise PostForbidden(self._forbidden_reason(channel, error)) from error
        except discord.DiscordServerError as error:
            raise PostTransient(f"Discord server error {error.status}") from error
        except discord.RateLimited as error:
            raise PostTransient(f"rate limited for {error.retry_after:.0f}s") from error
        except discord.HTTPException as error:
            if error.status >= 500:
                raise PostTransient(f"Discord server error {error.status}") from error
            # A request Discord will refuse again as it stands (a locked thread, too many active
            # threads): stop and let an admin look, rather than repeat it.
            raise PostError(f"Discord refused the post in {where}: {error.text}") from error
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise PostTransient(f"network error: {error.__class__.__name__}") from error

    def _forbidden_reason(
        self, channel: discord.abc.GuildChannel | None, error: discord.Forbidden
    ) -> str:
        if channel is None:
            return "the bot cannot see the channel (needs View Channel)"
        where = f"#{channel.name}"
        me = channel.guild.me
        lacking = (
            permissions.missing(channel.permissions_for(me), permissions.required_for(channel))
            if me is not None
            else []
        )
        if lacking:
            return f"the bot is missing {', '.join(lacking)} in {where}"
        if error.code == _MISSING_ACCESS:
            return f"the bot cannot see {where} (needs View Channel)"
        return f"the bot is missing a permission in {where} ({error.text})"
