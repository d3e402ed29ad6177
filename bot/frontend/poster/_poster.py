"""``DiscordPoster``: a part, the closing message or a notice, posted to a text or forum channel."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import discord

from bot.frontend.poster._earlier import already_posted, recent_post
from bot.frontend.poster._failures import (
    THREAD_ALREADY_CREATED,
    UNKNOWN_MESSAGE,
    translate_failures,
)
from bot.limits import ARCHIVE_MINUTES, MESSAGE_LIMIT, THREAD_NAME_LIMIT, shorten
from bot.poster import ChannelGone, Delivered, PostError, PostForbidden, PostTransient
from bot.render import render_end, render_part

if TYPE_CHECKING:
    from bot.pacing import RestHealth
    from bot.poster import Destination
    from bot.story import Part, Serial

log = logging.getLogger(__name__)

POST_TIMEOUT_SECONDS = 120.0

PostableChannel = discord.TextChannel | discord.ForumChannel


def message_nonce(part_nonce: str, index: int) -> str:
    """A nonce for the ``index``-th message of a post: stable across attempts, unique per
    message, and within Discord's 25 characters whatever the length of ``part_nonce``."""
    return hashlib.blake2b(f"{part_nonce}/{index}".encode(), digest_size=12).hexdigest()


def archive_duration(minutes: int) -> int:
    """The longest auto-archive duration Discord accepts that does not exceed ``minutes``."""
    fitting = [d for d in ARCHIVE_MINUTES if d <= minutes]
    return fitting[-1] if fitting else ARCHIVE_MINUTES[0]


