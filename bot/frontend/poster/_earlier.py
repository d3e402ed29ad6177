"""What an earlier attempt at a post already put in the channel: Discord keeps nonces for a few
minutes only, so a part tried again after longer is looked for in the channel's history (and a
forum post, which carries no nonce, among the forum's posts)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

import discord

# Discord keeps nonces for "a few minutes"; a forum post (which cannot carry a nonce) found
# within this window is taken to be our own earlier attempt at the same part.
REPEAT_WINDOW = timedelta(minutes=2)
# How far back a repeated post looks for what an earlier attempt posted. The look stops at the
# bot's last installment opening, which is nearly always on the first page of 100.
HISTORY_SCAN = 500


# The start of an installment as ``bot.render`` writes it: a header ("**Title**", then
# "Part n of N · ...") or the closing message. Anything the bot posted after one of these belongs
# to that installment or to a later one, never to an earlier one.
_HEADER = re.compile(r"\A\*\*[^\n]*\*\*[^\n]*\nPart \d+ of \d+ · ")
_THE_END = re.compile(r"\A\*\*The End\*\*\n")


def is_installment_start(content: str) -> bool:
    """Whether a message of the bot opens an installment (a part's header or the closing
    message), as opposed to a notice or the text of a part."""
    return bool(_HEADER.match(content) or _THE_END.match(content))


async def already_posted(
    me: discord.ClientUser | None,
    channel: discord.TextChannel | discord.Thread,
    texts: Sequence[str],
) -> list[discord.Message]:
    """The messages of ``texts`` (an installment, its opening message first) that the bot
    already posted in ``channel``, in order: the start of ``texts`` found after the bot's
    last installment opening. Other messages in between (readers, answers to commands,
    notices) do not matter."""
    if me is None:
        return []
    wanted = [t.strip() for t in texts]
    ours: list[discord.Message] = []
    async for message in channel.history(limit=HISTORY_SCAN):  # newest first
        if (
            message.author.id != me.id
            or message.type is not discord.MessageType.default
            or message.interaction_metadata is not None
        ):
            continue
        ours.append(message)
        if is_installment_start(message.content):
            break
    ours.reverse()
    if not ours or ours[0].content.strip() != wanted[0]:
        return []
    found = [ours[0]]
    for message in ours[1:]:
        if len(found) < len(wanted) and message.content.strip() == wanted[len(found)]:
            found.append(message)
    return found


async def recent_post(
    me: discord.ClientUser | None,
    forum: discord.ForumChannel,
    name: str,
    *,
    resume: bool = False,
) -> discord.Thread | None:
    """Our own post with this name that an earlier attempt made, if any. Forum posts cannot
    carry a nonce: a post with this name made within the repeat window is taken to be ours,
    and when resuming, so is the bot's newest active post, whatever its age, if it has this
    name."""
    if me is None:
        return None
    threads = {t.id: t for t in forum.threads}
    if resume:
        # Start-up repairs run before the gateway has filled the cache: ask Discord.
        for thread in await forum.guild.active_threads():
            if thread.parent_id == forum.id:
                threads.setdefault(thread.id, thread)
    own = sorted((t for t in threads.values() if t.owner_id == me.id), key=lambda t: t.id)
    if resume and own and own[-1].name == name:
        return own[-1]
    cutoff = discord.utils.utcnow() - REPEAT_WINDOW
    for thread in own:
        if thread.name == name and discord.utils.snowflake_time(thread.id) >= cutoff:
            return thread
    return None
