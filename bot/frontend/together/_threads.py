"""Each part's thread: its opening message (the discussion rule, the way back to the previous
part's thread, how many have read it), kept up to date, and the hand-off the previous part's
thread gets when the next part is out."""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

import discord

from bot.together import hand_off_text, opener_text

if TYPE_CHECKING:
    from bot.frontend.together._room import ReadingRoom
    from bot.scheduler import PartPosted
    from bot.store import Delivery

log = logging.getLogger(__name__)


def _nonce(base: str, what: str) -> str:
    return hashlib.blake2b(f"{base}/{what}".encode(), digest_size=12).hexdigest()


class ThreadMessages:
    def __init__(self, room: ReadingRoom, *, discussion_rule: str) -> None:
        self.room = room
        self.discussion_rule = discussion_rule

    def update_opener(self, delivery: Delivery) -> None:
        """Bring the read count in the part's thread opening message up to date."""
        self.room.edits.request(("opener", delivery.id), lambda: self._render_opener(delivery))

    async def _render_opener(self, delivery: Delivery) -> None:
        opener = await self.room.core.thread_opener(delivery)
        if opener is None:
            return
        thread_id, message_id = opener
        text = await self._opener_text(delivery.channel_id, delivery.part)
        thread = self.room.bot.get_partial_messageable(thread_id)
        await thread.get_partial_message(message_id).edit(content=text)

    async def previous_part(self, posted: PartPosted) -> Delivery | None:
        """The delivery of the part before ``posted`` (its thread is handed off from)."""
        if posted.part <= 1:
            return None
        return await self.room.core.scheduler.posted_part(posted.channel_id, posted.part - 1)

    async def _opener_text(
        self,
        channel_id: int,
        part: int,
        *,
        just_posted: PartPosted | None = None,
        previous: Delivery | None = None,
    ) -> str:
        core = self.room.core
        if just_posted is None and part > 1:
            previous = await core.scheduler.posted_part(channel_id, part - 1)
        if just_posted is not None:
            # Known from the post itself, and nobody has read a part that is not out yet.
            total, readers = just_posted.parts_total, 0
        else:
            status = await core.scheduler.status(channel_id)
            total = status.parts_total or part
            readers = (await core.read_counts(channel_id)).get(part, 0)
        return opener_text(
            part,
            total,
            rule=self.discussion_rule,
            previous_thread=f"<#{previous.thread_id}>" if previous and previous.thread_id else None,
            readers=readers,
        )

    async def open(self, posted: PartPosted, previous: Delivery | None) -> None:
        """Open the part's thread; ``previous`` is ``previous_part(posted)``."""
        if posted.thread_id is None:
            return
        text = await self._opener_text(
            posted.channel_id, posted.part, just_posted=posted, previous=previous
        )
        thread = self.room.bot.get_partial_messageable(posted.thread_id, guild_id=posted.guild_id)
        try:
            sent = await thread.send(text, nonce=_nonce(posted.nonce, "opener"))
        except discord.HTTPException as error:
            log.warning("Could not open the thread of part %s: %s", posted.part, error)
            return
        await self.room.core.thread_opened(posted.nonce, posted.thread_id, sent.id)

    async def hand_off(self, posted: PartPosted, link: str, previous: Delivery | None) -> None:
        """Point the previous part's thread (``previous_part(posted)``) to this part."""
        if previous is None or previous.thread_id is None:
            return
        thread = self.room.bot.get_partial_messageable(previous.thread_id, guild_id=posted.guild_id)
        try:
            await thread.send(
                hand_off_text(posted.part, link), nonce=_nonce(posted.nonce, "hand-off")
            )
        except discord.HTTPException as error:
            # A locked or deleted thread keeps its conversation as it is.
            log.info("Could not hand off from the thread of part %s: %s", posted.part - 1, error)
