"""A burst of commands while the database is slow to take writes (another process holds its
write lock: a backup, an operator's sqlite3 shell, a slow disk): every interaction is answered
within Discord's 3 seconds. Reads do not wait behind writes (they have a connection of their
own), ``/serial read`` defers before it reads, and work that may wait is deferred in time,
counting from when Discord created the interaction. The full-size figure (1,000 interactions in
a second, bot and double in separate processes) is ``python -m bench.burst``."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from tests.discord_double import CallbackType, DiscordDouble, InvokedInteraction
from tests.frontend_harness import lighthouse_paragraphs, running_bot, stories_folder, write_story

HOLD_SECONDS = 4.5
READERS = 20


async def test_a_burst_while_the_database_write_lock_is_held_is_answered_in_time(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    double = discord_double
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="T")
    async with running_bot(double, tmp_path) as harness:
        await harness.subscribe("lighthouse")
        await harness.until_first_post()
        readers = [await double.add_member(f"reader{n}") for n in range(READERS)]

        holder = sqlite3.connect(tmp_path / "serialbot.sqlite3", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            # A write of the bot's own now waits for the lock: a reader's vote for the next part.
            first = await harness.invoke("serial next", user_id=readers[0])
            await asyncio.sleep(0.2)
            burst: list[InvokedInteraction] = []
            for n, reader in enumerate(readers):
                for path, options in (
                    ("serial status", {}),
                    ("serial read", {"part": 1}),
                    ("serial stories", {}),
                    ("serial next", {}),
                ):
                    user = reader if path == "serial next" else readers[n - 1]
                    burst.append(await harness.invoke(path, options, user_id=user))
            await asyncio.sleep(HOLD_SECONDS)
        finally:
            holder.execute("ROLLBACK")
            holder.close()

        records = [first, *burst]
        kinds = await asyncio.gather(*(r.response(timeout=15) for r in records))
        late = [(r.name, r.rejected) for r in records if r.rejected]
        assert late == []
        assert all(r.latency is not None and r.latency < 3.0 for r in records)
        # what could answer at once did; what waited on the database was deferred
        by_name = dict(zip([r.name for r in records], kinds, strict=False))
        assert by_name["serial status"] == CallbackType.channel_message
        assert by_name["serial stories"] == CallbackType.channel_message
        for record in records:
            text = await record.text(timeout=15)
            assert "went wrong" not in text
        # one early part for the whole crowd, once the lock was free
        assert len(double.threads(harness.general)) == 2
