"""Posting installments to Discord: the ``Poster`` the scheduler calls.

A text or announcement channel gets the part's header and text as plain messages, then a public
thread on the header for discussion, so talk about part 3 never sits under part 4. A forum channel
gets one post per part (the header opens it, the text follows inside).

Every message carries a nonce derived from the part's nonce; discord.py then sends
``enforce_nonce``, and Discord answers a repeat (after a crash, say) with the message it already
has instead of a second copy. Discord keeps nonces for a few minutes only, so a part attempted
again after longer (``resume_part``) is first looked for in the channel's recent history: the
bot's own messages since its last installment that read as the start of this part are kept, and
only the rest is sent. The closing message is always looked for first.

Failures are translated into the typed errors of ``bot.poster`` by Discord's error codes, not
the status alone: a refusal (a locked thread, a forum requiring tags, invalid content, a missing
permission) pauses the serial; an unknown channel means it is gone; any other 404, a 5xx or the
network is a passing failure; a 429 or a ban only delays the post (the pacer in
``bot.frontend.pacing`` holds every request meanwhile). Nothing is retried here, and 429s are
left to discord.py. A post that takes longer than ``post_timeout`` (Discord hanging) is given up
as a passing failure; the retry's nonces and history check keep it from doubling.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import discord

from bot.frontend import permissions
from bot.frontend.pacing import RestPaused
from bot.limits import (
    ARCHIVE_MINUTES,
    MESSAGE_LIMIT,
    NONCE_LIMIT,
    THREAD_NAME_LIMIT,
    shorten,
)
from bot.poster import (
    ChannelGone,
    Delivered,
    PostDelayed,
    PostError,
    PostForbidden,
    PostRefused,
    PostTransient,
)
from bot.render import render_end, render_part

if TYPE_CHECKING:
    from bot.pacing import RestHealth
    from bot.poster import Destination
    from bot.story import Part, Serial

log = logging.getLogger(__name__)

NONCE_MAX = NONCE_LIMIT
# Discord keeps nonces for "a few minutes"; a forum post (which cannot carry a nonce) found
# within this window is taken to be our own earlier attempt at the same part.
REPEAT_WINDOW = timedelta(minutes=2)
ARCHIVE_DURATIONS = ARCHIVE_MINUTES
MESSAGE_MAX = MESSAGE_LIMIT
# How far back a repeated post looks for what an earlier attempt posted. The look stops at the
# bot's last installment opening, which is nearly always on the first page of 100.
HISTORY_SCAN = 500
POST_TIMEOUT_SECONDS = 120.0

_MISSING_ACCESS = 50001
_UNKNOWN_MESSAGE = 10008
_THREAD_ALREADY_CREATED = 160004
_BANNED = 40333
# When Discord limits the bot without saying for how long, a post waits this long.
DELAY_WITHOUT_WAIT = 60.0

# Discord's error codes, by what they mean for a post. The sentences finish "The serial ... is
# paused: <reason>." in notices and status.
_GONE_CODES = {
    10003: "{where} was deleted",
    10004: "the server is no longer there for the bot",
}
_PERMISSION_CODES = frozenset({50001, 50013})
_DELAY_CODES = frozenset({20028, 20016})  # channel write limit, slowmode
_PASSING_CODES = frozenset({130000})  # API resource overloaded
_REFUSALS = {
    160005: "a thread the part goes into in {where} is locked; unlock it",
    40067: (
        "{where} requires a tag on every post; turn off “Require tags” in the forum's settings"
    ),
    40058: "{where} takes only posts, not messages",
    50083: "the thread in {where} is archived",
    160006: "{where} has too many active threads; archive some",
    50035: "Discord rejected the post's content as invalid",
    50006: "Discord rejected an empty message",
}

PostableChannel = discord.TextChannel | discord.ForumChannel

# The start of an installment as ``bot.render`` writes it: a header ("**Title**", then
# "Part n of N · ...") or the closing message. Anything the bot posted after one of these belongs
# to that installment or to a later one, never to an earlier one.
_HEADER = re.compile(r"\A\*\*[^\n]*\*\*[^\n]*\nPart \d+ of \d+ · ")
_THE_END = re.compile(r"\A\*\*The End\*\*\n")


def is_installment_start(content: str) -> bool:
    """Whether a message of the bot opens an installment (a part's header or the closing
    message), as opposed to a notice or the text of a part."""
    return bool(_HEADER.match(content) or _THE_END.match(content))


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
        rendered = render_part(serial, part, limit=MESSAGE_MAX)
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
        text = render_end(serial, limit=MESSAGE_MAX)
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
        text = shorten(text, MESSAGE_MAX)
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
                    await fallback.send(shorten(about, MESSAGE_MAX))
                return
            except PostError as error:
                first_error = first_error or error
        if destination.admin_id is None:
            raise first_error or PostForbidden("no channel to send a notice to")
        where = f" in {guild.name}" if guild is not None else ""
        direct = shorten(f"About <#{destination.channel_id}>{where}: {text}", MESSAGE_MAX)
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

    async def _already_posted(
        self, channel: discord.TextChannel | discord.Thread, texts: Sequence[str]
    ) -> list[discord.Message]:
        """The messages of ``texts`` (an installment, its opening message first) that the bot
        already posted in ``channel``, in order: the start of ``texts`` found after the bot's
        last installment opening. Other messages in between (readers, answers to commands,
        notices) do not matter."""
        me = self._client.user
        if me is None:
            return []
        wanted = [t.strip() for t in texts]
        ours: list[discord.Message] = []
        async for message in channel.history(limit=HISTORY_SCAN):  # newest first
            if (
                message.author.id != me.id
                or message.type is not discord.MessageType.default
                or message.interaction_metadata is not None
            ):
                continue
            ours.append(message)
            if is_installment_start(message.content):
                break
        ours.reverse()
        if not ours or ours[0].content.strip() != wanted[0]:
            return []
        found = [ours[0]]
        for message in ours[1:]:
            if len(found) < len(wanted) and message.content.strip() == wanted[len(found)]:
                found.append(message)
        return found

    async def _open_thread(
        self, channel: discord.TextChannel, message_id: int, name: str, minutes: int
    ) -> int | None:
        try:
            thread = await channel.get_partial_message(message_id).create_thread(
                name=name,
                auto_archive_duration=archive_duration(minutes),  # type: ignore[arg-type]
            )
        except discord.HTTPException as error:
            if error.code == _THREAD_ALREADY_CREATED:
                # A repeat after a crash: the thread is there, and its id is the message's.
                return message_id
            if error.code == _UNKNOWN_MESSAGE:
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
        thread = await self._recent_post(forum, name, resume=resume)
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

    async def _recent_post(
        self, forum: discord.ForumChannel, name: str, *, resume: bool = False
    ) -> discord.Thread | None:
        """Our own post with this name that an earlier attempt made, if any. Forum posts cannot
        carry a nonce: a post with this name made within the repeat window is taken to be ours,
        and when resuming, so is the bot's newest active post, whatever its age, if it has this
        name."""
        me = self._client.user
        if me is None:
            return None
        threads = {t.id: t for t in forum.threads}
        if resume:
            # Start-up repairs run before the gateway has filled the cache: ask Discord.
            for thread in await forum.guild.active_threads():
                if thread.parent_id == forum.id:
                    threads.setdefault(thread.id, thread)
        own = sorted((t for t in threads.values() if t.owner_id == me.id), key=lambda t: t.id)
        if resume and own and own[-1].name == name:
            return own[-1]
        cutoff = discord.utils.utcnow() - REPEAT_WINDOW
        for thread in own:
            if thread.name == name and discord.utils.snowflake_time(thread.id) >= cutoff:
                return thread
        return None

    @contextlib.contextmanager
    def _translate(self, channel: discord.abc.GuildChannel | None) -> Iterator[None]:
        """Discord's and the network's failures as the scheduler's typed errors, by Discord's
        error code where there is one, not by the status alone."""
        where = f"#{channel.name}" if channel is not None else "the channel"
        try:
            yield
        except RestPaused as error:
            raise PostDelayed(f"delayed: {error.reason}", error.retry_after) from error
        except discord.RateLimited as error:
            raise PostDelayed(
                f"delayed: rate limited for {error.retry_after:.0f} s", error.retry_after
            ) from error
        except discord.HTTPException as error:
            raise self._classify(error, channel, where) from error
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise PostTransient(f"network error: {error.__class__.__name__}") from error
        except PostError:
            raise
        except Exception as error:
            # An answer discord.py did not expect (a ban's 429 without ``retry_after``) while
            # Discord has the bot on hold: the post waits with every other.
            held = self._health.paused_for() if self._health is not None else 0.0
            if held <= 0:
                raise
            pause = self._health.pause if self._health is not None else None
            reason = pause.reason if pause is not None else "Discord is limiting the bot"
            raise PostDelayed(f"delayed: {reason}", held) from error

    def _classify(
        self, error: discord.HTTPException, channel: discord.abc.GuildChannel | None, where: str
    ) -> PostError:
        status, code = error.status, error.code
        detail = f"{status}, code {code}: {error.text}" if error.text else f"{status}, code {code}"
        if status == 429 or code in _DELAY_CODES or code == _BANNED:
            wait = self._health.paused_for() if self._health is not None else 0.0
            return PostDelayed(
                f"delayed: Discord is limiting the bot ({detail})", wait or DELAY_WITHOUT_WAIT
            )
        if status >= 500 or code in _PASSING_CODES:
            return PostTransient(f"Discord server error ({detail})")
        if code in _GONE_CODES:
            return ChannelGone(_GONE_CODES[code].format(where=where))
        if status == 404:
            return PostTransient(f"Discord could not find something the post needs ({detail})")
        if status == 401:
            return PostTransient(f"Discord did not accept the bot's token ({detail})")
        if isinstance(error, discord.Forbidden) or code in _PERMISSION_CODES:
            return PostForbidden(self._forbidden_reason(channel, error))
        refusal = _REFUSALS.get(code)
        if refusal is not None:
            return PostRefused(refusal.format(where=where))
        return PostRefused(f"Discord refused the post in {where} ({detail})")

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
