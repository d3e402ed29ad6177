"""The ``/serial`` slash commands.

One group serves readers (``next``, ``status``, ``read``, ``stories``) and admins (``subscribe``,
``unsubscribe``, ``pause``, ``resume``, ``schedule``, ``jump``, ``restart``). Discord applies
``default_permissions`` only to a top-level command, and server admins can change it anyway, so
it cannot keep readers out of the admin subcommands of a shared group. Every admin subcommand
therefore checks Manage Channels itself, on every call (``_admin``), and the tree's error
handler refuses with an ephemeral answer.

Commands run in a channel or in one of its threads (a part's discussion thread, a forum post);
either way they act on the channel the parts are posted to.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands

from bot import pacing
from bot.frontend.answers import answer, in_time, send_ephemeral
from bot.frontend.catchup import (
    CATCH_UP_CHOICES,
    CATCH_UP_CONFIGURED,
    catch_up_policy,
    catch_up_text,
)
from bot.frontend.library import LibraryCommands
from bot.frontend.options import (
    CHANNEL_HELP,
    PartNumber,
    PauseReason,
    TargetChannel,
)
from bot.frontend.parts import (
    duration_text,
    finish_time,
    refusal,
    show_part,
    status_text,
    when,
)
from bot.frontend.stories import (
    bold_title,
    library_embed,
    serial_title,
    story_choices,
    timezone_choices,
)
from bot.frontend.subscribing import NOT_A_POSTING_CHANNEL, channel_refusal, chosen_story
from bot.limits import shorten
from bot.poster import PostError
from bot.schedule import EXAMPLES
from bot.scheduler import AlreadySubscribed
from bot.together import plural, reads_line

if TYPE_CHECKING:
    from bot.frontend.client import SerialBot

__all__ = ["SerialCommands", "finish_time", "show_part"]

log = logging.getLogger(__name__)

_admin = app_commands.checks.has_permissions(manage_channels=True)

Interaction = discord.Interaction["SerialBot"]


def _home_channel_id(interaction: Interaction) -> int:
    """The channel the parts go to: a thread's parent, or the channel itself."""
    channel = interaction.channel
    if isinstance(channel, discord.Thread) and channel.parent_id is not None:
        return channel.parent_id
    assert interaction.channel_id is not None
    return interaction.channel_id


