"""Discord's and the network's failures, as the typed errors of ``bot.poster``: by Discord's error
code where there is one, not by the status alone. A refusal pauses the serial, a gone channel
ends it, a passing failure is tried again, and a delay waits (with every other request)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import aiohttp
import discord

from bot.frontend import permissions
from bot.frontend.pacing import RestPaused
from bot.poster import (
    ChannelGone,
    PostDelayed,
    PostError,
    PostForbidden,
    PostRefused,
    PostTransient,
)

if TYPE_CHECKING:
    from bot.pacing import RestHealth

MISSING_ACCESS = 50001
UNKNOWN_MESSAGE = 10008
THREAD_ALREADY_CREATED = 160004
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


@contextlib.contextmanager
def translate_failures(
    channel: discord.abc.GuildChannel | None, health: RestHealth | None
) -> Iterator[None]:
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
        raise _classify(error, channel, where, health) from error
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        raise PostTransient(f"network error: {error.__class__.__name__}") from error
    except PostError:
        raise
    except Exception as error:
        # An answer discord.py did not expect (a ban's 429 without ``retry_after``) while
        # Discord has the bot on hold: the post waits with every other.
        held = health.paused_for() if health is not None else 0.0
        if held <= 0:
            raise
        pause = health.pause if health is not None else None
        reason = pause.reason if pause is not None else "Discord is limiting the bot"
        raise PostDelayed(f"delayed: {reason}", held) from error


def _classify(
    error: discord.HTTPException,
    channel: discord.abc.GuildChannel | None,
    where: str,
    health: RestHealth | None,
) -> PostError:
    status, code = error.status, error.code
    detail = f"{status}, code {code}: {error.text}" if error.text else f"{status}, code {code}"
    if status == 429 or code in _DELAY_CODES or code == _BANNED:
        wait = health.paused_for() if health is not None else 0.0
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
        return PostForbidden(_forbidden_reason(channel, error))
    refusal = _REFUSALS.get(code)
    if refusal is not None:
        return PostRefused(refusal.format(where=where))
    return PostRefused(f"Discord refused the post in {where} ({detail})")


def _forbidden_reason(channel: discord.abc.GuildChannel | None, error: discord.Forbidden) -> str:
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
    if error.code == MISSING_ACCESS:
        return f"the bot cannot see {where} (needs View Channel)"
    return f"the bot is missing a permission in {where} ({error.text})"
