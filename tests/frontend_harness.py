"""The real bot (``SerialBot``) logged in to the Discord API double, with a ``ManualClock`` driving
its scheduler and a library written for the test. Used by the ``test_frontend_*`` wire tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.clock import ManualClock
from bot.config import CommandSettings, Config, NextSettings, UploadSettings
from bot.frontend.client import SerialBot
from bot.library import Library
from bot.origins import parse_origin
from bot.poster import Destination
from bot.store import Store, Subscription
from tests.discord_double import (
    FAST_GUILD_READY_TIMEOUT,
    DiscordDouble,
    InvokedInteraction,
    Message,
    connected_client,
)

# A Monday noon; the default schedule below posts at 18:00 UTC every day.
START = datetime(2030, 6, 3, 12, 0, tzinfo=UTC)
SCHEDULE = "daily 18:00"


def write_story(
    folder: Path,
    slug: str,
    paragraphs: Sequence[str],
    *,
    title: str,
    rating: str = "general",
    words_per_part: int = 60,
    content_notes: Sequence[str] = (),
    author: str | None = "A. Writer",
    summary: str | None = "A story written for the tests.",
) -> Path:
    meta: dict[str, Any] = {"title": title, "rating": rating, "words_per_part": words_per_part}
    if author:
        meta["author"] = author
    if content_notes:
        meta["content_notes"] = list(content_notes)
    if summary:
        meta["summary"] = summary
    path = folder / f"{slug}.txt"
    path.write_text(
        "---\n"
        + yaml.safe_dump(meta, sort_keys=False)
        + "---\n\n"
        + "\n\n".join(paragraphs)
        + "\n",
        encoding="utf-8",
    )
    return path


def lighthouse_paragraphs() -> list[str]:
    """Nine paragraphs of about twenty words: three parts at 60 words a part."""
    return [
        f"Night {i} at the lighthouse began as every night did, with the keeper climbing "
        f"the stairs and counting each of the {100 + i} steps aloud to the wind."
        for i in range(1, 10)
    ]


@dataclass
class Harness:
    double: DiscordDouble
    bot: SerialBot
    clock: ManualClock
    library: Library
    store: Store

    @property
    def general(self) -> int:
        return self.double.channels["general"]

    async def invoke(
        self,
        path: str,
        options: Mapping[str, Any] | None = None,
        *,
        admin: bool = False,
        channel_id: int | None = None,
        user_id: int | None = None,
    ) -> InvokedInteraction:
        return await self.double.invoke(
            path,
            options,
            channel_id=channel_id or self.general,
            user_id=user_id or (self.double.admin_id if admin else self.double.reader_id),
        )

    async def subscribe(
        self, story: str, *, channel_id: int | None = None, **options: Any
    ) -> InvokedInteraction:
        record = await self.invoke(
            "serial subscribe",
            {"story": story, "schedule": SCHEDULE, **options},
            admin=True,
            channel_id=channel_id,
        )
        await record.reply()
        return record

    async def advance(self, delta: timedelta) -> None:
        """Move time on and wait until the scheduler has done everything that became due."""
        self.clock.advance(delta)
        await self.bot.scheduler.idle()
        await self.bot.reading.settled()

    async def until_first_post(self) -> None:
        """From START (noon) to just past 18:00, when the first scheduled part goes out."""
        await self.advance(timedelta(hours=6, minutes=1))

    def bot_messages(self, channel_id: int) -> list[Message]:
        return self.double.bot_messages(channel_id)


def config_for(double: DiscordDouble, tmp_path: Path, **overrides: Any) -> Config:
    values: dict[str, Any] = {
        "stories": tmp_path / "stories",
        "database": tmp_path / "serialbot.sqlite3",
        "default_schedule": SCHEDULE,
        "next": NextSettings(cooldown_minutes=30, quorum=1, quorum_window_minutes=30),
        "commands": CommandSettings(sync_guild=double.guild_id),
        # The double serves attachments from its own address, allowed as an operator would.
        "uploads": UploadSettings(extra_attachment_origins=(parse_origin(double.origin),)),
    }
    values.update(overrides)
    return Config(**values)


@contextlib.asynccontextmanager
async def running_bot(
    double: DiscordDouble, tmp_path: Path, *, start: datetime = START, **config_overrides: Any
) -> AsyncIterator[Harness]:
    """The bot connected to ``double``, using the stories already written to
    ``tmp_path / "stories"``, its clock starting at ``start``."""
    config = config_for(double, tmp_path, **config_overrides)
    library = Library.load(config.stories, words_per_part=config.words_per_part)
    clock = ManualClock(start)
    store = await Store.open(config.database)
    try:
        bot = SerialBot(
            config=config,
            store=store,
            library=library,
            clock=clock,
            sync_state=tmp_path / "commands.json",
            guild_ready_timeout=FAST_GUILD_READY_TIMEOUT,
        )
        async with connected_client(double, bot) as connected:
            yield Harness(double, connected, clock, library, store)
    finally:
        await store.close()


def stories_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "stories"
    folder.mkdir(exist_ok=True)
    return folder


def destination_of(sub: Subscription) -> Destination:
    """Where the scheduler posts a subscription's parts, for calling the poster directly."""
    return Destination(sub.guild_id, sub.channel_id, sub.thread_archive_minutes)
