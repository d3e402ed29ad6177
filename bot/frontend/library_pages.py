"""What the library commands show: a story's card after an upload, and its preview, a page of
parts at a time with buttons to page through. The buttons are ``DynamicItem``s: their state (the
story, the part length, the page) lives in the ``custom_id``, which is untrusted input, so a press
is checked like a command (Manage Channels, a story of this server or a shared one)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord.utils import escape_markdown

from bot.frontend import library_answers as say
from bot.frontend.answers import fit_message
from bot.frontend.stories import OWN_MARK, SHARED_MARK, UNRATED, serial_title
from bot.limits import AUTHOR_SHOWN, CUSTOM_ID_LIMIT, MESSAGE_LIMIT, shorten
from bot.preview import ENDS_AT
from bot.render import part_lines
from bot.splitter import split
from bot.story import WORDS_PER_MINUTE, Part, Serial
from bot.together import plural

if TYPE_CHECKING:
    from bot.catalog import Entry
    from bot.frontend.client import SerialBot

    Interaction = discord.Interaction[SerialBot]

# How ``story.source`` names a text read in another encoding than UTF-8.
_OTHER_ENCODINGS = ("Windows-", "Latin-", "ISO-", "cp", "mac_")
PARTS_PER_PAGE = 8
BOUNDARIES_SHOWN = 3
# Characters of each first and last line, as posted (escapes and markers counted).
_LINE_SHOWN = 120
_LINE_MIN = 24


def cut(entry: Entry, words_per_part: int | None, tolerance: float) -> Serial:
    """The story cut at ``words_per_part`` (None: as channels get it)."""
    serial = entry.serial
    if words_per_part is None:
        return serial
    return Serial(serial.story, split(serial.story, words_per_part, tolerance))


def card(entry: Entry, *, heading: str, notes: list[str] | None = None) -> str:
    """A story in short: what ``preview`` would say, with the first part boundaries."""
    serial = entry.serial
    story = serial.story
    meta = story.meta
    minutes = max(1, round(story.words / WORDS_PER_MINUTE))
    lines = [heading, serial_title(serial)]
    if meta.author:
        lines[-1] += f" by {escape_markdown(shorten(meta.author, AUTHOR_SHOWN))}"
    rating = meta.rating.value if entry.rated else f"**{UNRATED}**"
    lines.append(
        f"`{entry.slug}` · {OWN_MARK if not entry.shared else SHARED_MARK} · rating: {rating}"
    )
    notes_text = ", ".join(meta.content_notes) if meta.content_notes else "none given"
    lines.append(f"Content notes: {escape_markdown(shorten(notes_text, 300))}")
    lines.append(
        f"{plural(len(serial.parts), 'part')} · {story.words:,} words · about "
        f"{_hours(minutes)} of reading"
    )
    for part in serial.parts[:BOUNDARIES_SHOWN]:
        lines.append(_boundary(part))
    if len(serial.parts) > BOUNDARIES_SHOWN:
        lines.append(say.every_part(entry.slug))
    if entry.upload is not None:
        lines.append(
            say.kept_from(escape_markdown(shorten(entry.upload.filename, 60)), entry.upload.size)
        )
    for warning in story.warnings[:3]:
        lines.append(say.note(escape_markdown(shorten(warning, 200))))
    if any(name in story.source for name in _OTHER_ENCODINGS):
        lines.append(say.letters_look_wrong(entry.slug))
    lines.extend(notes or [])
    return fit_message("\n".join(lines))


def _hours(minutes: int) -> str:
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes / 60:.1f} h"


def _boundary(part: Part) -> str:
    return (
        f"Part {part.index}: {part.words:,} words, {part.minutes} min, ends at "
        f"{ENDS_AT[part.ends_with]}"
    )


def page_count(serial: Serial) -> int:
    return max(1, -(-len(serial.parts) // PARTS_PER_PAGE))


def preview_page(entry: Entry, serial: Serial, page: int) -> str:
    """One page of the preview: each part's words, minutes and where it ends, and its first and
    last lines as the channel will read them (``bot.render``: escaped, with the file's italics
    and bold), the lines shortened so that the page fits one message."""
    pages = page_count(serial)
    page = min(max(page, 1), pages)
    first = (page - 1) * PARTS_PER_PAGE
    shown = serial.parts[first : first + PARTS_PER_PAGE]
    head = (
        f"{serial_title(serial)} · {plural(len(serial.parts), 'part')} · "
        f"{serial.story.words:,} words · page {page} of {pages}"
    )
    tail = "" if entry.rated else "\n\n" + say.preview_unrated(UNRATED)
    headings = [f"**Part {part.index}** · {_boundary(part).split(': ', 1)[1]}" for part in shown]
    # Each part: a blank line, its heading, and two lines of text with their marks.
    fixed = len(head) + len(tail) + sum(2 + len(h) for h in headings)
    room = MESSAGE_LIMIT - fixed - len(shown) * 2 * len("\n▸ ")
    budget = max(_LINE_MIN, min(_LINE_SHOWN, room // max(1, 2 * len(shown))))
    lines = [head]
    for part, heading in zip(shown, headings, strict=True):
        lines += ["", heading]
        found = part_lines(serial, part, budget)
        if found is not None:
            lines += [f"▸ {found[0]}", f"◂ {found[1]}"]
    return fit_message("\n".join(lines) + tail)


def preview_view(entry: Entry, words: int, page: int, pages: int) -> discord.ui.View | None:
    """◂ and ▸ buttons, when there is more than one page (and the id fits)."""
    widest = PreviewPage.custom_id_for(entry.slug, words, pages)
    # A shared story's slug may be longer than a button's id can carry: no buttons then.
    if pages <= 1 or len(widest) > CUSTOM_ID_LIMIT or not PreviewPage.matches(widest):
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(PreviewPage(entry.slug, words, page - 1, "◂ Previous", disabled=page <= 1))
    view.add_item(PreviewPage(entry.slug, words, page + 1, "Next ▸", disabled=page >= pages))
    return view


class PreviewPage(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"serial:preview:(?P<page>[0-9]{1,5}):(?P<words>[0-9]{1,6}):(?P<slug>[a-z0-9-]{1,64})",
):
    """A page of ``/serial library preview``; ``words`` 0 means as channels get the story."""

    def __init__(
        self, slug: str, words: int, page: int, label: str = "Page", *, disabled: bool = False
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=self.custom_id_for(slug, words, max(page, 0)),
                disabled=disabled,
            )
        )
        self.slug, self.words, self.page = slug, words, page

    @staticmethod
    def custom_id_for(slug: str, words: int, page: int) -> str:
        return f"serial:preview:{page}:{words}:{slug}"

    @classmethod
    def matches(cls, custom_id: str) -> bool:
        return cls.__discord_ui_compiled_template__.fullmatch(custom_id) is not None

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> PreviewPage:
        return cls(match["slug"], int(match["words"]), int(match["page"]))

    async def callback(self, interaction: Interaction) -> None:
        bot = interaction.client
        if interaction.guild_id is None or not interaction.permissions.manage_channels:
            await interaction.response.send_message(say.NOT_ADMIN, ephemeral=True)
            return
        entry = bot.catalog.find(interaction.guild_id, self.slug)
        if entry is None:
            await interaction.response.send_message(say.GONE, ephemeral=True)
            return
        serial = cut(entry, self.words or None, bot.catalog.tolerance)
        pages = page_count(serial)
        page = min(max(self.page, 1), pages)
        await interaction.response.edit_message(
            content=preview_page(entry, serial, page),
            view=preview_view(entry, self.words, page, pages),
        )


def asks(entry: Entry) -> list[str]:
    """What the file did not say and an admin should."""
    asks = []
    if not entry.rated:
        asks.append(say.unrated(entry.slug))
    if not entry.serial.story.meta.content_notes:
        asks.append(say.no_content_notes(entry.slug))
    return asks
