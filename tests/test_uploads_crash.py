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