class DiscordPoster:
    def __init__(
        self,
        client: discord.Client,
        *,
        auto_archive_minutes: int = 1440,
        threads: bool = True,
        post_timeout: float = POST_TIMEOUT_SECONDS,
        health: RestHealth | None = None,
    ) -> None:
        self._client = client
        self._health = health
        self._auto_archive_minutes = auto_archive_minutes
        self._threads = threads
        self.post_timeout = post_timeout
        # Buttons for a part's first message (its "Read" button), given the part's nonce.
        self.header_view: Callable[[str], discord.ui.View] | None = None

    def _header(self, nonce: str, index: int) -> dict[str, Any]:
        if index or self.header_view is None:
            return {}
        return {"view": self.header_view(nonce)}

    async def post_part(
        self, destination: Destination, serial: Serial, part: Part, *, nonce: str
    ) -> Delivered:
        return await self._post_part(destination, serial, part, nonce=nonce, resume=False)

    async def resume_part(
        self, destination: Destination, serial: Serial, part: Part, *, nonce: str
    ) -> Delivered:
        return await self._post_part(destination, serial, part, nonce=nonce, resume=True)

    async def _post_part(
        self, destination: Destination, serial: Serial, part: Part, *, nonce: str, resume: bool
    ) -> Delivered:
        rendered = render_part(serial, part, limit=MESSAGE_LIMIT)
        minutes = destination.thread_archive_minutes or self._auto_archive_minutes
        channel = await self._channel(destination.channel_id)
        with self._translate(channel):
            async with asyncio.timeout(self.post_timeout):
                if isinstance(channel, discord.ForumChannel):
                    return await self._forum_post(
                        channel,
                        rendered.thread_name,
                        rendered.header,
                        rendered.messages,
                        nonce=nonce,
                        minutes=minutes,
                        resume=resume,
                    )
                texts = (rendered.header, *rendered.messages)
                found = await self._already_posted(channel, texts) if resume else []
                ids = [m.id for m in found]
                for i in range(len(found), len(texts)):
                    sent = await channel.send(
                        texts[i], nonce=message_nonce(nonce, i), **self._header(nonce, i)
                    )
                    ids.append(sent.id)
                thread_id: int | None = None
                if self._threads:
                    existing = found[0].thread if found else None
                    thread_id = (
                        existing.id
                        if existing is not None
                        else await self._open_thread(channel, ids[0], rendered.thread_name, minutes)
                    )
        if found:
            log.info(
                "part %s of %s was already in channel %s (%s of %s messages); posted the rest",
                part.index,
                serial.slug,
                channel.id,
                len(found),
                len(texts),
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

    async def post_end(self, destination: Destination, serial: Serial, *, nonce: str) -> None:
        """The closing message, unless the channel's last installment message already is it (an
        earlier attempt got through, however long ago)."""
        text = render_end(serial, limit=MESSAGE_LIMIT)
        channel = await self._channel(destination.channel_id)
        with self._translate(channel):
            async with asyncio.timeout(self.post_timeout):
                if isinstance(channel, discord.ForumChannel):
                    name = shorten(f"{serial.story.title} · The End", THREAD_NAME_LIMIT)
                    minutes = destination.thread_archive_minutes or self._auto_archive_minutes
                    await self._forum_post(
                        channel, name, text, (), nonce=nonce, minutes=minutes, resume=True
                    )
                elif await self._already_posted(channel, (text,)):
                    log.info("channel %s already has the closing message", channel.id)
                else:
                    await channel.send(text, nonce=message_nonce(nonce, 0))

    async def post_notice(self, destination: Destination, text: str) -> None:
        """Say it in the channel; where that is impossible (a forum, lost permissions, a deleted
        channel) fall back to the server's system channel, and without one (or when that fails
        too) to a direct message to the admin who subscribed the channel."""
        text = shorten(text, MESSAGE_LIMIT)
        first_error: PostError | None = None
        try:
            channel = await self._channel(destination.channel_id)
            if isinstance(channel, discord.TextChannel):
                with self._translate(channel):
                    await channel.send(text)
                return
        except PostError as error:
            first_error = error
        about = f"About <#{destination.channel_id}>: {text}"
        guild = self._client.get_guild(destination.guild_id)
        fallback = guild.system_channel if guild is not None else None
        if fallback is not None and fallback.id != destination.channel_id:
            try:
                with self._translate(fallback):
                    await fallback.send(shorten(about, MESSAGE_LIMIT))
                return
            except PostError as error:
                first_error = first_error or error
        if destination.admin_id is None:
            raise first_error or PostForbidden("no channel to send a notice to")
        where = f" in {guild.name}" if guild is not None else ""
        direct = shorten(f"About <#{destination.channel_id}>{where}: {text}", MESSAGE_LIMIT)
        admin_id = destination.admin_id
        with self._translate(None):
            admin = self._client.get_user(admin_id) or await self._client.fetch_user(admin_id)
            await admin.send(direct)

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
    ) -> int | None:
        try:
            thread = await channel.get_partial_message(message_id).create_thread(
                name=name,
                auto_archive_duration=archive_duration(minutes),  # type: ignore[arg-type]
            )
        except discord.HTTPException as error:
            if error.code == THREAD_ALREADY_CREATED:
                # A repeat after a crash: the thread is there, and its id is the message's.
                return message_id
            if error.code == UNKNOWN_MESSAGE:
                # Someone deleted the header between the post and its thread: the part is out,
                # posting it again would double it. It goes without a thread.
                log.warning(
                    "the header of a part in channel %s was deleted before its thread opened",
                    channel.id,
                )
                return None
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
        resume: bool = False,
    ) -> Delivered:
        thread = await recent_post(self._client.user, forum, name, resume=resume)
        found: list[discord.Message] = []
        if thread is None:
            thread, _ = await forum.create_thread(
                name=name,
                content=header,
                auto_archive_duration=archive_duration(minutes),  # type: ignore[arg-type]
                **self._header(nonce, 0),
            )
        else:
            log.info(
                "forum %s already has post %r from an earlier attempt; continuing it",
                forum.id,
                name,
            )
            if messages:
                # The starter message is the post itself; look for the rest after it.
                found = (await self._already_posted(thread, (header, *messages)))[1:]
        ids = [thread.id]  # a forum post's starter message shares the thread's id
        ids.extend(m.id for m in found)
        for i in range(len(found) + 1, len(messages) + 1):
            ids.append((await thread.send(messages[i - 1], nonce=message_nonce(nonce, i))).id)
        return Delivered(message_ids=tuple(ids), thread_id=thread.id)

    def _translate(self, channel: discord.abc.GuildChannel | None) -> AbstractContextManager[None]:
        return translate_failures(channel, self._health)

    async def _already_posted(
        self, channel: discord.TextChannel | discord.Thread, texts: Sequence[str]
    ) -> list[discord.Message]:
        return await already_posted(self._client.user, channel, texts)
