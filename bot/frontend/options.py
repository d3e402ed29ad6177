"""Option types of ``/serial`` whose bounds are declared to Discord and checked again when a
command arrives (a request can be forged), and the ``channel`` option of admin commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.limits import REASON_SHOWN

if TYPE_CHECKING:
    pass

Interaction = discord.Interaction["SerialBot"]
REASON_MAX = REASON_SHOWN
PART_MAX = 100_000


class OptionOutOfBounds(app_commands.AppCommandError):
    """An option value outside the bounds the command declares. Discord's client keeps to them,
    but a request can be forged, so every bound is checked again here."""


class _Bounded(app_commands.Transformer):
    """An integer option from ``low`` to ``high``, or a text option of that many characters:
    declared to Discord, and checked again when a command arrives."""

    def __init__(
        self, kind: discord.AppCommandOptionType, low: int, high: int, *, what: str = "part"
    ) -> None:
        self._kind, self._low, self._high = kind, low, high
        self._what = what

    @property
    def type(self) -> discord.AppCommandOptionType:
        return self._kind

    @property
    def min_value(self) -> int:
        return self._low

    @property
    def max_value(self) -> int:
        return self._high

    async def transform(self, interaction: Interaction, value: object) -> object:
        if isinstance(value, str):
            if not self._low <= len(value) <= self._high:
                raise OptionOutOfBounds(
                    f"That text is {len(value):,} characters long; it may be "
                    f"{self._low} to {self._high} characters."
                )
        elif not isinstance(value, int) or isinstance(value, bool):
            raise OptionOutOfBounds("That option takes a whole number.")
        elif not self._low <= value <= self._high and self._what != "part":
            raise OptionOutOfBounds(
                f"That is outside {self._low:,} to {self._high:,} {self._what}; choose a "
                "number within them."
            )
        elif not self._low <= value <= self._high:
            shown = str(value) if value.bit_length() <= 64 else "that large"
            raise OptionOutOfBounds(
                f"There is no part {shown}: parts are numbered from {self._low} "
                f"(a story has at most {self._high:,})."
            )
        return value


Bounded = _Bounded
PartNumber = app_commands.Transform[
    int, _Bounded(discord.AppCommandOptionType.integer, 1, PART_MAX)
]
PauseReason = app_commands.Transform[
    str, _Bounded(discord.AppCommandOptionType.string, 1, REASON_MAX)
]
# Parts go to these; a command given one acts on it instead of the channel it is used in.
TargetChannel = discord.TextChannel | discord.ForumChannel
CHANNEL_HELP = "Act on that channel instead of this one (a text, announcement or forum channel)"
