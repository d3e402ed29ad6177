"""Reading together on Discord: the public vote message, the buttons' answers, each part's thread
opening message and hand-off, and DM reminders. The decisions are ``bot.together``'s; this
module shows them.

Every press is answered within Discord's 3 seconds: a vote press is acknowledged (a deferred
update) before the request is weighed, since weighing may post a part; a read press needs only
a few reads and one write. Messages that change with presses (the vote, a thread's read count)
are edited through ``EditCoalescer``: at most once a second each, with the newest state.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import discord
from discord.utils import format_dt

from bot import pacing
from bot.frontend.coalesce import EditCoalescer
from bot.frontend.views import MarkAllReadButton, NextPartButton, VoteButton, view_of
from bot.limits import MESSAGE_LIMIT
from bot.scheduler import SerialError
from bot.together import (
    ReadingTogether,
    count_of,
    hand_off_text,
    opener_text,
    plural,
    reminder_text,
    vote_text,
)

if TYPE_CHECKING:
    from bot.frontend.client import SerialBot
    from bot.scheduler import PartPosted
    from bot.store import Delivery, Vote

log = logging.getLogger(__name__)

Interaction = discord.Interaction["SerialBot"]

_CANNOT_SEND_TO_USER = 50007
_UNKNOWN_MESSAGE = 10008
_LAPSE_RETRY_SECONDS = 5.0
# How long a shutdown waits for the after-post messages, edits and DMs under way.
STOP_GRACE_SECONDS = 1.0

STALE_BUTTON = (
    "That button belongs to something this channel no longer has (an old vote or reading, or "
    "another channel's); nothing was done."
)
UNKNOWN_BUTTON = "That button is not one of mine, or no longer works; nothing was done."


async def send_alone(interaction: discord.Interaction[Any], text: str) -> None:
    """Answer only the member who pressed, whether or not the press was answered yet."""
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True)
    else:
        await interaction.response.send_message(text, ephemeral=True)


def message_link(guild_id: int, channel_id: int, message_id: int) -> str:
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def home_channel_id(interaction: discord.Interaction[Any]) -> int:
    """The channel the parts go to: a thread's parent, or the channel itself."""
    channel = interaction.channel
    if isinstance(channel, discord.Thread) and channel.parent_id is not None:
        return channel.parent_id
    assert interaction.channel_id is not None
    return interaction.channel_id


def _nonce(base: str, what: str) -> str:
    return hashlib.blake2b(f"{base}/{what}".encode(), digest_size=12).hexdigest()


