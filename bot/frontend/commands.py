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
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, cast
from zoneinfo import available_timezones

import discord
from discord import app_commands
from discord.utils import escape_markdown, format_dt

from bot import metrics, pacing
from bot.frontend import permissions
from bot.frontend.answers import answer, command_name, in_time, send_ephemeral
from bot.frontend.options import (
    CHANNEL_HELP,
    REASON_MAX,
    OptionOutOfBounds,
    PartNumber,
    PauseReason,
    TargetChannel,
)
from bot.limits import (
    AUTHOR_SHOWN,
    AUTOCOMPLETE_MAX,
    CHOICE_NAME_LIMIT,
    CHOICE_VALUE_LIMIT,
    EMBED_FIELD_NAME_LIMIT,
    EMBED_FIELD_VALUE_LIMIT,
    EMBED_FIELDS_MAX,
    EMBED_TOTAL_LIMIT,
    MESSAGE_LIMIT,
    TITLE_SHOWN,
    shorten,
)
from bot.poster import PostError
from bot.render import render_part, status_bar
from bot.schedule import EXAMPLES, ScheduleError
from bot.scheduler import AlreadySubscribed, SerialError, unwritable_status
from bot.storage import StoreUnavailable
from bot.store import CATCH_UP_POLICIES, CatchUp, Subscription
from bot.together import count_of, plural, reads_line

if TYPE_CHECKING:
    from bot.frontend.client import SerialBot
    from bot.scheduler import ChannelStatus
    from bot.story import Serial

log = logging.getLogger(__name__)

# The catch-up choices of /serial schedule: a policy of its own for the channel, or back to
# the configured one.
CATCH_UP_CONFIGURED = "config"
CATCH_UP_CHOICES = (
    ("one", "one part at once, then the schedule"),
    ("skip", "skip what was missed, wait for the schedule"),
    ("all", "every missed part, a few minutes apart"),
    (CATCH_UP_CONFIGURED, "as the bot's configuration says"),
)
_CATCH_UP_SAID = {
    "one": "one missed part at once",
    "skip": "nothing missed",
    "all": "every missed part",
}

FINISH_WITH_TIME_WITHIN = timedelta(days=2)

_admin = app_commands.checks.has_permissions(manage_channels=True)

Interaction = discord.Interaction["SerialBot"]


def _home_channel_id(interaction: Interaction) -> int:
    """The channel the parts go to: a thread's parent, or the channel itself."""
    channel = interaction.channel
    if isinstance(channel, discord.Thread) and channel.parent_id is not None:
        return channel.parent_id
    assert interaction.channel_id is not None
    return interaction.channel_id


def _story_line(serial: Serial) -> str:
    meta = serial.story.meta
    by = f" by {shorten(meta.author, AUTHOR_SHOWN)}" if meta.author else ""
    tail = f"{by} — {plural(len(serial.parts), 'part')} · {meta.rating.value}"
    return shorten(meta.title, max(CHOICE_NAME_LIMIT - len(tail), 20)) + tail


def _title(serial: Serial) -> str:
    return _bold_title(serial.story.title)


def _bold_title(title: str) -> str:
    return f"**{escape_markdown(shorten(title, TITLE_SHOWN))}**"


def _soon(moment: datetime | None) -> str:
    return "when it is scheduled" if moment is None else format_dt(moment, "R")


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "not scheduled"
    return f"{format_dt(moment, 'F')} ({format_dt(moment, 'R')})"


class SerialTree(app_commands.CommandTree["SerialBot"]):
    """One place that turns every refusal into an ephemeral answer saying what to do."""

    async def on_error(self, interaction: Interaction, error: app_commands.AppCommandError) -> None:
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if isinstance(cause, SerialError | ScheduleError | OptionOutOfBounds):
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


