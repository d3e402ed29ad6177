"""The bot's buttons. Each is a ``DynamicItem``: its state lives in its ``custom_id`` (matched by a
template), so a button keeps working after a restart once the classes are registered with
``Client.add_dynamic_items`` in ``setup_hook``. Every ``custom_id`` is untrusted input: a
template admits only digits (or a nonce's letters and digits) of bounded length, and the
callbacks check what the id names against the store before acting.

The callbacks hand over to ``bot.frontend.together.ReadingRoom``; nothing here decides anything.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.frontend.library_pages import PreviewPage

if TYPE_CHECKING:
    pass

Interaction = discord.Interaction["SerialBot"]

PREFIX = "serial:"
VOTE_LABEL = "Me too"
READ_LABEL = "Read"
NEXT_PART_LABEL = "Next part ▸"
MARK_ALL_LABEL = "Mark all read"

_ID = r"[0-9]{1,20}"
_PART = r"[0-9]{1,6}"
_NONCE = r"[0-9a-z]{1,25}"


class VoteButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"serial:vote:(?P<vote>{_ID})"
):
    """ "⏭ Me too" on a channel's vote for the next part."""

    def __init__(self, vote_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=VOTE_LABEL,
                emoji="⏭",
                style=discord.ButtonStyle.primary,
                custom_id=f"serial:vote:{vote_id}",
            )
        )
        self.vote_id = vote_id

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> VoteButton:
        return cls(int(match["vote"]))

    async def callback(self, interaction: Interaction) -> None:
        await interaction.client.reading.answer(
            interaction, interaction.client.reading.vote_pressed(interaction, self.vote_id)
        )


class ReadButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"serial:read:(?P<nonce>{_NONCE})"
):
    """ "✓ Read" on the first message of each part; names the part's delivery by its nonce."""

    def __init__(self, nonce: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=READ_LABEL,
                emoji="✓",
                style=discord.ButtonStyle.secondary,
                custom_id=f"serial:read:{nonce}",
            )
        )
        self.nonce = nonce

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> ReadButton:
        return cls(match["nonce"])

    async def callback(self, interaction: Interaction) -> None:
        await interaction.client.reading.answer(
            interaction, interaction.client.reading.read_pressed(interaction, self.nonce)
        )


class NextPartButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=rf"serial:page:(?P<channel>{_ID}):(?P<part>{_PART})",
):
    """ "Next part ▸" under a part shown with ``/serial read``: shows ``part`` if it is posted."""

    def __init__(self, channel_id: int, part: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=NEXT_PART_LABEL,
                style=discord.ButtonStyle.secondary,
                custom_id=f"serial:page:{channel_id}:{part}",
            )
        )
        self.channel_id = channel_id
        self.part = part

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> NextPartButton:
        return cls(int(match["channel"]), int(match["part"]))

    async def callback(self, interaction: Interaction) -> None:
        await interaction.client.reading.answer(
            interaction,
            interaction.client.reading.page_pressed(interaction, self.channel_id, self.part),
        )


class MarkAllReadButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=rf"serial:readall:(?P<channel>{_ID}):(?P<part>{_PART})",
):
    """ "Mark all read" under ``/serial catchup``: every part up to ``part``."""

    def __init__(self, channel_id: int, part: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=MARK_ALL_LABEL,
                style=discord.ButtonStyle.success,
                custom_id=f"serial:readall:{channel_id}:{part}",
            )
        )
        self.channel_id = channel_id
        self.part = part

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> MarkAllReadButton:
        return cls(int(match["channel"]), int(match["part"]))

    async def callback(self, interaction: Interaction) -> None:
        await interaction.client.reading.answer(
            interaction,
            interaction.client.reading.mark_all_pressed(interaction, self.channel_id, self.part),
        )


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    VoteButton,
    ReadButton,
    NextPartButton,
    MarkAllReadButton,
    PreviewPage,
)


def is_ours(custom_id: str) -> bool:
    """Whether one of the bot's buttons answers this ``custom_id``."""
    return any(item.__discord_ui_compiled_template__.fullmatch(custom_id) for item in DYNAMIC_ITEMS)


def shown(interaction: discord.Interaction[Any]) -> bool:
    """Whether the pressed message shows the pressed id: only then does discord.py call a
    ``DynamicItem`` (an id copied onto another message would otherwise go unanswered)."""
    custom_id = str((interaction.data or {}).get("custom_id", ""))
    message = interaction.message
    return message is not None and any(
        getattr(child, "custom_id", None) == custom_id
        for row in message.components
        for child in getattr(row, "children", [row])
    )


async def press_unshown(interaction: Interaction) -> bool:
    """Hand a press of one of our ids that the message does not show to its button, which
    checks it like any other; ``False`` when the id is none of ours."""
    custom_id = str((interaction.data or {}).get("custom_id", ""))
    for item_class in DYNAMIC_ITEMS:
        match = item_class.__discord_ui_compiled_template__.fullmatch(custom_id)
        if match is not None:
            item = await item_class.from_custom_id(interaction, None, match)  # type: ignore[arg-type]
            await item.callback(interaction)
            return True
    return False


def view_of(*items: discord.ui.Item[Any]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    return view
