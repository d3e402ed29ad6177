"""DM reminders of new parts: turned on and off by members, sent after each part, and, when
Discord refuses a DM, stopped and said once after the member's next command."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

import discord

from bot.frontend.together._replies import Interaction
from bot.together import reminder_text

if TYPE_CHECKING:
    from bot.frontend.together._room import ReadingRoom
    from bot.scheduler import PartPosted

log = logging.getLogger(__name__)

_CANNOT_SEND_TO_USER = 50007


class Reminders:
    def __init__(self, room: ReadingRoom) -> None:
        self.room = room
        # Members to tell that a DM reminder failed, kept here so that a command costs no
        # database read unless there is something to say.
        self._to_tell: set[int] = set()

    async def start(self) -> None:
        self._to_tell = await self.room.core.members_to_tell()

    async def set(self, interaction: Interaction, channel_id: int, on: bool) -> None:
        assert interaction.guild_id is not None
        core = self.room.core
        await core.scheduler.status(channel_id)  # NotSubscribed says what to do
        await core.set_reminder(
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

    async def send(self, posted: PartPosted, link: str) -> None:
        members = await self.room.core.claim_reminders(posted.channel_id, posted.nonce)
        if not members:
            return
        channel = self.room.bot.get_channel(posted.channel_id)
        where = f"#{channel.name}" if isinstance(channel, discord.abc.GuildChannel) else "a channel"
        text = reminder_text(posted.title, posted.part, where, link)
        for member_id in members:
            await self._dm(posted, member_id, text)

    async def _dm(self, posted: PartPosted, member_id: int, text: str) -> None:
        core = self.room.core
        try:
            dm = await self.room.bot.create_dm(discord.Object(member_id))
            await dm.send(text)
        except discord.Forbidden as error:
            if error.code != _CANNOT_SEND_TO_USER:
                log.warning("Could not DM member %s: %s", member_id, error)
                return
            if await self._left(posted.guild_id, member_id):
                await core.member_left(posted.guild_id, member_id)
            else:
                await core.reminder_refused(posted.channel_id, member_id)
                self._to_tell.add(member_id)
        except discord.HTTPException as error:
            log.warning("Could not DM member %s: %s", member_id, error)

    async def _left(self, guild_id: int, member_id: int) -> bool:
        guild = self.room.bot.get_guild(guild_id)
        if guild is None:
            return False
        try:
            await guild.fetch_member(member_id)
        except discord.NotFound:
            return True
        except discord.HTTPException:
            return False
        return False

    async def tell_refused(self, interaction: Interaction) -> None:
        """Once, after a command of theirs: the DM reminders Discord refused to deliver."""
        member_id = interaction.user.id
        if member_id not in self._to_tell or not interaction.response.is_done():
            return
        self._to_tell.discard(member_id)
        channels = await self.room.core.take_refused_reminders(member_id)
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
