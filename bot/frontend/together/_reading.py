"""Where a reader is: the ✓ Read button, `/serial catchup` with its "mark all read" button, and
paging from one part to the next."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord.utils import format_dt

from bot.frontend.together._replies import STALE_BUTTON, Interaction, home_channel_id
from bot.frontend.views import MarkAllReadButton, NextPartButton, view_of
from bot.limits import MESSAGE_LIMIT
from bot.together import mark_text, plural

if TYPE_CHECKING:
    from bot.frontend.together._room import ReadingRoom


class ReadReceipts:
    def __init__(self, room: ReadingRoom) -> None:
        self.room = room

    async def read_pressed(self, interaction: Interaction, nonce: str) -> None:
        channel_id = home_channel_id(interaction)
        mark = await self.room.core.mark_read(nonce, channel_id, interaction.user.id)
        if mark is None:
            await interaction.response.send_message(STALE_BUTTON, ephemeral=True)
            return
        text = mark_text(mark) + await self._what_next(channel_id, mark.delivery.part)
        await interaction.response.send_message(text, ephemeral=True)
        if mark.new:
            self.room.threads.update_opener(mark.delivery)

    async def _what_next(self, channel_id: int, part: int) -> str:
        status = await self.room.core.scheduler.status(channel_id)
        if status.next_part > part + 1:
            return f" Part {part + 1} is already out: `/serial read {part + 1}`."
        if status.next_due is not None:
            return f" Part {status.next_part} arrives {format_dt(status.next_due, 'R')}."
        return ""

    async def catchup(self, interaction: Interaction) -> None:
        core = self.room.core
        channel_id = home_channel_id(interaction)
        assert interaction.guild_id is not None
        await core.scheduler.status(channel_id)  # NotSubscribed says what to do
        unread = await core.unread(channel_id, interaction.user.id)
        if not unread:
            await interaction.response.send_message(
                "You are up to date: you have marked every part posted here read.", ephemeral=True
            )
            return
        lines = [f"You have not marked {plural(len(unread), 'part')} read:"]
        budget = MESSAGE_LIMIT - len(lines[0]) - 40
        shown = 0
        for delivery in unread:
            line = f"• Part {delivery.part}: " + self.room.part_link(
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

    async def mark_all_pressed(self, interaction: Interaction, channel_id: int, part: int) -> None:
        if channel_id != home_channel_id(interaction):
            await interaction.response.send_message(STALE_BUTTON, ephemeral=True)
            return
        marked = await self.room.core.mark_all_read(channel_id, interaction.user.id, part)
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
        if await self.room.core.scheduler.posted_part(channel_id, part + 1) is None:
            return None
        return view_of(NextPartButton(channel_id, part + 1))
