"""What an operator sees of the servers' uploaded stories, read without changing the database:
each upload read again by the loaders and checks it met when it was uploaded (``serialbot
check``), and what each server keeps and which channels follow each story (``serialbot
status``). SQLite through a read-only connection, PostgreSQL inside a read-only transaction;
files are read one at a time, so a large library is never in memory at once.

Uploads came with schema version 5: an older database has none to show.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from bot.story_checks import story_warnings
from bot.uploads import Upload, UploadError, load_upload, size_of
from bot.uploads_db import LISTED, upload_of

__all__ = [
    "UPLOADS_SINCE",
    "Followed",
    "Listing",
    "ServerUploads",
    "UploadCheck",
    "check_upload",
    "postgres_files",
    "postgres_listing",
    "sqlite_files",
    "sqlite_listing",
]

UPLOADS_SINCE = 5
_FILES = f"SELECT {LISTED}, data FROM uploads ORDER BY guild_id, slug"
_KEYS = "SELECT guild_id, slug FROM uploads ORDER BY guild_id, slug"
_LISTED = f"SELECT {LISTED} FROM uploads ORDER BY guild_id, slug"
_FOLLOWERS = "SELECT slug, count(*) AS channels FROM subscriptions GROUP BY slug ORDER BY slug"


@dataclass(frozen=True, slots=True)
class UploadCheck:
    """One upload as ``check`` found it: ``problem`` says why it no longer loads (then the
    title is the one kept when it was uploaded, and parts and words are unknown)."""

    guild_id: int
    slug: str
    filename: str
    size: int
    title: str
    rating: str
    parts: int | None = None
    words: int | None = None
    problem: str | None = None
    # What a reader would notice, as ``check`` warns of a folder story's.
    warnings: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.guild_id}:{self.slug}"


def check_upload(
    upload: Upload,
    *,
    words_per_part: int,
    tolerance: float,
    max_bytes: int,
    author_notes: bool,
) -> UploadCheck:
    """The upload read as its server's channels get it, through ``load_upload`` as when it was
    uploaded. Whatever goes wrong is this upload's problem, never the next one's."""
    kept_rating = upload.meta.get("rating")
    try:
        loaded = load_upload(
            upload.key,
            upload.filename,
            upload.data,
            upload.meta,
            words_per_part=words_per_part,
            tolerance=tolerance,
            max_bytes=max_bytes,
            author_notes=author_notes,
        )
    except UploadError as error:
        problem = str(error)
    except Exception as error:  # a loader's own bug: reported, and the next upload is read
        problem = f"reading it failed unexpectedly ({type(error).__name__}: {error})"
    else:
        story = loaded.serial.story
        return UploadCheck(
            guild_id=upload.guild_id,
            slug=upload.slug,
            filename=upload.filename,
            size=upload.size,
            title=story.title,
            rating=story.meta.rating.value if loaded.rated else "unrated",
            parts=len(loaded.serial.parts),
            words=story.words,
            warnings=tuple(story_warnings(loaded.serial)),
        )
    return UploadCheck(
        guild_id=upload.guild_id,
        slug=upload.slug,
        filename=upload.filename,
        size=upload.size,
        title=upload.title,
        rating=str(kept_rating) if kept_rating else "unrated",
        problem=problem,
    )


# --- status: what each server keeps, and who follows what ------------------------------------


@dataclass(frozen=True, slots=True)
class ServerUploads:
    guild_id: int
    stories: int
    bytes: int

    @property
    def size(self) -> str:
        return size_of(self.bytes)


@dataclass(frozen=True, slots=True)
class Followed:
    """A story and how many channels follow it; ``upload`` is None for a folder story."""

    key: str
    channels: int
    upload: Upload | None = None


@dataclass(frozen=True, slots=True)
class Listing:
    uploads: list[Upload]
    # Channels following each story, by the slug their subscriptions hold.
    followers: dict[str, int]

    def servers(self) -> list[ServerUploads]:
        found: dict[int, ServerUploads] = {}
        for upload in self.uploads:
            was = found.get(upload.guild_id, ServerUploads(upload.guild_id, 0, 0))
            found[upload.guild_id] = ServerUploads(
                upload.guild_id, was.stories + 1, was.bytes + upload.size
            )
        return [found[g] for g in sorted(found)]

    def followed(self, folder_slugs: list[str]) -> list[Followed]:
        """Every folder story and every upload, with the channels following each; then stories
        that channels follow but that are in neither."""
        rows = [Followed(s, self.followers.get(s, 0)) for s in folder_slugs]
        rows += [Followed(u.key, self.followers.get(u.key, 0), u) for u in self.uploads]
        known = {row.key for row in rows}
        rows += [Followed(k, n) for k, n in sorted(self.followers.items()) if k not in known]
        return rows


def sqlite_listing(db: sqlite3.Connection, version: int) -> Listing:
    uploads = (
        [upload_of(r, with_data=False) for r in db.execute(_LISTED)]
        if version >= UPLOADS_SINCE
        else []
    )
    followers = {str(r[0]): int(r[1]) for r in db.execute(_FOLLOWERS)}
    return Listing(uploads, followers)


async def postgres_listing(db: Any, version: int) -> Listing:
    uploads = (
        [upload_of(r, with_data=False) for r in await db.fetch(_LISTED)]
        if version >= UPLOADS_SINCE
        else []
    )
    followers = {str(r["slug"]): int(r["channels"]) for r in await db.fetch(_FOLLOWERS)}
    return Listing(uploads, followers)


# --- check: every file, one at a time ---------------------------------------------------------


def sqlite_files(db: sqlite3.Connection, version: int) -> Iterator[Upload | UploadCheck]:
    """Each upload with its file; an ``UploadCheck`` with the problem for a row that cannot be
    read back (a damaged file)."""
    if version < UPLOADS_SINCE:
        return
    keys = db.execute(_KEYS).fetchall()
    for guild_id, slug in keys:
        row = db.execute(
            f"SELECT {LISTED}, data FROM uploads WHERE guild_id = ? AND slug = ?",
            (guild_id, slug),
        ).fetchone()
        if row is not None:
            yield _stored(row)


async def postgres_files(db: Any, version: int) -> AsyncIterator[Upload | UploadCheck]:
    """``sqlite_files`` inside the caller's (read-only) transaction."""
    if version < UPLOADS_SINCE:
        return
    async for row in db.cursor(_FILES, prefetch=1):
        yield _stored(row)


def _stored(row: Any) -> Upload | UploadCheck:
    try:
        return upload_of(row, with_data=True)
    except (zlib.error, ValueError, TypeError) as error:
        return UploadCheck(
            guild_id=int(row["guild_id"]),
            slug=str(row["slug"]),
            filename=str(row["filename"]),
            size=int(row["size"]),
            title=str(row["title"]),
            rating="unknown",
            problem=f"the file kept in the database is damaged ({error}).",
        )
