"""The servers' uploaded stories in the PostgreSQL store (see ``bot.uploads_db``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.uploads import OverQuota, SlugTaken, Upload, UploadLimits
from bot.uploads_db import LISTED, Purged, Transaction, Usage, over_quota, row_of, ts, upload_of


class PostgresUploads:
    """Uploads in the PostgreSQL store; the same behaviour as ``SqliteUploads``. Writes of one
    server take a transaction-scoped advisory lock on its id, so limits are checked and the
    row written by one process at a time."""

    def __init__(self, transaction: Transaction, connection: Transaction) -> None:
        self._transaction = transaction
        self._connection = connection

    async def _locked(self, db: Any, guild_id: int) -> None:
        # Guild ids are past 2**32: they never meet the schema lock's 32-bit hashtext key.
        await db.execute("SELECT pg_advisory_xact_lock($1::bigint)", guild_id)

    async def _rows(self, sql: str, *params: Any) -> Sequence[Any]:
        async with self._connection() as db:
            return list(await db.fetch(sql, *params))

    async def add(self, upload: Upload, limits: UploadLimits) -> None:
        async with self._transaction() as db:
            await self._locked(db, upload.guild_id)
            taken = await db.fetchval(
                "SELECT 1 FROM uploads WHERE guild_id = $1 AND slug = $2",
                upload.guild_id,
                upload.slug,
            )
            if taken:
                raise SlugTaken(upload.slug)
            usage = await self._usage(db, upload.guild_id)
            problem = over_quota(usage, limits, adding=1, size=upload.size)
            if problem is not None:
                raise OverQuota(problem)
            await db.execute(
                f"INSERT INTO uploads ({LISTED.replace('meta,', 'meta, data,')}) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                *row_of(upload),
            )

    async def replace(self, upload: Upload, limits: UploadLimits) -> bool:
        async with self._transaction() as db:
            await self._locked(db, upload.guild_id)
            old = await db.fetchval(
                "SELECT size FROM uploads WHERE guild_id = $1 AND slug = $2",
                upload.guild_id,
                upload.slug,
            )
            if old is None:
                return False
            usage = await self._usage(db, upload.guild_id)
            without = Usage(usage.stories, usage.bytes - int(old))
            problem = over_quota(without, limits, adding=0, size=upload.size)
            if problem is not None:
                raise OverQuota(problem)
            row = row_of(upload)
            await db.execute(
                """
                UPDATE uploads SET filename = $1, sha256 = $2, size = $3, title = $4, meta = $5,
                    data = $6, uploaded_by = $7, updated_at = $8
                WHERE guild_id = $9 AND slug = $10
                """,
                *row[2:9],
                row[10],
                upload.guild_id,
                upload.slug,
            )
            return True

    async def set_meta(
        self, guild_id: int, slug: str, *, title: str, meta: dict[str, Any], now: datetime
    ) -> bool:
        async with self._transaction() as db:
            status = await db.execute(
                "UPDATE uploads SET title = $1, meta = $2, updated_at = $3 "
                "WHERE guild_id = $4 AND slug = $5",
                title,
                json.dumps(meta, sort_keys=True),
                ts(now),
                guild_id,
                slug,
            )
            return _count(status) > 0

    async def remove(self, guild_id: int, slug: str) -> bool:
        async with self._transaction() as db:
            status = await db.execute(
                "DELETE FROM uploads WHERE guild_id = $1 AND slug = $2", guild_id, slug
            )
            await db.execute(
                "DELETE FROM story_texts WHERE slug = $1 AND NOT EXISTS "
                "(SELECT 1 FROM subscriptions WHERE subscriptions.slug = story_texts.slug)",
                f"{guild_id}:{slug}",
            )
            return _count(status) > 0

    async def get(self, guild_id: int, slug: str) -> Upload | None:
        rows = await self._rows(
            f"SELECT {LISTED}, data FROM uploads WHERE guild_id = $1 AND slug = $2",
            guild_id,
            slug,
        )
        return upload_of(rows[0], with_data=True) if rows else None

    async def listed(self, guild_id: int | None = None) -> list[Upload]:
        if guild_id is None:
            rows = await self._rows(
                f"SELECT {LISTED} FROM uploads ORDER BY guild_id, slug",
            )
        else:
            rows = await self._rows(
                f"SELECT {LISTED} FROM uploads WHERE guild_id = $1 ORDER BY slug", guild_id
            )
        return [upload_of(r, with_data=False) for r in rows]

    async def usage(self, guild_id: int) -> Usage:
        async with self._connection() as db:
            return await self._usage(db, guild_id)

    async def _usage(self, db: Any, guild_id: int) -> Usage:
        row = await db.fetchrow(
            "SELECT count(*) AS n, coalesce(sum(size), 0) AS b FROM uploads WHERE guild_id = $1",
            guild_id,
        )
        return Usage(int(row["n"]), int(row["b"]))

    async def guild_left(self, guild_id: int, now: datetime) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO departed_guilds (guild_id, left_at) VALUES ($1, $2) "
                "ON CONFLICT (guild_id) DO NOTHING",
                guild_id,
                ts(now),
            )

    async def guild_back(self, guild_id: int) -> None:
        async with self._transaction() as db:
            await db.execute("DELETE FROM departed_guilds WHERE guild_id = $1", guild_id)

    async def departed_before(self, cutoff: datetime) -> list[int]:
        rows = await self._rows(
            "SELECT guild_id FROM departed_guilds WHERE left_at <= $1 ORDER BY guild_id",
            ts(cutoff),
        )
        return [int(r["guild_id"]) for r in rows]

    async def purge_guild(self, guild_id: int) -> Purged:
        async with self._transaction() as db:
            await self._locked(db, guild_id)
            uploads = await db.execute("DELETE FROM uploads WHERE guild_id = $1", guild_id)
            await db.execute(
                "DELETE FROM next_requests WHERE channel_id IN "
                "(SELECT channel_id FROM subscriptions WHERE guild_id = $1)",
                guild_id,
            )
            subs = await db.execute("DELETE FROM subscriptions WHERE guild_id = $1", guild_id)
            await db.execute("DELETE FROM votes WHERE guild_id = $1", guild_id)
            await db.execute("DELETE FROM reminders WHERE guild_id = $1", guild_id)
            await db.execute("DELETE FROM story_texts WHERE starts_with(slug, $1)", f"{guild_id}:")
            await db.execute("DELETE FROM departed_guilds WHERE guild_id = $1", guild_id)
            return Purged(uploads=_count(uploads), subscriptions=_count(subs))


def _count(status: str) -> int:
    """Rows a statement touched, from asyncpg's status text (``"DELETE 3"``)."""
    try:
        return int(status.rsplit(" ", 1)[-1])
    except (ValueError, AttributeError):
        return 0
