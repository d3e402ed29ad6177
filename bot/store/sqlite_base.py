"""The SQLite store's connections: one writing (statements of one transaction never interleave
with another's), one reading (WAL lets it read while a write is under way, so answering a command
never waits behind a delivery's writes), each a thread of aiosqlite's. Opening, migrating, and the
three ways a call reaches the database: a read, one statement, a transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import stat
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from bot.store import sqlite_schema
from bot.store.records import StoreError, Subscription, _subscription
from bot.uploads_sqlite import SqliteUploads

log = logging.getLogger("bot.store")

# Errors that say the database cannot be written at all (a read-only file or filesystem, a full
# disk, a failing device) rather than that one statement was wrong.
_UNWRITABLE = frozenset(
    {
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PERM,
    }
)
# The database and its folder hold who reads what in every server: for the bot's user only.
FOLDER_MODE = 0o700
FILE_MODE = 0o600


class SqliteBase:
    """The connections and how calls reach them; ``bot.store.Store`` adds the methods."""

    def __init__(
        self, db: aiosqlite.Connection, path: Path, reader: aiosqlite.Connection | None = None
    ) -> None:
        self._db = db
        self.path = path
        # One writing connection: statements of concurrent callers must not interleave inside a
        # transaction. Reads go to a connection of their own (WAL lets it read while a write is
        # under way), so that answering a command never waits behind a delivery's writes.
        self._lock = asyncio.Lock()
        self._reader = reader
        # Why the last write failed, while writes fail (a read-only or full disk); else None.
        self.write_problem: str | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path | str) -> Self:
        """Open (creating it, with its folder, if need be) and check that it can be written:
        a database that can only be read is refused here, not found out at the first post."""
        path = Path(path)
        in_memory = str(path) == ":memory:"
        if not in_memory:
            _private_file(path)
        try:
            db = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the database {path}: {exc}") from exc
        db.row_factory = aiosqlite.Row
        store = cls(db, path)
        try:
            await store._prepare()
            await store._check_writable()
            if not in_memory:
                store._reader = await aiosqlite.connect(path, isolation_level=None)
                store._reader.row_factory = aiosqlite.Row
                await store._reader.execute("PRAGMA busy_timeout = 5000")
                await store._reader.execute("PRAGMA query_only = ON")
        except BaseException:
            await store.close()
            raise
        return store

    async def _check_writable(self) -> None:
        try:
            async with self._transaction() as db:
                # Rewrites the header with the value it has: a write that changes nothing.
                version = await _user_version(db)
                await db.execute(f"PRAGMA user_version = {int(version)}")
        except sqlite3.Error as exc:
            raise StoreError(
                f"Cannot write to the database {self.path} ({exc}): check that the file and "
                "its folder belong to the user the bot runs as and that the disk is "
                "writable and not full"
            ) from exc

    async def _prepare(self) -> None:
        try:
            await self._db.execute("PRAGMA busy_timeout = 5000")
            await self._db.execute("PRAGMA journal_mode = WAL")
            # With WAL, NORMAL loses nothing when the process dies, only on power loss.
            await self._db.execute("PRAGMA synchronous = NORMAL")
            await self._db.execute("PRAGMA foreign_keys = ON")
            version = await self._user_version()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a serialbot database: {exc}") from exc
        latest = len(sqlite_schema.MIGRATIONS)
        if version > latest:
            raise StoreError(sqlite_schema.newer_schema_message(self.path, version, latest))
        if version < latest:
            await self._migrate(version, latest)
        for statement in sqlite_schema.PART_POSTED:
            await self._db.execute(statement)

    async def _user_version(self) -> int:
        return await _user_version(self._db)

    async def _migrate(self, current: int, latest: int) -> None:
        try:
            async with self._transaction() as db:
                for number in range(current, latest):
                    for statement in sqlite_schema.MIGRATIONS[number]:
                        await db.execute(statement)
        except sqlite3.Error as exc:
            raise StoreError(
                f"Upgrading {self.path} from schema version {current} to {latest} "
                f"failed, nothing was changed: {exc}"
            ) from exc
        log.info("Database %s migrated from version %s to %s", self.path, current, latest)

    async def schema_version(self) -> int:
        async with self._lock:
            return await self._user_version()

    def uploads(self) -> SqliteUploads:
        """The servers' uploaded stories in this database (``bot.uploads_db``)."""
        return SqliteUploads(self._transaction, self._fetch)

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.close()
        await self._db.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # Every ``await`` on the connection is a trip to aiosqlite's thread and back (tens of
    # microseconds of thread switching each): statements are written to need as few as they can.
    # A statement on its own commits by itself (autocommit), so a change that one statement can
    # make, RETURNING what the caller needs, is one trip; a transaction costs its statements
    # plus BEGIN and COMMIT.

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            try:
                try:
                    await self._db.execute("BEGIN IMMEDIATE")
                    yield self._db
                except BaseException:
                    # Also when BEGIN itself was cancelled: it still runs, and this after it.
                    # Queued before this coroutine can be interrupted again, so it runs next.
                    with contextlib.suppress(sqlite3.OperationalError):
                        await self._db.execute("ROLLBACK")
                    raise
                await self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._note_write_failure(exc)
                raise
            self._written()

    async def _write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement that changes rows, in one trip; returns how many it changed."""
        async with self._lock:
            try:
                cursor = await self._db.execute(sql, params)
            except sqlite3.Error as exc:
                self._note_write_failure(exc)
                raise
            self._written()
        return cursor.rowcount

    async def _write_returning(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        """One statement that changes rows and returns some (RETURNING), in one trip."""
        async with self._lock:
            try:
                rows = await self._db.execute_fetchall(sql, params)
            except sqlite3.Error as exc:
                self._note_write_failure(exc)
                raise
            self._written()
        return list(rows)

    def _written(self) -> None:
        if self.write_problem is not None:
            log.warning("the database %s can be written again", self.path)
            self.write_problem = None

    def _note_write_failure(self, exc: sqlite3.Error) -> None:
        if getattr(exc, "sqlite_errorcode", None) is None:
            return
        if exc.sqlite_errorcode & 0xFF not in _UNWRITABLE:
            return
        if self.write_problem is None:
            log.error("the database %s cannot be written: %s", self.path, exc)
        self.write_problem = str(exc)

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        """A read, in one trip (on the reading connection unless the database is in memory)."""
        if self._reader is not None:
            return list(await self._reader.execute_fetchall(sql, params))
        async with self._lock:
            return list(await self._db.execute_fetchall(sql, params))


# --- rows ----------------------------------------------------------------------------------------


async def _user_version(db: aiosqlite.Connection) -> int:
    rows = list(await db.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0]) if rows else 0


def _private_file(path: Path) -> None:
    """Create the database's folder (0700) and file (0600) for the bot's user alone; an
    existing file readable by others is made private (SQLite gives its -wal and -shm files the
    database file's mode)."""
    try:
        path.parent.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"Cannot create the folder for the database {path}: {exc}") from exc
    try:
        os.close(os.open(path, os.O_CREAT | os.O_RDONLY, FILE_MODE))
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077 and path.stat().st_uid == os.geteuid():
            path.chmod(mode & ~0o077)
            log.info("the database %s was readable by others; now only by its owner", path)
    except OSError as exc:
        raise StoreError(f"Cannot open the database {path}: {exc}") from exc


async def _by_channel(db: aiosqlite.Connection, channel_id: int) -> Subscription | None:
    rows = list(
        await db.execute_fetchall("SELECT * FROM subscriptions WHERE channel_id = ?", (channel_id,))
    )
    return _subscription(rows[0]) if rows else None


async def _delete_channel(db: aiosqlite.Connection, channel_id: int) -> None:
    await db.execute("DELETE FROM next_requests WHERE channel_id = ?", (channel_id,))
    await db.execute(
        "UPDATE votes SET state = 'ended' WHERE channel_id = ? AND state = 'open'", (channel_id,)
    )
    await db.execute("DELETE FROM subscriptions WHERE channel_id = ?", (channel_id,))
