"""Stories as members choose them: the ``story`` autocomplete, ``/serial stories``, and a story's
title as answers show it. Each server sees its own uploads and the operator's shared stories,
each marked as such (``bot.catalog``)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.utils import escape_markdown, format_dt

from bot.limits import (
    AUTHOR_SHOWN,
    AUTOCOMPLETE_MAX,
    CHOICE_NAME_LIMIT,
    CHOICE_VALUE_LIMIT,
    EMBED_FIELD_NAME_LIMIT,
    EMBED_FIELD_VALUE_LIMIT,
    EMBED_FIELDS_MAX,
    EMBED_TOTAL_LIMIT,
    TITLE_SHOWN,
    shorten,
)
from bot.schedule import timezone_names
from bot.together import plural

if TYPE_CHECKING:
    from bot.catalog import Entry
    from bot.story import Serial


# How a choice and /serial stories mark whose story it is.
OWN_MARK = "this server"
SHARED_MARK = "shared"
UNRATED = "unrated"


def story_line(entry: Entry) -> str:
    """A story as the autocomplete lists it: title, author, parts, rating and whose it is."""
    meta = entry.serial.story.meta
    by = f" by {shorten(meta.author, AUTHOR_SHOWN)}" if meta.author else ""
    rating = meta.rating.value if entry.rated else UNRATED
    mark = SHARED_MARK if entry.shared else OWN_MARK
    tail = f"{by} — {plural(len(entry.serial.parts), 'part')} · {rating} · {mark}"
    return shorten(meta.title, max(CHOICE_NAME_LIMIT - len(tail), 20)) + tail


def serial_title(serial: Serial) -> str:
    return bold_title(serial.story.title)


def bold_title(title: str) -> str:
    return f"**{escape_markdown(shorten(title, TITLE_SHOWN))}**"


def story_choices(entries: list[Entry], current: str) -> list[app_commands.Choice[str]]:
    needle = current.casefold().strip()
    matches = [
        e
        for e in entries
        if not needle or needle in e.slug.casefold() or needle in e.serial.story.title.casefold()
    ]
    matches.sort(
        key=lambda e: (not e.serial.story.title.casefold().startswith(needle), e.serial.story.title)
    )
    # A choice's value is at most 100 characters: a longer file name can still be typed.
    fitting = [e for e in matches if len(e.slug) <= CHOICE_VALUE_LIMIT]
    return [
        app_commands.Choice(name=shorten(story_line(e), CHOICE_NAME_LIMIT), value=e.slug)
        for e in fitting[:AUTOCOMPLETE_MAX]
    ]


@lru_cache(maxsize=1)
def _timezones() -> tuple[str, ...]:
    return tuple(sorted(set(timezone_names().values())))


def timezone_choices(current: str) -> list[app_commands.Choice[str]]:
    needle = current.casefold().strip().replace(" ", "_")
    matches = [n for n in _timezones() if needle in n.casefold()]
    matches.sort(key=lambda n: (not n.casefold().startswith(needle), n))
    return [app_commands.Choice(name=n, value=n) for n in matches[:AUTOCOMPLETE_MAX]]


_DETAILS_SHOWN = 3
_DETAIL_SHOWN = 200


def library_embed(entries: list[Entry]) -> discord.Embed:
    """This server's stories, then the shared ones, each marked, within Discord's embed limits."""
    embed = discord.Embed(title="Stories", colour=discord.Colour.blurple())
    if not entries:
        embed.description = (
            "The library is empty. Admins can add a story with `/serial library add`."
        )
        return embed
    embed.description = (
        "Subscribe a channel with `/serial subscribe`. Admins add this server's own stories "
        "with `/serial library add`."
    )
    # Room for the footer saying how many were left out.
    budget = EMBED_TOTAL_LIMIT - len(embed.title or "") - len(embed.description) - 100
    shown = 0
    for entry in entries:
        serial = entry.serial
        meta = serial.story.meta
        name = shorten(escape_markdown(shorten(meta.title, TITLE_SHOWN)), EMBED_FIELD_NAME_LIMIT)
        rating = meta.rating.value if entry.rated else f"{UNRATED} (set one to subscribe)"
        value = (
            f"`{entry.slug}` · {OWN_MARK if not entry.shared else SHARED_MARK} · "
            f"{plural(len(serial.parts), 'part')} · {serial.story.words:,} words · {rating}"
            + (
                " (age-restricted channels only)"
                if entry.rated and meta.rating.age_restricted
                else ""
            )
        )
        if entry.upload is not None:
            added = entry.upload
            value += (
                f"\nAdded by <@{added.uploaded_by}> {format_dt(added.uploaded_at, 'd')}"
                f" from `{escape_markdown(shorten(added.filename, 60))}`"
            )
        if meta.content_notes:
            value += "\nContent notes: " + escape_markdown(", ".join(meta.content_notes))
        for label, detail in meta.details[:_DETAILS_SHOWN]:
            value += f"\n{label}: " + escape_markdown(shorten(detail, _DETAIL_SHOWN))
        value = shorten(value, EMBED_FIELD_VALUE_LIMIT)
        if shown == EMBED_FIELDS_MAX or len(name) + len(value) > budget:
            break
        embed.add_field(name=name, value=value, inline=False)
        budget -= len(name) + len(value)
        shown += 1
    if shown < len(entries):
        embed.set_footer(
            text=f"and {len(entries) - shown} more: type in /serial subscribe to search"
        )
    return embed
