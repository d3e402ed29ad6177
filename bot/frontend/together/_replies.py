"""What every reading-together answer shares: the refusal of a stale button, the answer only the
presser sees, links to messages and the channel a press belongs to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

if TYPE_CHECKING:
    pass

Interaction = discord.Interaction["SerialBot"]

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
