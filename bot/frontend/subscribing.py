"""What ``/serial subscribe`` checks before a channel follows a story: the story (this server's
or a shared one, rated), the channel's kind and age restriction, the start part, and the
permissions the bot needs there. Each refusal says what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord.utils import escape_markdown

from bot.frontend import permissions
from bot.frontend.stories import serial_title
from bot.limits import shorten
from bot.together import plural

if TYPE_CHECKING:
    from bot.catalog import Catalog, Entry
    from bot.frontend.client import SerialBot
    from bot.frontend.options import TargetChannel

    Interaction = discord.Interaction[SerialBot]

NOT_A_POSTING_CHANNEL = (
    "Parts go to a text, announcement or forum channel: run this there, or name one with the "
    "`channel` option."
)


def chosen_story(catalog: Catalog, guild_id: int, typed: str) -> Entry | str:
    """The story a member picked, or why it cannot be followed."""
    entry = catalog.find(guild_id, typed)
    if entry is None:
        return (
            f"There is no story `{escape_markdown(shorten(typed, 60))}`. Pick one from the list "
            "as you type, or see `/serial stories`."
        )
    if not entry.rated:
        return (
            f"{serial_title(entry.serial)} has no rating yet, so no channel can follow it. "
            f"Set one with `/serial library edit story:{entry.slug} rating:…`, then try again."
        )
    return entry


def channel_refusal(
    interaction: Interaction, target: TargetChannel, entry: Entry, start_part: int
) -> str | None:
    """Why ``target`` cannot follow the story from ``start_part``, or None."""
    serial = entry.serial
    rating = serial.story.meta.rating
    if rating.age_restricted and not target.is_nsfw():
        return (
            f"{serial_title(serial)} is rated {rating.value}: it can only be posted in an "
            f"age-restricted channel. Mark {target.mention} as age-restricted in its settings, "
            "or choose another story."
        )
    if start_part > len(serial.parts):
        return (
            f"{serial_title(serial)} has {plural(len(serial.parts), 'part')}; choose a "
            f"`start_part` from 1 to {len(serial.parts)}."
        )
    # Discord resolves the bot's permissions for the channel the command came from; for
    # another channel, work them out from the cached roles and overwrites.
    mine = (
        interaction.app_permissions
        if target.id == interaction.channel_id
        else target.permissions_for(target.guild.me)
    )
    lacking = permissions.missing(mine, permissions.required_for(target))
    if lacking:
        return (
            f"I cannot post in {target.mention} yet: I am missing {', '.join(lacking)}. Grant "
            f"{'it' if len(lacking) == 1 else 'them'} to the bot's role in the channel "
            "settings, then try again."
        )
    if isinstance(target, discord.ForumChannel) and target.flags.require_tag:
        return (
            f"{target.mention} requires a tag on every post, and parts are posted without one. "
            "Turn off “Require tags” in the forum's settings, then try again."
        )
    return None
