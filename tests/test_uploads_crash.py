"""A process killed (SIGKILL) while it writes an upload leaves the whole story or nothing: the
database opens again, and every story in it is complete, its bytes matching its sha256."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.store import Store
from bot.uploads import sha256_of
from tests.crash_harness import BotProcess, until, write_config
from tests.discord_double import DiscordDouble
from tests.test_frontend_uploads import story_file

ROOT = Path(__file__).resolve().parent.parent

# Writes uploads of 3 MB (each different) one after another, saying "stored N" after each.
WRITER = """
import asyncio, os, sys
from datetime import UTC, datetime
from bot.store import Store
from bot.uploads import MEGABYTE, Upload, UploadLimits, sha256_of

async def main(path, start):
    store = await Store.open(path)
    limits = UploadLimits(stories_per_server=10_000, bytes_per_server=100_000 * MEGABYTE)
    now = datetime.now(UTC)
    for n in range(start, start + 1000):
        data = os.urandom(3 * MEGABYTE)
        upload = Upload(guild_id=1 << 40, slug=f"s{n}", filename="s.txt",
                        sha256=sha256_of(data), size=len(data), title="S", meta={},
                        uploaded_by=1, uploaded_at=now, updated_at=now, data=data)
        await store.uploads().add(upload, limits)
        print(f"stored {n}", flush=True)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


async def _kill_while_writing(path: Path, start: int, after: int) -> set[str]:
    """Start the writer, SIGKILL it once it has said it stored ``after`` uploads (while it
    writes a later one); returns the slugs it said it stored."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WRITER,
        str(path),
        str(start),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    stored: set[str] = set()
    try:
        async with asyncio.timeout(60):
            while len(stored) < after:
                line = await process.stdout.readline()
                assert line, "the writer ended before it was killed"
                stored.add(f"s{line.split()[1].decode()}")
            # Well into the next write: compressing and writing 3 MB takes a while.
            await asyncio.sleep(0.02 * (after % 4))
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    return stored


async def test_a_kill_during_an_upload_leaves_the_whole_story_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "serial.sqlite3"
    said: set[str] = set()
    for round_number, after in enumerate((1, 2, 3, 2)):
        said |= await _kill_while_writing(path, start=1000 * round_number, after=after)
        async with await Store.open(path) as store:
            uploads = store.uploads()
            listed = await uploads.listed()
            # What the writer said it stored is there; the one it was writing when it was
            # killed is there whole, or not at all.
            assert said <= {u.slug for u in listed}
            for entry in listed:
                full = await uploads.get(entry.guild_id, entry.slug)
                assert full is not None
                assert len(full.data) == full.size
                assert sha256_of(full.data) == full.sha256


async def test_the_bot_killed_during_an_upload_keeps_nothing_and_after_it_everything(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    """On the wire, with the real bot in a process of its own: killed while it downloads an
    attachment, it has stored nothing; killed right after it said "Added", the whole story is
    there after the restart, and offered again."""
    double = discord_double
    (tmp_path / "stories").mkdir()
    config = write_config(tmp_path, double)
    bot = BotProcess(double, config, tmp_path / "bot.log", speed=1.0)

    async def started() -> None:
        identified = double.gateway.identifies
        await bot.start()
        await double.wait_until_connected(30, identified_after=identified)

    async def stories() -> str:
        record = await double.invoke("serial stories", user_id=double.admin_id)
        return await record.text(timeout=15)

    try:
        await started()
        hanging = double.attachment("tide-clock.txt", story_file(), serve="hang")
        await double.invoke("serial library add", {"file": hanging}, user_id=double.admin_id)
        await until(lambda: hanging.requests == 1, timeout=15)
        await bot.kill()
        await started()
        assert "Tide Clock" not in await stories()

        whole = double.attachment("tide-clock.txt", story_file())
        record = await double.invoke("serial library add", {"file": whole}, user_id=double.admin_id)
        assert "Added" in await record.text(timeout=15)
        await bot.kill()
        assert bot.process is not None and bot.process.returncode == -signal.SIGKILL
        async with await Store.open(tmp_path / "serialbot.sqlite3") as store:
            kept = await store.uploads().get(double.guild_id, "tide-clock")
        assert kept is not None and kept.data == story_file()
        assert kept.sha256 == sha256_of(story_file())
        await started()
        assert "Tide Clock" in await stories()
        assert await bot.terminate() == 0
    except BaseException:
        bot.kill_now()
        print(bot.output()[-10_000:])
        raise
