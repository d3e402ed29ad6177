"""The public vote message: posted, edited as presses come in, posted again if a moderator
deletes it, and ended when the vote runs out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import discord
from discord.utils import format_dt

from bot import pacing
from bot.frontend.together._replies import STALE_BUTTON, Interaction, home_channel_id
from bot.frontend.views import VoteButton, view_of
from bot.together import count_of, vote_text

if TYPE_CHECKING:
    from bot.frontend.together._room import ReadingRoom
    from bot.store import Vote

log = logging.getLogger(__name__)

_UNKNOWN_MESSAGE = 10008
_LAPSE_RETRY_SECONDS = 5.0


class VoteMessages:
    def __init__(self, room: ReadingRoom) -> None:
        self.room = room
        self._lapses: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._lapses = asyncio.create_task(self._lapse_loop(), name="vote-lapses")

    async def stop(self) -> None:
        if self._lapses is not None:
            self._lapses.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lapses
            self._lapses = None

    def show(self, vote: Vote) -> None:
        """Bring the vote's public message up to date (posting it the first time)."""
        self.room.edits.request(("vote", vote.id), lambda: self._render(vote.id))
        self._wake.set()

    async def _render(self, vote_id: int) -> None:
        core, bot = self.room.core, self.room.bot
        vote = await core.vote(vote_id)
        if vote is None:
            return
        place = await self._place(vote)
        if place is None:
            return
        text = await self._text(vote)
        view = view_of(VoteButton(vote.id)) if vote.state == "open" else None
        channel = bot.get_partial_messageable(place, guild_id=vote.guild_id)
        if vote.message_id is None:
            if vote.state != "open":
                return
            sent = await channel.send(text, view=view)  # type: ignore[arg-type]
            await core.vote_shown(vote.id, sent.id)
            return
        try:
            await channel.get_partial_message(vote.message_id).edit(content=text, view=view)
        except discord.NotFound as error:
            if error.code != _UNKNOWN_MESSAGE or vote.state != "open" or vote.reposted:
                return
            # A moderator deleted it: the vote goes on, shown once more.
            sent = await channel.send(text, view=view)  # type: ignore[arg-type]
            await core.vote_shown(vote.id, sent.id, reposted=True)
            log.info("The vote message in channel %s was deleted; posted it again", vote.channel_id)

    async def _place(self, vote: Vote) -> int | None:
        """Where the vote is shown: its channel, or, in a forum (which takes no plain
        messages), the post of the part before the one voted for."""
        if not isinstance(self.room.bot.get_channel(vote.channel_id), discord.ForumChannel):
            return vote.channel_id
        previous = await self.room.core.scheduler.posted_part(vote.channel_id, vote.part - 1)
        return previous.thread_id if previous is not None else None

    async def _text(self, vote: Vote) -> str:
        core = self.room.core
        who = f"<@{vote.opened_by}>"
        if vote.state == "open":
            votes = await core.votes_for(vote)
            until = format_dt(vote.closes_at, "t")
            return vote_text(vote, votes, core.quorum, who=who, until=until)
        link = None
        if vote.state == "posted":
            delivery = await core.scheduler.posted_part(vote.channel_id, vote.part)
            if delivery is not None and delivery.message_ids:
                link = self.room.part_link(vote.guild_id, vote.channel_id, delivery.message_ids[0])
        return vote_text(vote, vote.asked, core.quorum, who=who, link=link, window=core.window)

    async def pressed(self, interaction: Interaction, vote_id: int) -> None:
        core = self.room.core
        vote = await core.vote(vote_id)
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
            ask = await core.ask(
                guild_id=interaction.guild_id, channel_id=channel_id, member_id=interaction.user.id
            )
        if ask.vote is not None:
            self.show(ask.vote)
        if ask.already and ask.outcome.posted is None and ask.outcome.needed:
            await interaction.followup.send(
                f"You have already asked for Part {vote.part}: "
                f"{count_of(ask.outcome.votes, ask.outcome.needed)}.",
                ephemeral=True,
            )
        elif ask.outcome.posted is None and not ask.outcome.needed:
            current = await core.vote(vote_id)
            if current is not None and current.state == "open":
                await interaction.followup.send(ask.outcome.refused or "Not yet.", ephemeral=True)

    async def _lapse_loop(self) -> None:
        clock = self.room.bot.clock
        while True:
            self._wake.clear()
            try:
                for vote in await self.room.core.lapse_due():
                    self.show(vote)
                when = await self.room.core.next_lapse()
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
