"""The servers' uploaded stories in the database, in both dialects: SQLite (``bot.store``) and
PostgreSQL (``bot.pgstore``), which register the tables below as their migration number 5 and
hand over their transactions (``Store.uploads()``).

A story is one row holding the file as uploaded (compressed), its sha256, the uploader and the
admins' metadata: written in one transaction, so a process killed half-way leaves the whole
story or nothing. The server's limits are checked inside the same transaction that writes, so
two admins uploading at once cannot both squeeze under them; the primary key refuses a second
story under one slug.

``departed_guilds`` remembers when the bot was removed from a server, so that its data can be
purged once the retention period has passed.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.uploads import OverQuota, SlugTaken, Upload, UploadLimits, mb

__all__ = [
    "POSTGRES_MIGRATION",
    "SQLITE_MIGRATION",
    "PostgresUploads",
    "Purged",
    "SqliteUploads",
    "Usage",
]

SQLITE_MIGRATION: tuple[str, ...] = (
    """
    CREATE TABLE uploads (
        guild_id INTEGER NOT NULL,
        slug TEXT NOT NULL,
        filename TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL CHECK (size >= 0),
        title TEXT NOT NULL,
        meta TEXT NOT NULL,
        data BLOB NOT NULL,
        uploaded_by INTEGER NOT NULL,
        uploaded_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (guild_id, slug)
    )
    """,
    "CREATE TABLE departed_guilds (guild_id INTEGER PRIMARY KEY, left_at TEXT NOT NULL)",
    "PRAGMA user_version = 5",
)

POSTGRES_MIGRATION: tuple[str, ...] = (
    """
    CREATE TABLE uploads (
        guild_id BIGINT NOT NULL,
        slug TEXT NOT NULL,
        filename TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size BIGINT NOT NULL CHECK (size >= 0),
        title TEXT NOT NULL,
        meta TEXT NOT NULL,
        data BYTEA NOT NULL,
        uploaded_by BIGINT NOT NULL,
        uploaded_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (guild_id, slug)
    )
    """,
    "CREATE TABLE departed_guilds (guild_id BIGINT PRIMARY KEY, left_at TEXT NOT NULL)",
)

_LISTED = (
    "guild_id, slug, filename, sha256, size, title, meta, uploaded_by, uploaded_at, updated_at"
)


@dataclass(frozen=True, slots=True)
class Usage:
    stories: int
    bytes: int


@dataclass(frozen=True, slots=True)
class Purged:
    """What ``purge_guild`` removed."""

    uploads: int
    subscriptions: int


def over_quota(usage: Usage, limits: UploadLimits, *, adding: int, size: int) -> str | None:
    """Which limit the server would pass, said for its admins; None when within both."""
    if limits.stories_per_server == 0:
        return (
            "This bot takes no uploads: its operator turned them off. The shared stories are "
            "listed by `/serial stories`."
        )
    if usage.stories + adding > limits.stories_per_server:
        return (
            f"This server already has {usage.stories} of its {limits.stories_per_server} "
            "stories. Remove one with `/serial library remove` first."
        )
    if usage.bytes + size > limits.bytes_per_server:
        return (
            f"This server's stories take {mb(usage.bytes)} of its {mb(limits.bytes_per_server)}, "
            f"and this file is {mb(size)}. Remove a story with `/serial library remove` first."
        )
    return None


def _ts(moment: datetime) -> str:
    # The same fixed-width UTC text as the rest of the store.
    if moment.tzinfo is None:
        raise ValueError("the store keeps timezone-aware datetimes only")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _upload(row: Any, *, with_data: bool) -> Upload:
    data = zlib.decompress(row["data"]) if with_data else b""
    return Upload(
        guild_id=int(row["guild_id"]),
        slug=row["slug"],
        filename=row["filename"],
        sha256=row["sha256"],
        size=int(row["size"]),
        title=row["title"],
        meta=json.loads(row["meta"]),
        uploaded_by=int(row["uploaded_by"]),
        uploaded_at=_dt(row["uploaded_at"]),
        updated_at=_dt(row["updated_at"]),
        data=data,
    )


def _row(upload: Upload) -> tuple[Any, ...]:
    return (
        upload.guild_id,
        upload.slug,
        upload.filename,
        upload.sha256,
        upload.size,
        upload.title,
        json.dumps(dict(upload.meta), sort_keys=True),
        zlib.compress(upload.data, 6),
        upload.uploaded_by,
        _ts(upload.uploaded_at),
        _ts(upload.updated_at),
    )


Transaction = Callable[[], AbstractAsyncContextManager[Any]]


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
                f"INSERT INTO uploads ({_LISTED.replace('meta,', 'meta, data,')}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _row(upload),
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
            row = _row(upload)
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
                (title, json.dumps(meta, sort_keys=True), _ts(now), guild_id, slug),
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
            f"SELECT {_LISTED}, data FROM uploads WHERE guild_id = ? AND slug = ?",
            (guild_id, slug),
        )
        return _upload(rows[0], with_data=True) if rows else None

    async def listed(self, guild_id: int | None = None) -> list[Upload]:
        """Every upload (of one server), without the files."""
        where, params = ("WHERE guild_id = ?", (guild_id,)) if guild_id is not None else ("", ())
        rows = await self._fetch(
            f"SELECT {_LISTED} FROM uploads {where} ORDER BY guild_id, slug", params
        )
        return [_upload(r, with_data=False) for r in rows]

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
                (guild_id, _ts(now)),
            )

    async def guild_back(self, guild_id: int) -> None:
        async with self._transaction() as db:
            await db.execute("DELETE FROM departed_guilds WHERE guild_id = ?", (guild_id,))

    async def departed_before(self, cutoff: datetime) -> list[int]:
        rows = await self._fetch(
            "SELECT guild_id FROM departed_guilds WHERE left_at <= ? ORDER BY guild_id",
            (_ts(cutoff),),
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
                f"INSERT INTO uploads ({_LISTED.replace('meta,', 'meta, data,')}) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                *_row(upload),
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
            row = _row(upload)
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
                _ts(now),
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
            f"SELECT {_LISTED}, data FROM uploads WHERE guild_id = $1 AND slug = $2",
            guild_id,
            slug,
        )
        return _upload(rows[0], with_data=True) if rows else None

    async def listed(self, guild_id: int | None = None) -> list[Upload]:
        if guild_id is None:
            rows = await self._rows(
                f"SELECT {_LISTED} FROM uploads ORDER BY guild_id, slug",
            )
        else:
            rows = await self._rows(
                f"SELECT {_LISTED} FROM uploads WHERE guild_id = $1 ORDER BY slug", guild_id
            )
        return [_upload(r, with_data=False) for r in rows]

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
                _ts(now),
            )

    async def guild_back(self, guild_id: int) -> None:
        async with self._transaction() as db:
            await db.execute("DELETE FROM departed_guilds WHERE guild_id = $1", guild_id)

    async def departed_before(self, cutoff: datetime) -> list[int]:
        rows = await self._rows(
            "SELECT guild_id FROM departed_guilds WHERE left_at <= $1 ORDER BY guild_id",
            _ts(cutoff),
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
