"""The Discord permissions the bot needs, in one place: the invite link asks for exactly these,
``/serial subscribe`` checks them before accepting, and a refused post names the missing ones."""

from __future__ import annotations

import discord

# Text and announcement channels: the installment's messages in the channel, then a public
# thread on its first message for discussion.
TEXT_CHANNEL = (
    "view_channel",
    "send_messages",
    "embed_links",
    "read_message_history",
    "create_public_threads",
    "send_messages_in_threads",
)

# Forum channels: each part is a post (a thread created with its first message, which needs
# Send Messages in the forum); the rest of the part goes inside the post.
FORUM_CHANNEL = (
    "view_channel",
    "send_messages",
    "embed_links",
    "read_message_history",
    "send_messages_in_threads",
)


def required_for(channel: object) -> tuple[str, ...]:
    return FORUM_CHANNEL if isinstance(channel, discord.ForumChannel) else TEXT_CHANNEL


def invite_permissions() -> discord.Permissions:
    """The union of everything above: what the invite link requests."""
    return discord.Permissions(**dict.fromkeys(TEXT_CHANNEL + FORUM_CHANNEL, True))


def label(name: str) -> str:
    """``send_messages_in_threads`` -> ``Send Messages in Threads``, as Discord's settings say."""
    small = {"in", "of", "and"}
    return " ".join(w if w in small else w.capitalize() for w in name.split("_"))


def missing(permissions: discord.Permissions, needed: tuple[str, ...]) -> list[str]:
    """Readable names of the permissions in ``needed`` that ``permissions`` lacks."""
    return [label(name) for name in needed if not getattr(permissions, name)]
