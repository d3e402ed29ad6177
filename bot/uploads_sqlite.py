"""The servers' uploaded stories in the SQLite store (see ``bot.uploads_db``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.uploads import OverQuota, SlugTaken, Upload, UploadLimits
from bot.uploads_db import LISTED, Purged, Transaction, Usage, over_quota, row_of, ts, upload_of


class SqliteUploads:
    """Uploads in the SQLite store: ``transaction`` is its write transaction (BEGIN IMMEDIATE,
    so the limits read inside it cannot change before the write), ``fetch`` its reader."""

    def __init__(self, transaction: Transaction, fetch: Callable[..., Any]) -> None:
        self._transaction = transaction
        self._fetch = fetch

    async def add(self, upload: Upload, limits: UploadLimits) -> None:
        async with self._transaction() as db:
            if await _sqlite_rows(
                db,
                "SELECT 1 FROM uploads WHERE guild_id = ? AND slug = ?",
                upload.guild_id,
                upload.slug,
            ):
                raise SlugTaken(upload.slug)
            usage = await self._usage(db, upload.guild_id)
            problem = over_quota(usage, limits, adding=1, size=upload.size)
            if problem is not None:
                raise OverQuota(problem)
            await db.execute(
                f"INSERT INTO uploads ({LISTED.replace('meta,', 'meta, data,')}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row_of(upload),
            )

    async def replace(self, upload: Upload, limits: UploadLimits) -> bool:
        """A new file for a story the server has; False when it has none by that slug."""
        async with self._transaction() as db:
            old = await _sqlite_rows(
                db,
                "SELECT size FROM uploads WHERE guild_id = ? AND slug = ?",
                upload.guild_id,
                upload.slug,
            )
            if not old:
                return False
            usage = await self._usage(db, upload.guild_id)
            without = Usage(usage.stories, usage.bytes - int(old[0]["size"]))
            problem = over_quota(without, limits, adding=0, size=upload.size)
            if problem is not None:
                raise OverQuota(problem)
            row = row_of(upload)
            await db.execute(
                """
                UPDATE uploads SET filename = ?, sha256 = ?, size = ?, title = ?, meta = ?,
                    data = ?, uploaded_by = ?, updated_at = ?
                WHERE guild_id = ? AND slug = ?
                """,
                (*row[2:9], row[10], upload.guild_id, upload.slug),
            )
            return True

    async def set_meta(
        self, guild_id: int, slug: str, *, title: str, meta: dict[str, Any], now: datetime
    ) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE uploads SET title = ?, meta = ?, updated_at = ? "
                "WHERE guild_id = ? AND slug = ?",
                (title, json.dumps(meta, sort_keys=True), ts(now), guild_id, slug),
            )
            return bool(cursor.rowcount)

    async def remove(self, guild_id: int, slug: str) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "DELETE FROM uploads WHERE guild_id = ? AND slug = ?", (guild_id, slug)
            )
            await db.execute(
                "DELETE FROM story_texts WHERE slug = ? AND NOT EXISTS "
                "(SELECT 1 FROM subscriptions WHERE subscriptions.slug = story_texts.slug)",
                (f"{guild_id}:{slug}",),
            )
            return bool(cursor.rowcount)

    async def get(self, guild_id: int, slug: str) -> Upload | None:
        rows = await self._fetch(
            f"SELECT {LISTED}, data FROM uploads WHERE guild_id = ? AND slug = ?",
            (guild_id, slug),
        )
        return upload_of(rows[0], with_data=True) if rows else None

    async def listed(self, guild_id: int | None = None) -> list[Upload]:
        """Every upload (of one server), without the files."""
        where, params = ("WHERE guild_id = ?", (guild_id,)) if guild_id is not None else ("", ())
        rows = await self._fetch(
            f"SELECT {LISTED} FROM uploads {where} ORDER BY guild_id, slug", params
        )
        return [upload_of(r, with_data=False) for r in rows]

    async def usage(self, guild_id: int) -> Usage:
        rows = await self._fetch(
            "SELECT count(*) AS n, coalesce(sum(size), 0) AS b FROM uploads WHERE guild_id = ?",
            (guild_id,),
        )
        return Usage(int(rows[0]["n"]), int(rows[0]["b"]))

    async def _usage(self, db: Any, guild_id: int) -> Usage:
        rows = await _sqlite_rows(
            db,
            "SELECT count(*) AS n, coalesce(sum(size), 0) AS b FROM uploads WHERE guild_id = ?",
            guild_id,
        )
        return Usage(int(rows[0]["n"]), int(rows[0]["b"]))

    async def guild_left(self, guild_id: int, now: datetime) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO departed_guilds (guild_id, left_at) VALUES (?, ?) "
                "ON CONFLICT (guild_id) DO NOTHING",
                (guild_id, ts(now)),
            )

    async def guild_back(self, guild_id: int) -> None:
        async with self._transaction() as db:
            await db.execute("DELETE FROM departed_guilds WHERE guild_id = ?", (guild_id,))

    async def departed_before(self, cutoff: datetime) -> list[int]:
        rows = await self._fetch(
            "SELECT guild_id FROM departed_guilds WHERE left_at <= ? ORDER BY guild_id",
            (ts(cutoff),),
        )
        return [int(r["guild_id"]) for r in rows]

    async def purge_guild(self, guild_id: int) -> Purged:
        """Everything the bot keeps for one server: its uploads, channels and their progress,
        votes and reminders. Deliveries, receipts and thread openers go with the channels."""
        async with self._transaction() as db:
            uploads = await db.execute("DELETE FROM uploads WHERE guild_id = ?", (guild_id,))
            await db.execute(
                "DELETE FROM next_requests WHERE channel_id IN "
                "(SELECT channel_id FROM subscriptions WHERE guild_id = ?)",
                (guild_id,),
            )
            subs = await db.execute("DELETE FROM subscriptions WHERE guild_id = ?", (guild_id,))
            await db.execute("DELETE FROM votes WHERE guild_id = ?", (guild_id,))
            await db.execute("DELETE FROM reminders WHERE guild_id = ?", (guild_id,))
            await db.execute(
                "DELETE FROM story_texts WHERE substr(slug, 1, length(?)) = ?",
                (f"{guild_id}:", f"{guild_id}:"),
            )
            await db.execute("DELETE FROM departed_guilds WHERE guild_id = ?", (guild_id,))
            return Purged(uploads=uploads.rowcount, subscriptions=subs.rowcount)


async def _sqlite_rows(db: Any, sql: str, *params: Any) -> list[Any]:
    async with db.execute(sql, params) as cursor:
        return list(await cursor.fetchall())