class SerialCommands(app_commands.Group):
    def __init__(self, bot: SerialBot) -> None:
        super().__init__(
            name="serial",
            description="Read a story together, one part at a time",
            guild_only=True,
        )
        self.bot = bot
        self.add_command(LibraryCommands(bot))

    async def interaction_check(self, interaction: Interaction) -> bool:
        # guild_only only hides the group in DMs; a request can still arrive from one.
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        return True

    # --- readers -------------------------------------------------------------------------------

    @app_commands.command(description="Post the next part now (within the channel's cooldown)")
    async def next(self, interaction: Interaction) -> None:
        channel_id = _home_channel_id(interaction)
        # Posting may be slow (rate limits, a long part): acknowledged in time, finished after.
        assert interaction.guild_id is not None  # the group is guild only
        # A member is waiting: its requests go before the queue of scheduled posts.
        try:
            with pacing.urgent():
                ask = await in_time(
                    interaction,
                    self.bot.reading.core.ask(
                        guild_id=interaction.guild_id,
                        channel_id=channel_id,
                        member_id=interaction.user.id,
                    ),
                )
        except PostError as error:
            await send_ephemeral(interaction, f"I could not post the next part: {error.reason}")
            return
        outcome = ask.outcome
        if ask.vote is not None:
            self.bot.reading.show_vote(ask.vote)
        if outcome.posted is None:
            text = refusal(outcome)
            if ask.vote is not None and ask.opened:
                text += " I have asked the channel: others can join with ⏭ Me too."
            elif ask.vote is not None:
                text += " The vote is open in the channel."
            await send_ephemeral(interaction, text)
            return
        await answer(
            interaction,
            f"{interaction.user.mention} asked for the next part: Part {outcome.posted} is up.",
        )

    @app_commands.command(description="Where this channel is in its story and what comes next")
    async def status(self, interaction: Interaction) -> None:
        channel_id = _home_channel_id(interaction)
        status = await in_time(interaction, self.bot.scheduler.status(channel_id), ephemeral=True)
        counts = await self.bot.reading.core.read_counts(channel_id)
        text = status_text(status, now=self.bot.clock.now(), reads=reads_line(counts))
        if interaction.guild is not None and (self.bot.shard_count or 1) > 1:
            text += f"\nShard: {interaction.guild.shard_id} of {self.bot.shard_count}"
        held = self.bot.rest_health.paused_for()
        if held > 0:
            text += (
                f"\nDiscord is limiting the bot right now: posts are delayed, not lost, and "
                f"resume in about {duration_text(held)}."
            )
        await send_ephemeral(interaction, text)

    @app_commands.command(description="Re-read a part this channel has already received")
    @app_commands.describe(part="The part number, e.g. 1")
    async def read(self, interaction: Interaction, part: PartNumber) -> None:
        await show_part(interaction, _home_channel_id(interaction), part)

    @app_commands.command(description="The parts you have not marked read, with links")
    async def catchup(self, interaction: Interaction) -> None:
        await self.bot.reading.catchup(interaction)

    @app_commands.command(description="Get a DM when a new part is posted in this channel")
    @app_commands.describe(setting="on: a DM with the link for each new part; off: no DMs")
    async def remind(self, interaction: Interaction, setting: Literal["on", "off"]) -> None:
        await self.bot.reading.remind(interaction, _home_channel_id(interaction), setting == "on")

    @app_commands.command(description="The stories this bot can post")
    async def stories(self, interaction: Interaction) -> None:
        await interaction.response.send_message(
            embed=library_embed(self.bot.catalog.entries(interaction.guild_id or 0)), ephemeral=True
        )

    # --- admins --------------------------------------------------------------------------------

    async def _target(self, interaction: Interaction, channel: TargetChannel | None) -> int:
        """The channel an admin command acts on: the one named, or the one it is used in (a
        thread's parent). Naming another channel needs Manage Channels there too."""
        here = _home_channel_id(interaction)
        if channel is None or channel.id == here:
            return here
        member = interaction.user
        if not isinstance(member, discord.Member) or not (
            channel.permissions_for(member).manage_channels
        ):
            raise app_commands.MissingPermissions(["manage_channels"])
        return channel.id

    @app_commands.command(description="Start posting a story in this channel (admins)")
    @app_commands.describe(
        story="The story to post; start typing its title",
        schedule=f'When parts go out, e.g. "{EXAMPLES[0]}" or "{EXAMPLES[2]}"',
        timezone="Timezone of the schedule, e.g. Europe/Berlin (default: the bot's)",
        start_part="Begin at this part (default 1)",
        channel=CHANNEL_HELP,
    )
    @_admin
    async def subscribe(
        self,
        interaction: Interaction,
        story: str,
        schedule: str | None = None,
        timezone: str | None = None,
        start_part: PartNumber = 1,
        channel: TargetChannel | None = None,
    ) -> None:
        guild = interaction.guild
        assert guild is not None  # the group is guild only
        target = channel or guild.get_channel(_home_channel_id(interaction))
        if not isinstance(target, discord.TextChannel | discord.ForumChannel):
            await send_ephemeral(interaction, NOT_A_POSTING_CHANNEL)
            return
        await self._target(interaction, target)
        entry = chosen_story(self.bot.catalog, guild.id, story)
        if isinstance(entry, str):
            await send_ephemeral(interaction, entry)
            return
        problem = channel_refusal(interaction, target, entry, start_part)
        if problem is not None:
            await send_ephemeral(interaction, problem)
            return
        serial = entry.serial
        try:
            sub = await in_time(
                interaction,
                self.bot.scheduler.subscribe(
                    guild_id=target.guild.id,
                    channel_id=target.id,
                    slug=serial.slug,
                    schedule=schedule or self.bot.config.default_schedule,
                    timezone=timezone,
                    start_part=start_part,
                    subscribed_by=interaction.user.id,
                ),
            )
        except AlreadySubscribed as error:
            await send_ephemeral(
                interaction,
                f"{target.mention} already follows {bold_title(error.title)}. To switch "
                "stories, `/serial unsubscribe` first; to move within it, `/serial jump` or "
                "`/serial restart`.",
            )
            return
        status = await self.bot.scheduler.status(target.id)
        first = f"Part {start_part}" if start_part > 1 else "Part 1"
        lines = [
            f"{target.mention} now follows {serial_title(serial)}: "
            f"{plural(len(serial.parts), 'part')}, `{sub.schedule}` ({sub.timezone}).",
            f"{first} arrives {when(status.next_due)}.",
        ]
        if status.finish_estimate is not None:
            lines.append(
                "On this schedule the story finishes "
                f"{finish_time(status.finish_estimate, self.bot.clock.now())}."
            )
        lines.append("Anyone can ask for the next part early with `/serial next`.")
        await answer(interaction, "\n".join(lines))

    @subscribe.autocomplete("story")
    async def _story_choices(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        assert interaction.guild_id is not None  # the group is guild only
        return story_choices(self.bot.catalog.entries(interaction.guild_id), current)

    @subscribe.autocomplete("timezone")
    async def _timezone_choices(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return timezone_choices(current)

    @app_commands.command(description="Stop posting the story in this channel (admins)")
    @app_commands.describe(channel=CHANNEL_HELP)
    @_admin
    async def unsubscribe(
        self, interaction: Interaction, channel: TargetChannel | None = None
    ) -> None:
        channel_id = await self._target(interaction, channel)
        await in_time(interaction, self.bot.scheduler.unsubscribe(channel_id))
        await answer(
            interaction, f"<#{channel_id}> no longer follows a story. Its threads stay for reading."
        )

    @app_commands.command(description="Hold the schedule until resumed (admins)")
    @app_commands.describe(
        reason="Shown in /serial status, e.g. 'holiday break'", channel=CHANNEL_HELP
    )
    @_admin
    async def pause(
        self,
        interaction: Interaction,
        reason: PauseReason | None = None,
        channel: TargetChannel | None = None,
    ) -> None:
        channel_id = await self._target(interaction, channel)
        await in_time(
            interaction,
            self.bot.scheduler.pause(channel_id, reason or f"paused by {interaction.user}"),
        )
        await answer(interaction, "Paused. `/serial resume` picks up where it left off.")

    @app_commands.command(description="Continue posting after a pause (admins)")
    @app_commands.describe(channel=CHANNEL_HELP)
    @_admin
    async def resume(self, interaction: Interaction, channel: TargetChannel | None = None) -> None:
        channel_id = await self._target(interaction, channel)
        await in_time(interaction, self.bot.scheduler.resume(channel_id))
        status = await self.bot.scheduler.status(channel_id)
        await answer(interaction, f"Resumed. The next part arrives {when(status.next_due)}.")

    @app_commands.command(description="Change when parts go out (admins)")
    @app_commands.describe(
        new=f'The new schedule, e.g. "{EXAMPLES[0]}" or "{EXAMPLES[4]}" (default: unchanged)',
        timezone="Timezone of the schedule (default: unchanged)",
        catch_up="What to post after the bot was offline (default: unchanged)",
        channel=CHANNEL_HELP,
    )
    @app_commands.rename(new="schedule")
    @app_commands.choices(
        catch_up=[app_commands.Choice(name=text, value=value) for value, text in CATCH_UP_CHOICES]
    )
    @_admin
    async def schedule(
        self,
        interaction: Interaction,
        new: str | None = None,
        timezone: str | None = None,
        catch_up: str | None = None,
        channel: TargetChannel | None = None,
    ) -> None:
        channel_id = await self._target(interaction, channel)
        if new is None and timezone is None and catch_up is None:
            await send_ephemeral(
                interaction,
                f'Say what to change: a `schedule` (e.g. "{EXAMPLES[0]}"), a `timezone` or '
                "`catch_up`.",
            )
            return
        scheduler = self.bot.scheduler
        if new is not None or timezone is not None:
            current = await in_time(interaction, scheduler.status(channel_id))
            schedule = new if new is not None else current.subscription.schedule
            await in_time(interaction, scheduler.set_schedule(channel_id, schedule, timezone))
        if catch_up is not None:
            policy = None if catch_up == CATCH_UP_CONFIGURED else catch_up_policy(catch_up)
            await in_time(interaction, scheduler.set_catch_up(channel_id, policy))
        status = await scheduler.status(channel_id)
        sub = status.subscription
        await answer(
            interaction,
            f"Schedule is now `{sub.schedule}` ({sub.timezone}); after the bot was offline, "
            f"{catch_up_text(sub, scheduler.settings.catch_up)}. "
            f"Next part: {when(status.next_due)}.",
        )

    @schedule.autocomplete("timezone")
    async def _schedule_timezone_choices(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return timezone_choices(current)

    @app_commands.command(description="Make a given part the next one posted (admins)")
    @app_commands.describe(part="The part to post next", channel=CHANNEL_HELP)
    @_admin
    async def jump(
        self, interaction: Interaction, part: PartNumber, channel: TargetChannel | None = None
    ) -> None:
        channel_id = await self._target(interaction, channel)
        await in_time(interaction, self.bot.scheduler.jump(channel_id, part))
        status = await self.bot.scheduler.status(channel_id)
        await answer(
            interaction,
            f"Part {part} of {status.parts_total} comes next, {when(status.next_due)}.",
        )

    @app_commands.command(description="Start the story over from part 1 (admins)")
    @app_commands.describe(channel=CHANNEL_HELP)
    @_admin
    async def restart(self, interaction: Interaction, channel: TargetChannel | None = None) -> None:
        channel_id = await self._target(interaction, channel)
        await in_time(interaction, self.bot.scheduler.restart(channel_id))
        status = await self.bot.scheduler.status(channel_id)
        await answer(interaction, f"Starting over: Part 1 arrives {when(status.next_due)}.")


def _shorten(text: str, limit: int = 60) -> str:
    # Options may be 6,000 characters long; an answer that echoes one must stay within 2,000.
    return shorten(text, limit)