class ReadingRoom:
    def __init__(self, bot: SerialBot, *, discussion_rule: str, edit_interval: float = 1.0) -> None:
        self.bot = bot
        self.discussion_rule = discussion_rule
        self.edits = EditCoalescer(edit_interval)
        self._core: ReadingTogether | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lapses: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        # Members to tell that a DM reminder failed, kept here so that a command costs no
        # database read unless there is something to say.
        self._to_tell: set[int] = set()

    @property
    def core(self) -> ReadingTogether:
        if self._core is None:
            raise RuntimeError("reading together starts in setup_hook")
        return self._core

    async def start(self, core: ReadingTogether) -> None:
        self._core = core
        self._to_tell = await core.members_to_tell()
        self._lapses = asyncio.create_task(self._lapse_loop(), name="vote-lapses")

    async def stop(self) -> None:
        if self._lapses is not None:
            self._lapses.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lapses
            self._lapses = None
        try:
            async with asyncio.timeout(STOP_GRACE_SECONDS):
                await self.settled()
        except TimeoutError:
            # Discord is slow to take the last edits and DMs: they are best effort, drop them.
            log.warning("Stopping with thread messages, edits or DMs not sent")
            for task in self._tasks:
                task.cancel()
            self.edits.cancel()

    async def settled(self) -> None:
        """Wait until the work started so far (after-post messages, DMs, edits) is done."""
        while self._tasks or self.edits._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
            await self.edits.flush()

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("%s failed", task.get_name(), exc_info=error)

    async def answer(self, interaction: Interaction, work: Coroutine[Any, Any, None]) -> None:
        """Run a button's work; whatever goes wrong, the member gets an answer saying so."""
        try:
            await work
        except SerialError as error:
            text = str(error)
        except Exception:
            log.exception("A button press failed")
            text = "Sorry, something went wrong on our side. It has been logged; try again soon."
        else:
            return
        try:
            await send_alone(interaction, text)
        except discord.HTTPException:
            log.warning("could not tell the member about an error", exc_info=True)

    def part_link(self, guild_id: int, channel_id: int, message_id: int) -> str:
        """A link to a part's first message. In a forum that message opens the part's post,
        whose id it shares, and lives in the post rather than the forum."""
        where = channel_id
        if isinstance(self.bot.get_channel(channel_id), discord.ForumChannel):
            where = message_id
        return message_link(guild_id, where, message_id)

    # --- the vote ------------------------------------------------------------------------------

    def show_vote(self, vote: Vote) -> None:
        """Bring the vote's public message up to date (posting it the first time)."""
        self.edits.request(("vote", vote.id), lambda: self._render_vote(vote.id))
        self._wake.set()

    async def _render_vote(self, vote_id: int) -> None:
        vote = await self.core.vote(vote_id)
        if vote is None:
            return
        place = await self._vote_place(vote)
        if place is None:
            return
        text = await self._vote_text(vote)
        view = view_of(VoteButton(vote.id)) if vote.state == "open" else None
        channel = self.bot.get_partial_messageable(place, guild_id=vote.guild_id)
        if vote.message_id is None:
            if vote.state != "open":
                return
            sent = await channel.send(text, view=view)  # type: ignore[arg-type]
            await self.core.vote_shown(vote.id, sent.id)
            return
        try:
            await channel.get_partial_message(vote.message_id).edit(content=text, view=view)
        except discord.NotFound as error:
            if error.code != _UNKNOWN_MESSAGE or vote.state != "open" or vote.reposted:
                return
            # A moderator deleted it: the vote goes on, shown once more.
            sent = await channel.send(text, view=view)  # type: ignore[arg-type]
            await self.core.vote_shown(vote.id, sent.id, reposted=True)
            log.info("The vote message in channel %s was deleted; posted it again", vote.channel_id)

    async def _vote_place(self, vote: Vote) -> int | None:
        """Where the vote is shown: its channel, or, in a forum (which takes no plain
        messages), the post of the part before the one voted for."""
        if not isinstance(self.bot.get_channel(vote.channel_id), discord.ForumChannel):
            return vote.channel_id
        previous = await self.core.scheduler.posted_part(vote.channel_id, vote.part - 1)
        return previous.thread_id if previous is not None else None

    async def _vote_text(self, vote: Vote) -> str:
        who = f"<@{vote.opened_by}>"
        if vote.state == "open":
            votes = await self.core.votes_for(vote)
            until = format_dt(vote.closes_at, "t")
            return vote_text(vote, votes, self.core.quorum, who=who, until=until)
        link = None
        if vote.state == "posted":
            delivery = await self.core.scheduler.posted_part(vote.channel_id, vote.part)
            if delivery is not None and delivery.message_ids:
                link = self.part_link(vote.guild_id, vote.channel_id, delivery.message_ids[0])
        return vote_text(
            vote, vote.asked, self.core.quorum, who=who, link=link, window=self.core.window
        )

    async def vote_pressed(self, interaction: Interaction, vote_id: int) -> None:
        vote = await self.core.vote(vote_id)
        channel_id = home_channel_id(interaction)
        if vote is None or vote.channel_id != channel_id or interaction.guild_id is None:
            await interaction.response.send_message(STALE_BUTTON, ephemeral=True)
            return
        if vote.state != "open":
            await interaction.response.send_message(
                f"The vote for Part {vote.part} has ended. Ask again with `/serial next`.",
                ephemeral=True,
            )
            return
        if interaction.user.bot or not interaction.permissions.view_channel:
            await interaction.response.send_message(
                "Only members who can read this channel count towards its vote.", ephemeral=True
            )
            return
        # Weighing the request may post a part, which can take longer than Discord waits.
        await interaction.response.defer()
        with pacing.urgent():  # a member is waiting: ahead of the scheduled posts
            ask = await self.core.ask(
                guild_id=interaction.guild_id, channel_id=channel_id, member_id=interaction.user.id
            )
        if ask.vote is not None:
            self.show_vote(ask.vote)
        if ask.already and ask.outcome.posted is None and ask.outcome.needed:
            await interaction.followup.send(
                f"You have already asked for Part {vote.part}: "
                f"{count_of(ask.outcome.votes, ask.outcome.needed)}.",
                ephemeral=True,
            )
        elif ask.outcome.posted is None and not ask.outcome.needed:
            current = await self.core.vote(vote_id)
            if current is not None and current.state == "open":
                await interaction.followup.send(ask.outcome.refused or "Not yet.", ephemeral=True)

    # --- read receipts -------------------------------------------------------------------------

    async def read_pressed(self, interaction: Interaction, nonce: str) -> None:
        channel_id = home_channel_id(interaction)
        mark = await self.core.mark_read(nonce, channel_id, interaction.user.id)
        if mark is None:
            await interaction.response.send_message(STALE_BUTTON, ephemeral=True)
            return
        part = mark.delivery.part
        if mark.new:
            text = f"Marked read: Part {part} ({plural(mark.readers, 'reader')} so far)."
        else:
            text = f"You had already marked Part {part} read."
        text += await self._what_next(channel_id, part)
        await interaction.response.send_message(text, ephemeral=True)
        if mark.new:
            delivery = mark.delivery
            self.edits.request(("opener", delivery.id), lambda: self._render_opener(delivery))

    async def _what_next(self, channel_id: int, part: int) -> str:
        status = await self.core.scheduler.status(channel_id)
        if status.next_part > part + 1:
            return f" Part {part + 1} is already out: `/serial read {part + 1}`."
        if status.next_due is not None:
            return f" Part {status.next_part} arrives {format_dt(status.next_due, 'R')}."
        return ""

    async def _render_opener(self, delivery: Delivery) -> None:
        opener = await self.core.thread_opener(delivery)
        if opener is None:
            return
        thread_id, message_id = opener
        text = await self._opener_text(delivery.channel_id, delivery.part)
        thread = self.bot.get_partial_messageable(thread_id)
        await thread.get_partial_message(message_id).edit(content=text)

    async def _opener_text(self, channel_id: int, part: int) -> str:
        status = await self.core.scheduler.status(channel_id)
        previous = await self.core.scheduler.posted_part(channel_id, part - 1) if part > 1 else None
        counts = await self.core.read_counts(channel_id)
        return opener_text(
            part,
            status.parts_total or part,
            rule=self.discussion_rule,
            previous_thread=f"<#{previous.thread_id}>" if previous and previous.thread_id else None,
            readers=counts.get(part, 0),
        )

    # --- catch-up and paging -------------------------------------------------------------------

    async def catchup(self, interaction: Interaction) -> None:
        channel_id = home_channel_id(interaction)
        assert interaction.guild_id is not None
        await self.core.scheduler.status(channel_id)  # NotSubscribed says what to do
        unread = await self.core.unread(channel_id, interaction.user.id)
        if not unread:
            await interaction.response.send_message(
                "You are up to date: you have marked every part posted here read.", ephemeral=True
            )
            return
        lines = [f"You have not marked {plural(len(unread), 'part')} read:"]
        budget = MESSAGE_LIMIT - len(lines[0]) - 40
        shown = 0
        for delivery in unread:
            line = f"• Part {delivery.part}: " + self.part_link(
                interaction.guild_id, channel_id, delivery.message_ids[0]
            )
            if delivery.thread_id is not None:
                line += f" · talk in <#{delivery.thread_id}>"
            if len(line) + 1 > budget:
                break
            lines.append(line)
            budget -= len(line) + 1
            shown += 1
        if shown < len(unread):
            lines.append(f"…and {len(unread) - shown} more.")
        latest = unread[-1].part
        view = view_of(MarkAllReadButton(channel_id, latest))
        await interaction.response.send_message("\n".join(lines), view=view, ephemeral=True)

    async def remind(self, interaction: Interaction, channel_id: int, on: bool) -> None:
        assert interaction.guild_id is not None
        await self.core.scheduler.status(channel_id)  # NotSubscribed says what to do
        await self.core.set_reminder(
            guild_id=interaction.guild_id,
            channel_id=channel_id,
            member_id=interaction.user.id,
            on=on,
        )
        if on:
            text = (
                f"I will DM you a link when a new part is posted in <#{channel_id}>. "
                "`/serial remind off` stops it."
            )
        else:
            text = f"No more DMs about new parts in <#{channel_id}>."
        await interaction.response.send_message(text, ephemeral=True)

    async def mark_all_pressed(self, interaction: Interaction, channel_id: int, part: int) -> None:
        if channel_id != home_channel_id(interaction):
            await interaction.response.send_message(STALE_BUTTON, ephemeral=True)
            return
        marked = await self.core.mark_all_read(channel_id, interaction.user.id, part)
        await interaction.response.edit_message(
            content=f"Marked {plural(marked, 'part')} read, up to Part {part}.", view=None
        )

    async def page_pressed(self, interaction: Interaction, channel_id: int, part: int) -> None:
        if channel_id != home_channel_id(interaction):
            await interaction.response.send_message(STALE_BUTTON, ephemeral=True)
            return
        from bot.frontend.commands import show_part  # the command module builds on this one

        await show_part(interaction, channel_id, part)

    async def next_part_view(self, channel_id: int, part: int) -> discord.ui.View | None:
        """A "Next part ▸" button under ``part``, when the part after it has been posted."""
        if await self.core.scheduler.posted_part(channel_id, part + 1) is None:
            return None
        return view_of(NextPartButton(channel_id, part + 1))

    # --- after a part is posted ----------------------------------------------------------------

    def part_posted(self, posted: PartPosted) -> None:
        self._spawn(self._after_post(posted), f"after-part-{posted.channel_id}-{posted.part}")

    async def _after_post(self, posted: PartPosted) -> None:
        if posted.trigger == "schedule":
            vote = await self.core.part_posted(posted.channel_id)
            if vote is not None:
                self.show_vote(vote)
        link = self.part_link(posted.guild_id, posted.channel_id, posted.message_ids[0])
        await self._open_thread(posted)
        await self._hand_off(posted, link)
        await self._remind(posted, link)

    async def _open_thread(self, posted: PartPosted) -> None:
        if posted.thread_id is None:
            return
        text = await self._opener_text(posted.channel_id, posted.part)
        thread = self.bot.get_partial_messageable(posted.thread_id, guild_id=posted.guild_id)
        try:
            sent = await thread.send(text, nonce=_nonce(posted.nonce, "opener"))
        except discord.HTTPException as error:
            log.warning("Could not open the thread of part %s: %s", posted.part, error)
            return
        await self.core.thread_opened(posted.nonce, posted.thread_id, sent.id)

    async def _hand_off(self, posted: PartPosted, link: str) -> None:
        if posted.part <= 1:
            return
        previous = await self.core.scheduler.posted_part(posted.channel_id, posted.part - 1)
        if previous is None or previous.thread_id is None:
            return
        thread = self.bot.get_partial_messageable(previous.thread_id, guild_id=posted.guild_id)
        try:
            await thread.send(
                hand_off_text(posted.part, link), nonce=_nonce(posted.nonce, "hand-off")
            )
        except discord.HTTPException as error:
            # A locked or deleted thread keeps its conversation as it is.
            log.info("Could not hand off from the thread of part %s: %s", posted.part - 1, error)

    async def _remind(self, posted: PartPosted, link: str) -> None:
        members = await self.core.claim_reminders(posted.channel_id, posted.nonce)
        if not members:
            return
        channel = self.bot.get_channel(posted.channel_id)
        where = f"#{channel.name}" if isinstance(channel, discord.abc.GuildChannel) else "a channel"
        text = reminder_text(posted.title, posted.part, where, link)
        for member_id in members:
            await self._dm(posted, member_id, text)

    async def _dm(self, posted: PartPosted, member_id: int, text: str) -> None:
        try:
            dm = await self.bot.create_dm(discord.Object(member_id))
            await dm.send(text)
        except discord.Forbidden as error:
            if error.code != _CANNOT_SEND_TO_USER:
                log.warning("Could not DM member %s: %s", member_id, error)
                return
            if await self._left(posted.guild_id, member_id):
                await self.core.member_left(posted.guild_id, member_id)
            else:
                await self.core.reminder_refused(posted.channel_id, member_id)
                self._to_tell.add(member_id)
        except discord.HTTPException as error:
            log.warning("Could not DM member %s: %s", member_id, error)

    async def _left(self, guild_id: int, member_id: int) -> bool:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return False
        try:
            await guild.fetch_member(member_id)
        except discord.NotFound:
            return True
        except discord.HTTPException:
            return False
        return False

    async def tell_refused_reminders(self, interaction: Interaction) -> None:
        """Once, after a command of theirs: the DM reminders Discord refused to deliver."""
        member_id = interaction.user.id
        if member_id not in self._to_tell or not interaction.response.is_done():
            return
        self._to_tell.discard(member_id)
        channels = await self.core.take_refused_reminders(member_id)
        if not channels:
            return
        where = ", ".join(f"<#{c}>" for c in channels)
        with contextlib.suppress(discord.HTTPException):
            await interaction.followup.send(
                f"I could not DM you about new parts in {where}: Discord refused (your DMs are "
                "closed to me). I have stopped trying; once you accept DMs from this server's "
                "members, `/serial remind on` there starts the reminders again.",
                ephemeral=True,
            )

    # --- votes that run out --------------------------------------------------------------------

    async def _lapse_loop(self) -> None:
        clock = self.bot.clock
        while True:
            self._wake.clear()
            try:
                for vote in await self.core.lapse_due():
                    self.show_vote(vote)
                when = await self.core.next_lapse()
            except Exception:
                log.exception("Could not end the votes that ran out")
                await asyncio.sleep(_LAPSE_RETRY_SECONDS)
                continue
            waits = {asyncio.ensure_future(self._wake.wait())}
            if when is not None:
                waits.add(asyncio.ensure_future(clock.sleep_until(when)))
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for future in waits:
                    future.cancel()
