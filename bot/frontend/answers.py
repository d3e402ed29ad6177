"""Answering an interaction: within Discord's limits and its 3-second window, whatever the
command does. Every answer of ``/serial`` goes through here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

import discord

from bot.limits import INTERACTION_ANSWER_SECONDS, MESSAGE_LIMIT, shorten

log = logging.getLogger(__name__)

T = TypeVar("T")

# Discord wants a first answer within 3 seconds of the interaction's creation: work that may
# take longer (posting behind the request pacer, a database write waiting its turn) is given
# until this long after the creation, then the answer is deferred ("thinking…"). Most of the
# window is left for the deferral itself to get through when the bot is busy.
DEFER_AFTER = timedelta(seconds=INTERACTION_ANSWER_SECONDS / 6)


def fit_message(text: str) -> str:
    """Every answer goes through here: whatever the story's metadata or the options held, it
    must fit in one message."""
    return shorten(text, MESSAGE_LIMIT)


async def answer(interaction: discord.Interaction, text: str, *, ephemeral: bool = False) -> None:
    """Answer, whether or not the interaction was answered (deferred) yet; after a deferral the
    first follow-up takes the deferral's place."""
    text = fit_message(text)
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=ephemeral)
    else:
        await interaction.response.send_message(text, ephemeral=ephemeral)


async def send_ephemeral(interaction: discord.Interaction, text: str) -> None:
    """Answer only the member who asked, whether or not the interaction was answered yet."""
    await answer(interaction, text, ephemeral=True)


def defer_in(interaction: discord.Interaction) -> float:
    """Seconds left until the answer must be deferred: timed from when Discord created the
    interaction, not from when its handler started (under load, those can be far apart)."""
    due = interaction.created_at + DEFER_AFTER
    left = (due - discord.utils.utcnow()).total_seconds()
    return min(max(left, 0.0), DEFER_AFTER.total_seconds())


async def in_time(
    interaction: discord.Interaction, work: Awaitable[T], *, ephemeral: bool = False
) -> T:
    """``work``'s result; if it is not ready in time to answer within Discord's window, the
    answer is deferred first (the member sees "thinking…") and given when it is."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=defer_in(interaction))
    if not done and not interaction.response.is_done():
        try:
            await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        except discord.HTTPException:
            log.warning("could not defer /%s; finishing it anyway", command_name(interaction))
    return await task


def command_name(interaction: discord.Interaction) -> str:
    return interaction.command.qualified_name if interaction.command else "?"
