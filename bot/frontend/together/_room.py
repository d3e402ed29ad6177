"""``ReadingRoom``: reading together on one bot, the face the commands and buttons talk to. It
starts and stops the work, answers for any press that fails, and after each part hands over to
the vote, the thread and the reminders."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import discord

from bot.frontend.coalesce import EditCoalescer
from bot.frontend.together._reading import ReadReceipts
from bot.frontend.together._reminders import Reminders
from bot.frontend.together._replies import Interaction, message_link, send_alone
from bot.frontend.together._threads import ThreadMessages
from bot.frontend.together._votes import VoteMessages
from bot.scheduler import SerialError

if TYPE_CHECKING:
    from bot.frontend.client import SerialBot
    from bot.scheduler import PartPosted
    from bot.store import Vote
    from bot.together import ReadingTogether

log = logging.getLogger(__name__)

# How long a shutdown waits for the after-post messages, edits and DMs under way.
STOP_GRACE_SECONDS = 1.0


class ReadingRoom:
    def __init__(self, bot: SerialBot, *, discussion_rule: str, edit_interval: float = 1.0) -> None:
        self.bot = bot
        self.edits = EditCoalescer(edit_interval)
        self._core: ReadingTogether | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.votes = VoteMessages(self)
        self.threads = ThreadMessages(self, discussion_rule=discussion_rule)
        self.receipts = ReadReceipts(self)
        self.reminders = Reminders(self)

    @property
    def core(self) -> ReadingTogether:
        if self._core is None:
            raise RuntimeError("reading together starts in setup_hook")
        return self._core

    async def start(self, core: ReadingTogether) -> None:
        self._core = core
        await self.reminders.start()
        self.votes.start()

    async def stop(self) -> None:
        await self.votes.stop()
        try:
            async with asyncio.timeout(STOP_GRACE_SECONDS):
                await self.settled()
        except TimeoutError:
            # Discord is slow to take the last edits and DMs: they are best effort, drop them.
            log.warning("Stopping with thread messages, edits or DMs not sent")
            for task in self._tasks:
                task.cancel()
            self.edits.cancel()

    async def settled(self) -> None:
        """Wait until the work started so far (after-post messages, DMs, edits) is done."""
        while self._tasks or self.edits._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
            await self.edits.flush()

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("%s failed", task.get_name(), exc_info=error)

    async def answer(self, interaction: Interaction, work: Coroutine[Any, Any, None]) -> None:
        """Run a button's work; whatever goes wrong, the member gets an answer saying so."""
        try:
            await work
        except SerialError as error:
            text = str(error)
        except Exception:
            log.exception("A button press failed")
            text = "Sorry, something went wrong on our side. It has been logged; try again soon."
        else:
            return
        try:
            await send_alone(interaction, text)
        except discord.HTTPException:
            log.warning("could not tell the member about an error", exc_info=True)

    def part_link(self, guild_id: int, channel_id: int, message_id: int) -> str:
        """A link to a part's first message. In a forum that message opens the part's post,
        whose id it shares, and lives in the post rather than the forum."""
        where = channel_id
        if isinstance(self.bot.get_channel(channel_id), discord.ForumChannel):
            where = message_id
        return message_link(guild_id, where, message_id)

    def part_posted(self, posted: PartPosted) -> None:
        self._spawn(self._after_post(posted), f"after-part-{posted.channel_id}-{posted.part}")

    async def _after_post(self, posted: PartPosted) -> None:
        if posted.trigger == "schedule":
            vote = await self.core.part_posted(posted.channel_id)
            if vote is not None:
                self.show_vote(vote)
        link = self.part_link(posted.guild_id, posted.channel_id, posted.message_ids[0])
        previous = await self.threads.previous_part(posted)
        await self.threads.open(posted, previous)
        await self.threads.hand_off(posted, link, previous)
        await self.reminders.send(posted, link)

    # The commands' and buttons' ways in, each to the part that does the work.

    def show_vote(self, vote: Vote) -> None:
        self.votes.show(vote)

    async def vote_pressed(self, interaction: Interaction, vote_id: int) -> None:
        await self.votes.pressed(interaction, vote_id)

    async def read_pressed(self, interaction: Interaction, nonce: str) -> None:
        await self.receipts.read_pressed(interaction, nonce)

    async def catchup(self, interaction: Interaction) -> None:
        await self.receipts.catchup(interaction)

    async def mark_all_pressed(self, interaction: Interaction, channel_id: int, part: int) -> None:
        await self.receipts.mark_all_pressed(interaction, channel_id, part)

    async def page_pressed(self, interaction: Interaction, channel_id: int, part: int) -> None:
        await self.receipts.page_pressed(interaction, channel_id, part)

    async def next_part_view(self, channel_id: int, part: int) -> discord.ui.View | None:
        return await self.receipts.next_part_view(channel_id, part)

    async def remind(self, interaction: Interaction, channel_id: int, on: bool) -> None:
        await self.reminders.set(interaction, channel_id, on)

    async def tell_refused_reminders(self, interaction: Interaction) -> None:
        await self.reminders.tell_refused(interaction)
