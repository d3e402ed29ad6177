"""The command tree's one error handler: every refusal of ``/serial`` becomes an ephemeral answer
saying what to do; anything else is logged and the member told it went wrong on our side."""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot import metrics
from bot.frontend.answers import command_name, send_ephemeral
from bot.frontend.options import OptionOutOfBounds
from bot.schedule import ScheduleError
from bot.scheduler import SerialError, unwritable_status
from bot.storage import StoreUnavailable
from bot.uploads import UploadError

log = logging.getLogger(__name__)

Interaction = discord.Interaction["SerialBot"]


class SerialTree(app_commands.CommandTree["SerialBot"]):
    """One place that turns every refusal into an ephemeral answer saying what to do."""

    async def on_error(self, interaction: Interaction, error: app_commands.AppCommandError) -> None:
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if isinstance(cause, SerialError | ScheduleError | OptionOutOfBounds | UploadError):
            text = str(cause)
        elif isinstance(cause, StoreUnavailable):
            metrics.database_error("command")
            log.warning("/%s: the database cannot be reached", command_name(interaction))
            text = (
                "The bot cannot reach its database just now, so it can neither post nor change "
                "anything. Nothing is lost: posting picks up where it stopped once the database "
                "is back. Try again in a few minutes."
            )
        elif isinstance(error, app_commands.NoPrivateMessage):
            text = "`/serial` works in a server channel, not in direct messages."
        elif isinstance(error, app_commands.MissingPermissions):
            text = (
                "Only members who can manage this channel (Manage Channels) may do that. "
                "Readers can use `/serial next`, `/serial status`, `/serial read` and "
                "`/serial stories`."
            )
        elif isinstance(error, app_commands.TransformerError):
            text = f"`{error.value}` is not a valid choice there; pick one from the list."
        elif isinstance(error, app_commands.CheckFailure):
            text = str(error) or "You cannot use that command here."
        elif (problem := interaction.client.store.write_problem) is not None:
            # The store logged why, once; the member hears what it means for them.
            text = unwritable_status(problem)
        else:
            log.error("/%s failed", command_name(interaction), exc_info=cause)
            text = "Sorry, something went wrong on our side. It has been logged; try again soon."
        try:
            await send_ephemeral(interaction, text)
        except discord.HTTPException:
            log.warning("could not tell the member about an error", exc_info=True)
