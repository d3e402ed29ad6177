"""What members are shown of a channel's parts and progress: a posted part again (``/serial
read`` and its "Next part ▸" button), the channel's status, and why ``/serial next`` said no."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from discord.utils import escape_markdown, format_dt

from bot.frontend.answers import send_ephemeral
from bot.frontend.options import REASON_MAX
from bot.frontend.stories import serial_title
from bot.limits import AUTHOR_SHOWN, MESSAGE_LIMIT, TITLE_SHOWN, shorten
from bot.render import render_part, status_bar
from bot.scheduler import unwritable_status
from bot.together import count_of
from bot.uploads import shown_slug

if TYPE_CHECKING:
    import discord

    from bot.frontend.client import SerialBot
    from bot.scheduler import ChannelStatus

    Interaction = discord.Interaction[SerialBot]

FINISH_WITH_TIME_WITHIN = timedelta(days=2)


def soon(moment: datetime | None) -> str:
    return "when it is scheduled" if moment is None else format_dt(moment, "R")


def when(moment: datetime | None) -> str:
    if moment is None:
        return "not scheduled"
    return f"{format_dt(moment, 'F')} ({format_dt(moment, 'R')})"


def duration_text(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{round(seconds / 60)} min"


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
    packed = pack(tuple(texts))
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


def status_text(status: ChannelStatus, *, now: datetime, reads: str | None = None) -> str:
    sub, serial = status.subscription, status.serial
    if serial is None:
        title = f"`{shorten(shown_slug(sub.slug), TITLE_SHOWN)}` (no longer in the library)"
    else:
        title = serial_title(serial)
        if serial.story.meta.author:
            title += f" by {escape_markdown(shorten(serial.story.meta.author, AUTHOR_SHOWN))}"
    total = status.parts_total
    lines = [title]
    started = status.parts_posted > 0 or sub.completed
    if not started and not sub.paused:
        lines.append(f"Not started — Part {status.next_part} arrives {soon(status.next_due)}")
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
        lines.append(f"Next: Part {status.next_part}, {when(status.next_due)}")
        if status.finish_estimate is not None:
            lines.append(f"Expected to finish: {finish_time(status.finish_estimate, now)}")
    lines.append(f"Schedule: `{sub.schedule}` ({sub.timezone})")
    if reads:
        lines.append(f"Read so far: {reads}")
    if status.write_problem is not None:
        lines.append(unwritable_status(status.write_problem))
    return "\n".join(lines)


def refusal(outcome: object) -> str:
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


def pack(texts: tuple[str, ...]) -> list[str]:
    """Join consecutive pieces into as few messages as fit, each within Discord's limit."""
    packed: list[str] = []
    for text in texts:
        if packed and len(packed[-1]) + 2 + len(text) <= MESSAGE_LIMIT:
            packed[-1] = f"{packed[-1]}\n\n{text}"
        else:
            packed.append(text)
    return packed