class SerialCommands(app_commands.Group):
    def __init__(self, bot: SerialBot) -> None:
        super().__init__(
            name="serial",
            description="Read a story together, one part at a time",
            guild_only=True,
        )
        self.bot = bot

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
            text = _refusal(outcome)
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
        text = _status_text(status, now=self.bot.clock.now(), reads=reads_line(counts))
        if interaction.guild is not None and (self.bot.shard_count or 1) > 1:
            text += f"\nShard: {interaction.guild.shard_id} of {self.bot.shard_count}"
        held = self.bot.rest_health.paused_for()
        if held > 0:
            text += (
                f"\nDiscord is limiting the bot right now: posts are delayed, not lost, and "
                f"resume in about {_duration_text(held)}."
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
            embed=_library_embed(list(self.bot.library)), ephemeral=True
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
            await send_ephemeral(
                interaction,
                "Parts go to a text, announcement or forum channel: run this there, or name one "
                "with the `channel` option.",
            )
            return
        await self._target(interaction, target)
        serial = self.bot.library.get(story)
        if serial is None:
            await send_ephemeral(
                interaction,
                f"There is no story `{escape_markdown(_shorten(story))}`. Pick one from the list "
                "as you type, or see `/serial stories`.",
            )
            return
        if serial.story.meta.rating.age_restricted and not target.is_nsfw():
            await send_ephemeral(
                interaction,
                f"{_title(serial)} is rated {serial.story.meta.rating.value}: it can only be "
                f"posted in an age-restricted channel. Mark {target.mention} as age-restricted "
                "in its settings, or choose another story.",
            )
            return
        if start_part > len(serial.parts):
            await send_ephemeral(
                interaction,
                f"{_title(serial)} has {plural(len(serial.parts), 'part')}; choose a "
                f"`start_part` from 1 to {len(serial.parts)}.",
            )
            return
        # Discord resolves the bot's permissions for the channel the command came from; for
        # another channel, work them out from the cached roles and overwrites.
        mine = (
            interaction.app_permissions
            if target.id == interaction.channel_id
            else target.permissions_for(target.guild.me)
        )
        lacking = permissions.missing(mine, permissions.required_for(target))
        if lacking:
            await send_ephemeral(
                interaction,
                f"I cannot post in {target.mention} yet: I am missing "
                f"{', '.join(lacking)}. Grant {'it' if len(lacking) == 1 else 'them'} to the "
                "bot's role in the channel settings, then try again.",
            )
            return
        if isinstance(target, discord.ForumChannel) and target.flags.require_tag:
            await send_ephemeral(
                interaction,
                f"{target.mention} requires a tag on every post, and parts are posted without "
                "one. Turn off “Require tags” in the forum's settings, then try again.",
            )
            return
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
                f"{target.mention} already follows {_bold_title(error.title)}. To switch "
                "stories, `/serial unsubscribe` first; to move within it, `/serial jump` or "
                "`/serial restart`.",
            )
            return
        status = await self.bot.scheduler.status(target.id)
        first = f"Part {start_part}" if start_part > 1 else "Part 1"
        lines = [
            f"{target.mention} now follows {_title(serial)}: {plural(len(serial.parts), 'part')}, "
            f"`{sub.schedule}` ({sub.timezone}).",
            f"{first} arrives {_when(status.next_due)}.",
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
        return story_choices(list(self.bot.library), current)

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
        await answer(interaction, f"Resumed. The next part arrives {_when(status.next_due)}.")

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
            policy = None if catch_up == CATCH_UP_CONFIGURED else _catch_up_policy(catch_up)
            await in_time(interaction, scheduler.set_catch_up(channel_id, policy))
        status = await scheduler.status(channel_id)
        sub = status.subscription
        await answer(
            interaction,
            f"Schedule is now `{sub.schedule}` ({sub.timezone}); after the bot was offline, "
            f"{_catch_up_text(sub, scheduler.settings.catch_up)}. "
            f"Next part: {_when(status.next_due)}.",
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
            f"Part {part} of {status.parts_total} comes next, {_when(status.next_due)}.",
        )

    @app_commands.command(description="Start the story over from part 1 (admins)")
    @app_commands.describe(channel=CHANNEL_HELP)
    @_admin
    async def restart(self, interaction: Interaction, channel: TargetChannel | None = None) -> None:
        channel_id = await self._target(interaction, channel)
        await in_time(interaction, self.bot.scheduler.restart(channel_id))
        status = await self.bot.scheduler.status(channel_id)
        await answer(interaction, f"Starting over: Part 1 arrives {_when(status.next_due)}.")


def _duration_text(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{round(seconds / 60)} min"


def _catch_up_policy(value: str) -> CatchUp:
    if value not in CATCH_UP_POLICIES:
        raise SerialError(
            "catch_up is one of "
            + ", ".join(f"`{v}`" for v, _ in CATCH_UP_CHOICES)
            + "; pick one from the list."
        )
    return cast(CatchUp, value)


def _catch_up_text(sub: Subscription, configured: CatchUp) -> str:
    if sub.catch_up_own:
        return f"{_CATCH_UP_SAID[sub.catch_up]} is posted (chosen for this channel)"
    return f"{_CATCH_UP_SAID[configured]} is posted (as configured)"


async def show_part(interaction: Interaction, channel_id: int, part: int) -> None:
    """A part this channel has received, shown to the member alone (``/serial read`` and the
    "Next part ▸" button), with "Next part ▸" when the part after it has been posted too."""
    bot = interaction.client
    # Several messages, after reading the database: defer before anything may wait.
    await interaction.response.defer(ephemeral=True, thinking=True)
    status = await bot.scheduler.status(channel_id)
    delivery = await bot.scheduler.posted_part(channel_id, part)
    if delivery is None:
        posted = status.parts_posted
        hint = f"parts 1–{posted}" if posted > 1 else "part 1" if posted else "no parts yet"
        await send_ephemeral(
            interaction,
            f"Part {part} has not been posted here yet; this channel has received {hint}.",
        )
        return
    serial = status.serial
    if serial is None or part > len(serial.parts):
        await send_ephemeral(
            interaction,
            "That part is no longer in the library (the story was removed or shortened).",
        )
        return
    rendered = render_part(serial, serial.part(part), limit=MESSAGE_LIMIT)
    texts = [rendered.header, *rendered.messages]
    if delivery.thread_id is not None:
        texts.append(f"Talk about it in <#{delivery.thread_id}>.")
    packed = _pack(tuple(texts))
    for text in packed[:-1]:
        await interaction.followup.send(text, ephemeral=True)
    # Page on through the parts already posted here, never to one still to come.
    view = await bot.reading.next_part_view(channel_id, part)
    if view is None:
        await interaction.followup.send(packed[-1], ephemeral=True)
    else:
        await interaction.followup.send(packed[-1], ephemeral=True, view=view)


def finish_time(moment: datetime, now: datetime) -> str:
    """When a story is expected to finish: with the time of day when that is within two days
    (hourly schedules), the date alone otherwise."""
    style = "f" if moment - now <= FINISH_WITH_TIME_WITHIN else "D"
    return format_dt(moment, style)  # type: ignore[arg-type]


def _status_text(status: ChannelStatus, *, now: datetime, reads: str | None = None) -> str:
    sub, serial = status.subscription, status.serial
    if serial is None:
        title = f"`{shorten(sub.slug, TITLE_SHOWN)}` (no longer in the library)"
    else:
        title = _title(serial)
        if serial.story.meta.author:
            title += f" by {escape_markdown(shorten(serial.story.meta.author, AUTHOR_SHOWN))}"
    total = status.parts_total
    lines = [title]
    started = status.parts_posted > 0 or sub.completed
    if not started and not sub.paused:
        lines.append(f"Not started — Part {status.next_part} arrives {_soon(status.next_due)}")
    elif not started:
        lines.append("Not started.")
    elif total:
        # The bar's own "n/N" would repeat the words next to it.
        bar = status_bar(status.parts_posted, total).rsplit(" ", 1)[0]
        lines.append(f"{bar}  Part {status.parts_posted} of {total}")
    if sub.completed:
        lines.append("Every part has been posted. An admin can start over with `/serial restart`.")
        return "\n".join(lines)
    if sub.paused:
        reason = escape_markdown(shorten(sub.pause_reason or "by an admin", REASON_MAX))
        if sub.pause_cause == "edit":  # resuming would find no place either
            lines.append(f"Paused: {reason}. An admin can choose where with `/serial jump`.")
        else:
            lines.append(f"Paused: {reason}. An admin can continue with `/serial resume`.")
    elif started:
        lines.append(f"Next: Part {status.next_part}, {_when(status.next_due)}")
        if status.finish_estimate is not None:
            lines.append(f"Expected to finish: {finish_time(status.finish_estimate, now)}")
    lines.append(f"Schedule: `{sub.schedule}` ({sub.timezone})")
    if reads:
        lines.append(f"Read so far: {reads}")
    if status.write_problem is not None:
        lines.append(unwritable_status(status.write_problem))
    return "\n".join(lines)


def _refusal(outcome: object) -> str:
    reason = getattr(outcome, "refused", None) or "Not yet."
    retry_at = getattr(outcome, "retry_at", None)
    needed = getattr(outcome, "needed", 0) or 0
    votes = getattr(outcome, "votes", 0) or 0
    parts = [str(reason)]
    if needed > votes:
        parts.append(f"{count_of(votes, needed)}.")
    if retry_at is not None:
        parts.append(f"Try again {format_dt(retry_at, 'R')}.")
    return " ".join(parts)


def _pack(texts: tuple[str, ...]) -> list[str]:
    """Join consecutive pieces into as few messages as fit, each within Discord's limit."""
    packed: list[str] = []
    for text in texts:
        if packed and len(packed[-1]) + 2 + len(text) <= MESSAGE_LIMIT:
            packed[-1] = f"{packed[-1]}\n\n{text}"
        else:
            packed.append(text)
    return packed


def story_choices(serials: list[Serial], current: str) -> list[app_commands.Choice[str]]:
    needle = current.casefold().strip()
    matches = [
        s
        for s in serials
        if not needle or needle in s.slug.casefold() or needle in s.story.title.casefold()
    ]
    matches.sort(key=lambda s: (not s.story.title.casefold().startswith(needle), s.story.title))
    # A choice's value is at most 100 characters: a longer file name can still be typed.
    fitting = [s for s in matches if len(s.slug) <= CHOICE_VALUE_LIMIT]
    return [
        app_commands.Choice(name=shorten(_story_line(s), CHOICE_NAME_LIMIT), value=s.slug)
        for s in fitting[:AUTOCOMPLETE_MAX]
    ]


@lru_cache(maxsize=1)
def _timezones() -> tuple[str, ...]:
    return tuple(
        sorted(
            n
            for n in available_timezones()
            if n not in ("localtime", "Factory") and not n.startswith(("posix/", "right/"))
        )
    )


def timezone_choices(current: str) -> list[app_commands.Choice[str]]:
    needle = current.casefold().strip().replace(" ", "_")
    matches = [n for n in _timezones() if needle in n.casefold()]
    matches.sort(key=lambda n: (not n.casefold().startswith(needle), n))
    return [app_commands.Choice(name=n, value=n) for n in matches[:AUTOCOMPLETE_MAX]]


# What a story file says about the work (fandom, relationships, characters...), as much as fits.
_DETAILS_SHOWN = 3
_DETAIL_SHOWN = 200


def _library_embed(serials: list[Serial]) -> discord.Embed:
    embed = discord.Embed(title="Stories", colour=discord.Colour.blurple())
    if not serials:
        embed.description = "The library is empty: add story files to the stories folder."
        return embed
    embed.description = "Subscribe a channel with `/serial subscribe`."
    # Room for the footer saying how many were left out.
    budget = EMBED_TOTAL_LIMIT - len(embed.title or "") - len(embed.description) - 100
    shown = 0
    for serial in sorted(serials, key=lambda s: s.story.title.casefold()):
        meta = serial.story.meta
        name = shorten(escape_markdown(shorten(meta.title, TITLE_SHOWN)), EMBED_FIELD_NAME_LIMIT)
        value = (
            f"`{serial.slug}` · {plural(len(serial.parts), 'part')} · "
            f"{serial.story.words:,} words · {meta.rating.value}"
            + (" (age-restricted channels only)" if meta.rating.age_restricted else "")
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
    if shown < len(serials):
        embed.set_footer(
            text=f"and {len(serials) - shown} more: type in /serial subscribe to search"
        )
    return embed


def _shorten(text: str, limit: int = 60) -> str:
    # Options may be 6,000 characters long; an answer that echoes one must stay within 2,000.
    return shorten(text, limit)
