"""The servers' uploaded stories in the database, in both dialects: SQLite (``bot.store``) and
PostgreSQL (``bot.pgstore``), which register the tables below as their migration number 5 and
hand over their transactions (``Store.uploads()``).

A story is one row holding the file as uploaded (compressed), its sha256, the uploader and the
admins' metadata: written in one transaction, so a process killed half-way leaves the whole
story or nothing. The server's limits are checked inside the same transaction that writes, so
two admins uploading at once cannot both squeeze under them; the primary key refuses a second
story under one slug.

The statements of each dialect are in ``bot.uploads_sqlite`` and ``bot.uploads_pg``.

``departed_guilds`` remembers when the bot was removed from a server, so that its data can be
purged once the retention period has passed.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.uploads import Upload, UploadLimits, mb

__all__ = ["POSTGRES_MIGRATION", "SQLITE_MIGRATION", "Purged", "Transaction", "Usage"]

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

LISTED = "guild_id, slug, filename, sha256, size, title, meta, uploaded_by, uploaded_at, updated_at"


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


def ts(moment: datetime) -> str:
    # The same fixed-width UTC text as the rest of the store.
    if moment.tzinfo is None:
        raise ValueError("the store keeps timezone-aware datetimes only")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def dt(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def upload_of(row: Any, *, with_data: bool) -> Upload:
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
        uploaded_at=dt(row["uploaded_at"]),
        updated_at=dt(row["updated_at"]),
        data=data,
    )


def row_of(upload: Upload) -> tuple[Any, ...]:
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
        ts(upload.uploaded_at),
        ts(upload.updated_at),
    )


Transaction = Callable[[], AbstractAsyncContextManager[Any]]
