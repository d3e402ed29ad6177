"""Everything the bot keeps between runs, in one SQLite file: subscriptions (one per channel, with
its progress and timing), deliveries (one row per part sent to a channel) and "next" requests.

All SQL lives here. Callers get frozen dataclasses and call named methods; every change that
touches more than one row runs in one transaction. The schema is built by numbered migrations
tracked in ``PRAGMA user_version``; a database written by a newer serialbot is refused.

Times are stored as ISO 8601 text in UTC with a fixed width, so they sort as text and the due
index can answer "what is due now" without looking at anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import stat
import zlib
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, cast, get_args

import aiosqlite

from bot.shards import ShardSet
from bot.uploads_db import SQLITE_MIGRATION
from bot.uploads_sqlite import SqliteUploads

__all__ = [
    "SCHEMA_VERSION",
    "CatchUp",
    "Delivery",
    "DeliveryState",
    "Store",
    "StoreError",
    "Subscription",
    "SubscriptionExists",
    "Trigger",
    "Vote",
    "VoteEnd",
    "VoteState",
    "newer_schema_message",
]

log = logging.getLogger(__name__)

CatchUp = Literal["one", "skip", "all"]
DeliveryState = Literal["pending", "posted"]
Trigger = Literal["schedule", "request"]
VoteEnd = Literal["posted", "lapsed", "ended"]
VoteState = Literal["open", "posted", "lapsed", "ended"]
CATCH_UP_POLICIES: tuple[str, ...] = get_args(CatchUp)

# Entry N takes the schema from version N to N + 1 and ends by recording N + 1 (PRAGMA takes no
# parameters, hence the literal).
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            guild_id INTEGER NOT NULL,
            channel_id INTEGER NOT NULL UNIQUE,
            slug TEXT NOT NULL,
            revision TEXT NOT NULL,
            next_part INTEGER NOT NULL CHECK (next_part >= 1),
            position INTEGER NOT NULL CHECK (position >= 0),
            schedule TEXT NOT NULL,
            timezone TEXT NOT NULL,
            slot_due TEXT,
            next_due TEXT,
            paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
            pause_reason TEXT,
            catch_up TEXT NOT NULL CHECK (catch_up IN ('one', 'skip', 'all')),
            subscribed_by INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            thread_archive_minutes INTEGER,
            completed_at TEXT,
            retry_count INTEGER NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
            run INTEGER NOT NULL DEFAULT 0
        )
        """,
        # Only subscriptions that can come due are indexed, so the due query reads due rows only.
        """
        CREATE INDEX subscriptions_due ON subscriptions (next_due, id)
        WHERE paused = 0 AND completed_at IS NULL
        """,
        "CREATE INDEX subscriptions_guild ON subscriptions (guild_id)",
        """
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
            channel_id INTEGER NOT NULL,
            slug TEXT NOT NULL,
            part INTEGER NOT NULL CHECK (part >= 1),
            state TEXT NOT NULL CHECK (state IN ('pending', 'posted')),
            nonce TEXT NOT NULL,
            message_ids TEXT NOT NULL DEFAULT '[]',
            thread_id INTEGER,
            triggered_by TEXT NOT NULL CHECK (triggered_by IN ('schedule', 'request')),
            created_at TEXT NOT NULL,
            posted_at TEXT,
            UNIQUE (channel_id, slug, part)
        )
        """,
        "CREATE INDEX deliveries_subscription ON deliveries (subscription_id)",
        "CREATE INDEX deliveries_pending ON deliveries (id) WHERE state = 'pending'",
        """
        CREATE INDEX deliveries_requested ON deliveries (channel_id, posted_at)
        WHERE triggered_by = 'request' AND state = 'posted'
        """,
        """
        CREATE TABLE next_requests (
            channel_id INTEGER NOT NULL,
            member_id INTEGER NOT NULL,
            requested_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, member_id)
        ) WITHOUT ROWID
        """,
        "PRAGMA user_version = 1",
    ),
    (
        # How many times a part was attempted: a second attempt may find the first one's
        # messages already in the channel. Rows from before count as one attempt made.
        "ALTER TABLE deliveries ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1",
        # The part count of the revision the channel follows, to tell admins when an edit
        # changes it. NULL for subscriptions made before it was kept.
        "ALTER TABLE subscriptions ADD COLUMN part_count INTEGER",
        "PRAGMA user_version = 2",
    ),
    (
        # The text of each story revision a channel follows, so that after an edit the old text
        # can be aligned with the new one. Kept compressed; dropped once no channel follows it.
        """
        CREATE TABLE story_texts (
            slug TEXT NOT NULL,
            revision TEXT NOT NULL,
            text BLOB NOT NULL,
            saved_at TEXT NOT NULL,
            PRIMARY KEY (slug, revision)
        )
        """,
        # After an edit: where the parts the channel received begin in the current text, then
        # where the rest (cut anew) begins, as a JSON list. NULL: the story's own parts.
        "ALTER TABLE subscriptions ADD COLUMN cuts TEXT",
        # 1 when an admin chose the channel's catch-up policy; 0 follows the configuration.
        # Channels from before only ever had the configured value copied in: they follow it.
        "ALTER TABLE subscriptions ADD COLUMN catch_up_own INTEGER NOT NULL DEFAULT 0",
        # Why the bot itself paused the channel, when it can tell the cause has gone ('story':
        # the story file was missing). NULL for a pause only an admin can end.
        "ALTER TABLE subscriptions ADD COLUMN pause_cause TEXT",
        "PRAGMA user_version = 3",
    ),
    (
        # Reading together. A vote is the public "next part now" message of a channel; the
        # requests themselves stay in next_requests. At most one vote per channel is open.
        """
        CREATE TABLE votes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            channel_id INTEGER NOT NULL,
            guild_id INTEGER NOT NULL,
            part INTEGER NOT NULL,
            opened_by INTEGER NOT NULL,
            opened_at TEXT NOT NULL,
            closes_at TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'open'
                CHECK (state IN ('open', 'posted', 'lapsed', 'ended')),
            message_id INTEGER,
            reposted INTEGER NOT NULL DEFAULT 0 CHECK (reposted IN (0, 1)),
            asked INTEGER NOT NULL DEFAULT 0
        )
        """,
        "CREATE UNIQUE INDEX votes_open ON votes (channel_id) WHERE state = 'open'",
        # Buttons name a delivery by its nonce: a receipt belongs to that delivery and goes with
        # it (a jump, a restart or an unsubscribe forgets the delivery).
        "CREATE INDEX deliveries_nonce ON deliveries (nonce)",
        """
        CREATE TABLE read_receipts (
            delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
            member_id INTEGER NOT NULL,
            read_at TEXT NOT NULL,
            PRIMARY KEY (delivery_id, member_id)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX read_receipts_member ON read_receipts (member_id)",
        # The message that opens a part's discussion thread, edited as members read the part.
        """
        CREATE TABLE thread_openers (
            delivery_id INTEGER PRIMARY KEY REFERENCES deliveries (id) ON DELETE CASCADE,
            thread_id INTEGER NOT NULL,
            message_id INTEGER NOT NULL
        )
        """,
        # A member's DM reminders for a channel. ``last_nonce`` is the delivery last reminded
        # of (once per part); ``failed_at`` stops reminders after Discord refused a DM, and
        # ``told`` records that the member heard about it.
        """
        CREATE TABLE reminders (
            channel_id INTEGER NOT NULL,
            member_id INTEGER NOT NULL,
            guild_id INTEGER NOT NULL,
            since TEXT NOT NULL,
            last_nonce TEXT,
            failed_at TEXT,
            told INTEGER NOT NULL DEFAULT 0 CHECK (told IN (0, 1)),
            PRIMARY KEY (channel_id, member_id)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX reminders_member ON reminders (member_id)",
        "PRAGMA user_version = 4",
    ),
    # The servers' own uploaded stories (bot/uploads_db.py).
    SQLITE_MIGRATION,
)
SCHEMA_VERSION = len(_MIGRATIONS)

# Recording a part posted changes two tables together. As a transaction that is four trips to
# the database thread (BEGIN, two statements, COMMIT); as one INSERT into this view, whose
# trigger makes both changes or neither (a statement is atomic), it is one. Temporary objects
# belong to the connection, not to the file: they are made at each opening, no migration.
_PART_POSTED = (
    """
    CREATE TEMP VIEW part_posted (
        delivery_id, message_ids, thread_id, posted_at, subscription_id, part, next_part,
        position, slot_due, next_due
    ) AS SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL WHERE 0
    """,
    """
    CREATE TEMP TRIGGER part_posted_insert INSTEAD OF INSERT ON part_posted
    BEGIN
        SELECT raise(ABORT, 'delivery not pending') WHERE NOT EXISTS (
            SELECT 1 FROM deliveries WHERE id = NEW.delivery_id AND state = 'pending'
        );
        SELECT raise(ABORT, 'subscription moved') WHERE NOT EXISTS (
            SELECT 1 FROM subscriptions WHERE id = NEW.subscription_id AND next_part = NEW.part
        );
        UPDATE deliveries SET state = 'posted', message_ids = NEW.message_ids,
            thread_id = NEW.thread_id, posted_at = NEW.posted_at
        WHERE id = NEW.delivery_id;
        UPDATE subscriptions SET next_part = NEW.next_part, position = NEW.position,
            slot_due = NEW.slot_due, next_due = NEW.next_due, retry_count = 0,
            updated_at = NEW.posted_at
        WHERE id = NEW.subscription_id;
    END
    """,
)


def newer_schema_message(where: object, version: int, latest: int) -> str:
    """What is said of a database written by a newer serialbot (never touched by this one)."""
    return (
        f"{where} has schema version {version}, but this serialbot understands versions up to "
        f"{latest}. Upgrade serialbot, or point it at another database file."
    )


class StoreError(Exception):
    """The database cannot be used (unreadable, not writable, or written by a newer serialbot)."""


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


class SubscriptionExists(StoreError):
    """The channel already follows a serial that has not finished."""

    def __init__(self, existing: Subscription) -> None:
        super().__init__(f"channel {existing.channel_id} already follows {existing.slug!r}")
        self.existing = existing


@dataclass(frozen=True, slots=True)
class Subscription:
    """A channel's serial. ``next_part`` is 1-based; ``position`` is the offset in the story's
    text where ``next_part`` starts, so progress survives edits that renumber the parts.

    ``slot_due`` is the regular schedule slot the next part belongs to; ``next_due`` is when the
    scheduler acts next, which is earlier or later than the slot while catching up or retrying.
    ``run`` changes whenever the channel starts the story again, so repeated parts get new nonces.
    ``part_count`` is how many parts ``revision`` has (``None`` when not known).
    ``cuts``, after an edit, are where the parts the channel received begin in the current text
    and where the rest begins (``None``: the story's own parts). ``catch_up_own`` says an admin
    chose ``catch_up``; otherwise the configured policy applies. ``pause_cause`` is set when the
    bot paused the channel for a cause it can see go away (``"story"``: the file was missing).
    """

    id: int
    guild_id: int
    channel_id: int
    slug: str
    revision: str
    next_part: int
    position: int
    schedule: str
    timezone: str
    next_due: datetime | None
    paused: bool
    pause_reason: str | None
    catch_up: CatchUp
    subscribed_by: int
    created_at: datetime
    updated_at: datetime
    thread_archive_minutes: int | None
    completed_at: datetime | None
    retry_count: int
    slot_due: datetime | None = None
    run: int = 0
    part_count: int | None = None
    cuts: tuple[int, ...] | None = None
    catch_up_own: bool = False
    pause_cause: str | None = None

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One part sent (or being sent) to one channel. A "pending" delivery was recorded before the
    send and not yet confirmed; it is finished with the same ``nonce``. ``attempts`` counts the
    sends begun (1 on the first): from the second on, some of the part may already be posted.
    It does not take part in comparisons, which are about what was delivered."""

    id: int
    channel_id: int
    slug: str
    part: int
    state: DeliveryState
    nonce: str
    message_ids: tuple[int, ...]
    thread_id: int | None
    trigger: Trigger
    posted_at: datetime | None
    subscription_id: int = 0
    created_at: datetime | None = None
    attempts: int = field(default=1, compare=False)


@dataclass(frozen=True, slots=True)
class Vote:
    """A channel's public vote for the next part (``part``), open until ``closes_at``.
    ``message_id`` is the message showing it; ``reposted`` once it had to be posted again;
    ``asked`` how many members had asked when it ended."""

    id: int
    channel_id: int
    guild_id: int
    part: int
    opened_by: int
    opened_at: datetime
    closes_at: datetime
    state: VoteState
    message_id: int | None
    reposted: bool
    asked: int = 0


class Store:
    """The bot's SQLite database. Open with ``await Store.open(path)``."""

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
    async def open(cls, path: Path | str) -> Store:
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
        latest = len(_MIGRATIONS)
        if version > latest:
            raise StoreError(newer_schema_message(self.path, version, latest))
        if version < latest:
            await self._migrate(version, latest)
        for statement in _PART_POSTED:
            await self._db.execute(statement)

    async def _user_version(self) -> int:
        return await _user_version(self._db)

    async def _migrate(self, current: int, latest: int) -> None:
        try:
            async with self._transaction() as db:
                for number in range(current, latest):
                    for statement in _MIGRATIONS[number]:
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

    # --- subscriptions -------------------------------------------------------------------------

    async def create_subscription(
        self,
        *,
        guild_id: int,
        channel_id: int,
        slug: str,
        revision: str,
        next_part: int,
        position: int,
        schedule: str,
        timezone: str,
        slot_due: datetime,
        catch_up: CatchUp,
        subscribed_by: int,
        thread_archive_minutes: int | None,
        now: datetime,
        part_count: int | None = None,
        catch_up_own: bool = False,
    ) -> Subscription:
        """Subscribe a channel. A finished subscription in the channel is replaced; an unfinished
        one raises ``SubscriptionExists``. ``catch_up_own``: an admin chose ``catch_up``."""
        if catch_up not in CATCH_UP_POLICIES:
            raise ValueError(f"unknown catch-up policy {catch_up!r}")
        async with self._transaction() as db:
            existing = await _by_channel(db, channel_id)
            if existing is not None:
                if not existing.completed:
                    raise SubscriptionExists(existing)
                await _delete_channel(db, channel_id)
            rows = await db.execute_fetchall(
                """
                INSERT INTO subscriptions (
                    guild_id, channel_id, slug, revision, next_part, position, schedule, timezone,
                    slot_due, next_due, catch_up, subscribed_by, created_at, updated_at,
                    thread_archive_minutes, part_count, catch_up_own
                ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                RETURNING *
                """,
                (
                    guild_id,
                    channel_id,
                    slug,
                    revision,
                    next_part,
                    position,
                    schedule,
                    timezone,
                    _ts(slot_due),
                    _ts(slot_due),
                    catch_up,
                    subscribed_by,
                    _ts(now),
                    _ts(now),
                    thread_archive_minutes,
                    part_count,
                    int(catch_up_own),
                ),
            )
        [created] = rows
        return _subscription(created)

    async def subscription(self, channel_id: int) -> Subscription | None:
        rows = await self._fetch("SELECT * FROM subscriptions WHERE channel_id = ?", (channel_id,))
        return _subscription(rows[0]) if rows else None

    async def guild_subscriptions(self, guild_id: int) -> list[Subscription]:
        rows = await self._fetch(
            "SELECT * FROM subscriptions WHERE guild_id = ? ORDER BY channel_id", (guild_id,)
        )
        return [_subscription(r) for r in rows]

    async def count_subscriptions(self) -> int:
        rows = await self._fetch("SELECT count(*) FROM subscriptions")
        return int(rows[0][0])

    async def delete_subscription(self, channel_id: int) -> Subscription | None:
        """Remove the channel's subscription with its deliveries and "next" requests."""
        async with self._transaction() as db:
            existing = await _by_channel(db, channel_id)
            if existing is not None:
                await _delete_channel(db, channel_id)
        return existing

    async def pause(
        self, channel_id: int, reason: str, now: datetime, *, cause: str | None = None
    ) -> Subscription | None:
        """Pause the channel; ``cause`` names a cause the bot can see go away by itself."""
        return await self._update_one(
            """
            UPDATE subscriptions SET paused = 1, pause_reason = ?, pause_cause = ?, updated_at = ?
            WHERE channel_id = ? RETURNING *
            """,
            (reason, cause, _ts(now), channel_id),
        )

    async def pause_guild(self, guild_id: int, reason: str, now: datetime) -> int:
        """Pause every unfinished, running subscription of a guild; returns how many."""
        return await self._write(
            """
            UPDATE subscriptions SET paused = 1, pause_reason = ?, pause_cause = NULL,
                updated_at = ?
            WHERE guild_id = ? AND paused = 0 AND completed_at IS NULL
            """,
            (reason, _ts(now), guild_id),
        )

    async def resume(
        self,
        channel_id: int,
        *,
        slot_due: datetime | None,
        next_due: datetime | None,
        now: datetime,
    ) -> Subscription | None:
        return await self._update_one(
            """
            UPDATE subscriptions
            SET paused = 0, pause_reason = NULL, pause_cause = NULL, retry_count = 0,
                slot_due = ?, next_due = ?, updated_at = ?
            WHERE channel_id = ? RETURNING *
            """,
            (_ts_or_none(slot_due), _ts_or_none(next_due), _ts(now), channel_id),
        )

    async def set_schedule(
        self,
        channel_id: int,
        *,
        schedule: str,
        timezone: str,
        slot_due: datetime,
        next_due: datetime | None,
        now: datetime,
    ) -> Subscription | None:
        return await self._update_one(
            """
            UPDATE subscriptions
            SET schedule = ?, timezone = ?, slot_due = ?, next_due = ?, updated_at = ?
            WHERE channel_id = ? RETURNING *
            """,
            (schedule, timezone, _ts(slot_due), _ts_or_none(next_due), _ts(now), channel_id),
        )

    async def set_catch_up(
        self, channel_id: int, catch_up: CatchUp | None, now: datetime
    ) -> Subscription | None:
        """The channel's own catch-up policy; ``None`` makes it follow the configuration."""
        if catch_up is not None and catch_up not in CATCH_UP_POLICIES:
            raise ValueError(f"unknown catch-up policy {catch_up!r}")
        return await self._update_one(
            """
            UPDATE subscriptions
            SET catch_up = coalesce(?, catch_up), catch_up_own = ?, updated_at = ?
            WHERE channel_id = ? RETURNING *
            """,
            (catch_up, int(catch_up is not None), _ts(now), channel_id),
        )

    async def set_due(
        self,
        subscription_id: int,
        *,
        slot_due: datetime | None,
        next_due: datetime | None,
        now: datetime,
    ) -> Subscription | None:
        """Move the timing of a subscription (catch-up after downtime)."""
        return await self._update_one(
            """
            UPDATE subscriptions SET slot_due = ?, next_due = ?, updated_at = ? WHERE id = ?
            RETURNING *
            """,
            (_ts_or_none(slot_due), _ts_or_none(next_due), _ts(now), subscription_id),
        )

    async def schedule_retry(
        self, subscription_id: int, *, retry_count: int, next_due: datetime, now: datetime
    ) -> Subscription | None:
        """A post failed for a passing reason: try again at ``next_due``; the slot stays."""
        return await self._update_one(
            """
            UPDATE subscriptions SET retry_count = ?, next_due = ?, updated_at = ?
            WHERE id = ? RETURNING *
            """,
            (retry_count, _ts(next_due), _ts(now), subscription_id),
        )

    async def reset_progress(
        self,
        channel_id: int,
        *,
        next_part: int,
        position: int,
        revision: str,
        slot_due: datetime,
        next_due: datetime,
        now: datetime,
        part_count: int | None = None,
        cuts: Sequence[int] | None = None,
    ) -> Subscription | None:
        """Move a channel to another part (jump, restart): a new run, so parts that come again
        get new nonces; deliveries of the parts ahead are forgotten so they can be sent again.
        ``cuts`` are the channel's own parts to keep (``None``: the story's own parts)."""
        async with self._transaction() as db:
            existing = await _by_channel(db, channel_id)
            if existing is None:
                return None
            await db.execute(
                """
                DELETE FROM deliveries
                WHERE subscription_id = ? AND (part >= ? OR state = 'pending')
                """,
                (existing.id, next_part),
            )
            rows = await db.execute_fetchall(
                """
                UPDATE subscriptions
                SET next_part = ?, position = ?, revision = ?, slot_due = ?, next_due = ?,
                    completed_at = NULL, retry_count = 0, run = run + 1, updated_at = ?,
                    part_count = coalesce(?, part_count), cuts = ?
                WHERE id = ? RETURNING *
                """,
                (
                    next_part,
                    position,
                    revision,
                    _ts(slot_due),
                    _ts(next_due),
                    _ts(now),
                    part_count,
                    _cuts_json(cuts),
                    existing.id,
                ),
            )
        return _subscription(next(iter(rows)))

    async def remap_revision(
        self,
        subscription_id: int,
        *,
        revision: str,
        next_part: int,
        now: datetime,
        part_count: int | None = None,
        position: int | None = None,
        cuts: Sequence[int] | None = None,
    ) -> Subscription | None:
        """The story was edited: record its new revision, the channel's next part and, when
        given, its place in the new text and its own parts (``cuts``). Deliveries numbered at or
        after ``next_part`` belong to the old numbering; a part left pending keeps its nonce
        under its new number."""
        async with self._transaction() as db:
            await db.execute(
                """
                DELETE FROM deliveries
                WHERE subscription_id = ? AND part >= ? AND state = 'posted'
                """,
                (subscription_id, next_part),
            )
            await db.execute(
                "UPDATE deliveries SET part = ? WHERE subscription_id = ? AND state = 'pending'",
                (next_part, subscription_id),
            )
            rows = list(
                await db.execute_fetchall(
                    """
                    UPDATE subscriptions
                    SET revision = ?, next_part = ?, updated_at = ?,
                        part_count = coalesce(?, part_count), position = coalesce(?, position),
                        cuts = ?
                    WHERE id = ? RETURNING *
                    """,
                    (
                        revision,
                        next_part,
                        _ts(now),
                        part_count,
                        position,
                        _cuts_json(cuts),
                        subscription_id,
                    ),
                )
            )
        return _subscription(rows[0]) if rows else None

    async def unfinished(self, *, shards: ShardSet | None = None) -> list[Subscription]:
        """Every subscription that has not finished, paused or not (of ``shards``' servers)."""
        rows = await self._fetch(
            f"SELECT * FROM subscriptions WHERE completed_at IS NULL {_on_shards(shards)} "
            "ORDER BY id"
        )
        return [_subscription(r) for r in rows]

    # --- story texts ---------------------------------------------------------------------------

    async def save_text(self, slug: str, revision: str, text: str, now: datetime) -> bool:
        """Keep the text of a story revision; ``False`` when it was already kept."""
        packed = zlib.compress(text.encode("utf-8"), 6)
        saved = await self._write(
            """
            INSERT INTO story_texts (slug, revision, text, saved_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (slug, revision) DO NOTHING
            """,
            (slug, revision, packed, _ts(now)),
        )
        return saved == 1

    async def story_text(self, slug: str, revision: str) -> str | None:
        rows = await self._fetch(
            "SELECT text FROM story_texts WHERE slug = ? AND revision = ?", (slug, revision)
        )
        return zlib.decompress(rows[0]["text"]).decode("utf-8") if rows else None

    async def forget_texts(self) -> int:
        """Drop the texts of revisions no unfinished subscription follows; returns how many."""
        return await self._write(
            """
            DELETE FROM story_texts WHERE NOT EXISTS (
                SELECT 1 FROM subscriptions
                WHERE subscriptions.slug = story_texts.slug
                    AND subscriptions.revision = story_texts.revision
                    AND subscriptions.completed_at IS NULL
            )
            """
        )

    async def mark_completed(self, subscription_id: int, now: datetime) -> Subscription | None:
        return await self._update_one(
            """
            UPDATE subscriptions
            SET completed_at = ?, next_due = NULL, slot_due = NULL, retry_count = 0,
                updated_at = ?
            WHERE id = ? RETURNING *
            """,
            (_ts(now), _ts(now), subscription_id),
        )

    async def _update_one(self, sql: str, params: Sequence[Any]) -> Subscription | None:
        """An UPDATE of one subscription ``RETURNING *``: the row as it is now, in one trip."""
        rows = await self._write_returning(sql, params)
        return _subscription(rows[0]) if rows else None

    # --- due work ------------------------------------------------------------------------------

    async def due(
        self,
        now: datetime,
        limit: int,
        *,
        after: tuple[datetime, int] | None = None,
        shards: ShardSet | None = None,
    ) -> list[Subscription]:
        """Running subscriptions with ``next_due <= now``, earliest first. ``after`` is the
        (next_due, id) of the last row of the previous page; ``shards`` keeps only the servers
        of those shards."""
        on_shards = _on_shards(shards)
        if after is None:
            rows = await self._fetch(
                f"""
                SELECT * FROM subscriptions
                WHERE paused = 0 AND completed_at IS NULL AND next_due <= ? {on_shards}
                ORDER BY next_due, id LIMIT ?
                """,
                (_ts(now), limit),
            )
        else:
            rows = await self._fetch(
                f"""
                SELECT * FROM subscriptions
                WHERE paused = 0 AND completed_at IS NULL AND next_due <= ? {on_shards}
                    AND (next_due > ? OR (next_due = ? AND id > ?))
                ORDER BY next_due, id LIMIT ?
                """,
                (_ts(now), _ts(after[0]), _ts(after[0]), after[1], limit),
            )
        return [_subscription(r) for r in rows]

    async def next_due_after(
        self, now: datetime, *, shards: ShardSet | None = None
    ) -> datetime | None:
        """The earliest ``next_due`` of a running subscription strictly after ``now``."""
        rows = await self._fetch(
            f"""
            SELECT min(next_due) FROM subscriptions
            WHERE paused = 0 AND completed_at IS NULL AND next_due > ? {_on_shards(shards)}
            """,
            (_ts(now),),
        )
        return _dt_or_none(rows[0][0])

    async def explain_due(self, now: datetime) -> list[str]:
        """SQLite's plan for the due query (for tests that check it stays indexed)."""
        rows = await self._fetch(
            """
            EXPLAIN QUERY PLAN SELECT * FROM subscriptions
            WHERE paused = 0 AND completed_at IS NULL AND next_due <= ?
            ORDER BY next_due, id LIMIT ?
            """,
            (_ts(now), 10),
        )
        return [str(r["detail"]) for r in rows]

    # --- deliveries ----------------------------------------------------------------------------

    async def begin_delivery(
        self,
        subscription: Subscription,
        *,
        part: int,
        nonce: str,
        trigger: Trigger,
        now: datetime,
    ) -> Delivery | None:
        """Record the intent to send ``part`` before sending it, if the subscription is still
        exactly ``subscription`` as the caller read it: ``None``, and nothing recorded, when it
        changed since (whoever read it decides again on what it is now). If the part is already
        pending (a retry, or a send interrupted by a crash), that row is returned with its nonce
        and one more attempt counted; a part already recorded posted is returned as it is."""
        rows = await self._write_returning(
            f"""
            INSERT INTO deliveries (
                subscription_id, channel_id, slug, part, state, nonce, triggered_by, created_at
            )
            SELECT id, channel_id, slug, ?, 'pending', ?, ?, ? FROM subscriptions
            WHERE {_UNCHANGED}
            ON CONFLICT (channel_id, slug, part) DO UPDATE SET attempts = attempts + 1
            WHERE state = 'pending'
            RETURNING *
            """,
            (part, nonce, trigger, _ts(now), *stored_subscription(subscription)),
        )
        if rows:
            return _delivery(rows[0])
        if await self.subscription(subscription.channel_id) != subscription:
            return None
        return await self._delivery_of(subscription.channel_id, subscription.slug, part)

    async def complete_delivery(
        self,
        delivery_id: int,
        *,
        subscription_id: int,
        part: int,
        message_ids: Iterable[int],
        thread_id: int | None,
        posted_at: datetime,
        next_part: int,
        position: int,
        slot_due: datetime | None,
        next_due: datetime | None,
    ) -> Subscription:
        """Together: mark the delivery posted and move the subscription past it."""
        values = (
            delivery_id,
            json.dumps(list(message_ids)),
            thread_id,
            _ts(posted_at),
            subscription_id,
            part,
            next_part,
            position,
            _ts_or_none(slot_due),
            _ts_or_none(next_due),
        )
        async with self._lock:
            try:
                await self._db.execute(
                    """
                    INSERT INTO part_posted (
                        delivery_id, message_ids, thread_id, posted_at, subscription_id, part,
                        next_part, position, slot_due, next_due
                    ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    values,
                )
            except sqlite3.IntegrityError as exc:
                if "not pending" in str(exc):
                    raise StoreError(f"delivery {delivery_id} is not pending") from exc
                if "moved" in str(exc):
                    raise StoreError(
                        f"subscription {subscription_id} is no longer at part {part}"
                    ) from exc
                raise
            except sqlite3.Error as exc:
                self._note_write_failure(exc)
                raise
            self._written()
            rows = list(
                await self._db.execute_fetchall(
                    "SELECT * FROM subscriptions WHERE id = ?", (subscription_id,)
                )
            )
        return _subscription(rows[0])

    async def _delivery_of(self, channel_id: int, slug: str, part: int) -> Delivery | None:
        rows = await self._fetch(
            "SELECT * FROM deliveries WHERE channel_id = ? AND slug = ? AND part = ?",
            (channel_id, slug, part),
        )
        return _delivery(rows[0]) if rows else None

    async def pending_deliveries(self, *, shards: ShardSet | None = None) -> list[Delivery]:
        if shards is None or shards.everything:
            rows = await self._fetch("SELECT * FROM deliveries WHERE state = 'pending' ORDER BY id")
        else:
            rows = await self._fetch(
                f"""
                SELECT deliveries.* FROM deliveries
                JOIN subscriptions ON subscriptions.id = deliveries.subscription_id
                WHERE deliveries.state = 'pending' AND {shards.sql("subscriptions.guild_id")}
                ORDER BY deliveries.id
                """
            )
        return [_delivery(r) for r in rows]

    async def delivery(self, channel_id: int, part: int) -> Delivery | None:
        """The channel's delivery of ``part`` of the serial it follows now, in any state."""
        rows = await self._fetch(
            "SELECT * FROM deliveries WHERE channel_id = ? AND part = ?", (channel_id, part)
        )
        return _delivery(rows[0]) if rows else None

    async def deliveries(self, channel_id: int) -> list[Delivery]:
        rows = await self._fetch(
            "SELECT * FROM deliveries WHERE channel_id = ? ORDER BY part", (channel_id,)
        )
        return [_delivery(r) for r in rows]

    async def last_request_post(self, channel_id: int) -> datetime | None:
        """When a part was last posted to the channel because readers asked for it."""
        rows = await self._fetch(
            """
            SELECT max(posted_at) FROM deliveries
            WHERE channel_id = ? AND triggered_by = 'request' AND state = 'posted'
            """,
            (channel_id,),
        )
        return _dt_or_none(rows[0][0])

    # --- "next" requests -----------------------------------------------------------------------

    async def add_vote(
        self, channel_id: int, member_id: int, *, now: datetime, since: datetime
    ) -> int:
        """Record that ``member_id`` asked for the next part; returns how many distinct members
        asked after ``since`` (older requests are dropped)."""
        async with self._transaction() as db:
            await db.execute(
                "DELETE FROM next_requests WHERE channel_id = ? AND requested_at <= ?",
                (channel_id, _ts(since)),
            )
            await db.execute(
                """
                INSERT INTO next_requests (channel_id, member_id, requested_at) VALUES (?, ?, ?)
                ON CONFLICT (channel_id, member_id)
                DO UPDATE SET requested_at = excluded.requested_at
                """,
                (channel_id, member_id, _ts(now)),
            )
            rows = list(
                await db.execute_fetchall(
                    "SELECT count(*) FROM next_requests WHERE channel_id = ?", (channel_id,)
                )
            )
        return int(rows[0][0]) if rows else 0

    async def count_votes(self, channel_id: int, *, since: datetime) -> int:
        rows = await self._fetch(
            "SELECT count(*) FROM next_requests WHERE channel_id = ? AND requested_at > ?",
            (channel_id, _ts(since)),
        )
        return int(rows[0][0])

    async def clear_votes(self, channel_id: int) -> None:
        await self._write("DELETE FROM next_requests WHERE channel_id = ?", (channel_id,))

    async def has_asked(self, channel_id: int, member_id: int, *, since: datetime) -> bool:
        rows = await self._fetch(
            """
            SELECT 1 FROM next_requests
            WHERE channel_id = ? AND member_id = ? AND requested_at > ?
            """,
            (channel_id, member_id, _ts(since)),
        )
        return bool(rows)

    # --- votes (the public "next part now" message) ------------------------------------------

    async def open_vote(
        self,
        *,
        channel_id: int,
        guild_id: int,
        part: int,
        opened_by: int,
        now: datetime,
        closes_at: datetime,
    ) -> tuple[Vote, bool]:
        """The channel's open vote, opened now if there is none; ``True`` when it is new."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """
                INSERT OR IGNORE INTO votes (
                    channel_id, guild_id, part, opened_by, opened_at, closes_at
                ) VALUES (?, ?, ?, ?, ?, ?)
                """,
                (channel_id, guild_id, part, opened_by, _ts(now), _ts(closes_at)),
            )
            created = cursor.rowcount == 1
            rows = list(
                await db.execute_fetchall(
                    "SELECT * FROM votes WHERE channel_id = ? AND state = 'open'", (channel_id,)
                )
            )
        return _vote(rows[0]), created

    async def vote(self, vote_id: int) -> Vote | None:
        rows = await self._fetch("SELECT * FROM votes WHERE id = ?", (vote_id,))
        return _vote(rows[0]) if rows else None

    async def open_vote_of(self, channel_id: int) -> Vote | None:
        rows = await self._fetch(
            "SELECT * FROM votes WHERE channel_id = ? AND state = 'open'", (channel_id,)
        )
        return _vote(rows[0]) if rows else None

    async def open_votes(self) -> list[Vote]:
        rows = await self._fetch("SELECT * FROM votes WHERE state = 'open' ORDER BY closes_at")
        return [_vote(r) for r in rows]

    async def set_vote_message(
        self, vote_id: int, message_id: int, *, reposted: bool = False
    ) -> None:
        await self._write(
            "UPDATE votes SET message_id = ?, reposted = reposted | ? WHERE id = ?",
            (message_id, int(reposted), vote_id),
        )

    async def close_vote(
        self, vote_id: int, state: VoteEnd, *, asked: int | None = None
    ) -> Vote | None:
        """End an open vote (``None`` if it had already ended), keeping how many had asked
        (``asked``, or the requests counted now). Its requests are forgotten, so the next
        request opens a new vote."""
        async with self._transaction() as db:
            rows = list(
                await db.execute_fetchall(
                    """
                    UPDATE votes SET state = ?, asked = coalesce(
                        ?,
                        (SELECT count(*) FROM next_requests r WHERE r.channel_id = votes.channel_id)
                    )
                    WHERE id = ? AND state = 'open' RETURNING *
                    """,
                    (state, asked, vote_id),
                )
            )
            if not rows:
                return None
            await db.execute(
                "DELETE FROM next_requests WHERE channel_id = ?", (rows[0]["channel_id"],)
            )
        return _vote(rows[0])

    # --- read receipts -----------------------------------------------------------------------

    async def posted_delivery_by_nonce(self, nonce: str) -> Delivery | None:
        rows = await self._fetch(
            "SELECT * FROM deliveries WHERE nonce = ? AND state = 'posted'", (nonce,)
        )
        return _delivery(rows[0]) if rows else None

    async def add_receipt(self, delivery_id: int, member_id: int, now: datetime) -> bool:
        """Record that a member read a part; ``False`` when they had already said so."""
        added = await self._write(
            """
            INSERT OR IGNORE INTO read_receipts (delivery_id, member_id, read_at)
            VALUES (?, ?, ?)
            """,
            (delivery_id, member_id, _ts(now)),
        )
        return added == 1

    async def read_counts(self, channel_id: int) -> dict[int, int]:
        """Part number -> members who marked it read, for the parts posted to the channel."""
        rows = await self._fetch(
            """
            SELECT d.part, count(r.member_id) FROM deliveries d
            LEFT JOIN read_receipts r ON r.delivery_id = d.id
            WHERE d.channel_id = ? AND d.state = 'posted'
            GROUP BY d.part
            """,
            (channel_id,),
        )
        return {int(r[0]): int(r[1]) for r in rows}

    async def unread(self, channel_id: int, member_id: int) -> list[Delivery]:
        """The parts posted to the channel that the member has not marked read, in order."""
        rows = await self._fetch(
            """
            SELECT d.* FROM deliveries d
            WHERE d.channel_id = ? AND d.state = 'posted' AND NOT EXISTS (
                SELECT 1 FROM read_receipts r WHERE r.delivery_id = d.id AND r.member_id = ?
            )
            ORDER BY d.part
            """,
            (channel_id, member_id),
        )
        return [_delivery(r) for r in rows]

    async def mark_read_through(
        self, channel_id: int, member_id: int, part: int, now: datetime
    ) -> int:
        """Mark every part posted to the channel up to ``part`` read; returns how many were new."""
        added = await self._write(
            """
            INSERT OR IGNORE INTO read_receipts (delivery_id, member_id, read_at)
            SELECT id, ?, ? FROM deliveries
            WHERE channel_id = ? AND state = 'posted' AND part <= ?
            """,
            (member_id, _ts(now), channel_id, part),
        )
        return max(added, 0)

    async def set_thread_opener(self, nonce: str, thread_id: int, message_id: int) -> None:
        await self._write(
            """
            INSERT OR REPLACE INTO thread_openers (delivery_id, thread_id, message_id)
            SELECT id, ?, ? FROM deliveries WHERE nonce = ?
            """,
            (thread_id, message_id, nonce),
        )

    async def thread_opener(self, delivery_id: int) -> tuple[int, int] | None:
        """(thread id, message id) of the message opening the delivery's thread."""
        rows = await self._fetch(
            "SELECT thread_id, message_id FROM thread_openers WHERE delivery_id = ?",
            (delivery_id,),
        )
        return (int(rows[0][0]), int(rows[0][1])) if rows else None

    # --- reminders ---------------------------------------------------------------------------

    async def set_reminder(
        self, *, channel_id: int, guild_id: int, member_id: int, on: bool, now: datetime
    ) -> bool:
        """Turn a member's DM reminders for a channel on (again, after a failed DM) or off;
        returns whether they were on before."""
        async with self._transaction() as db:
            rows = list(
                await db.execute_fetchall(
                    "SELECT failed_at FROM reminders WHERE channel_id = ? AND member_id = ?",
                    (channel_id, member_id),
                )
            )
            was_on = bool(rows) and rows[0][0] is None
            if on:
                await db.execute(
                    """
                    INSERT INTO reminders (channel_id, member_id, guild_id, since)
                    VALUES (?, ?, ?, ?)
                    ON CONFLICT (channel_id, member_id)
                    DO UPDATE SET failed_at = NULL, told = 0
                    """,
                    (channel_id, member_id, guild_id, _ts(now)),
                )
            else:
                await db.execute(
                    "DELETE FROM reminders WHERE channel_id = ? AND member_id = ?",
                    (channel_id, member_id),
                )
        return was_on

    async def claim_reminders(self, channel_id: int, nonce: str) -> list[int]:
        """The members to remind of the delivery with ``nonce``, each claimed once: a second
        call for the same delivery returns nobody."""
        rows = await self._write_returning(
            """
            UPDATE reminders SET last_nonce = ?
            WHERE channel_id = ? AND failed_at IS NULL
                AND (last_nonce IS NULL OR last_nonce <> ?)
            RETURNING member_id
            """,
            (nonce, channel_id, nonce),
        )
        return sorted(int(r[0]) for r in rows)

    async def reminder_failed(self, channel_id: int, member_id: int, now: datetime) -> None:
        await self._write(
            "UPDATE reminders SET failed_at = ? WHERE channel_id = ? AND member_id = ?",
            (_ts(now), channel_id, member_id),
        )

    async def remove_member_reminders(self, guild_id: int, member_id: int) -> int:
        return await self._write(
            "DELETE FROM reminders WHERE guild_id = ? AND member_id = ?", (guild_id, member_id)
        )

    async def take_failed_reminders(self, member_id: int) -> list[int]:
        """Channels whose DM reminder to the member failed and who has not been told yet; they
        count as told from now on."""
        rows = await self._write_returning(
            """
            UPDATE reminders SET told = 1
            WHERE member_id = ? AND failed_at IS NOT NULL AND told = 0
            RETURNING channel_id
            """,
            (member_id,),
        )
        return sorted(int(r[0]) for r in rows)

    async def members_to_tell(self) -> set[int]:
        """Members whose DM reminder failed and who have not been told yet."""
        rows = await self._fetch(
            "SELECT DISTINCT member_id FROM reminders WHERE failed_at IS NOT NULL AND told = 0"
        )
        return {int(r[0]) for r in rows}

    async def reminders_on(self, channel_id: int) -> list[int]:
        rows = await self._fetch(
            """
            SELECT member_id FROM reminders WHERE channel_id = ? AND failed_at IS NULL
            ORDER BY member_id
            """,
            (channel_id,),
        )
        return [int(r[0]) for r in rows]


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


def _on_shards(shards: ShardSet | None) -> str:
    """An ``AND`` condition keeping the subscriptions of ``shards`` (nothing for all)."""
    return "" if shards is None or shards.everything else f"AND {shards.sql()}"


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


def _subscription(row: aiosqlite.Row) -> Subscription:
    return Subscription(
        id=row["id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        slug=row["slug"],
        revision=row["revision"],
        next_part=row["next_part"],
        position=row["position"],
        schedule=row["schedule"],
        timezone=row["timezone"],
        next_due=_dt_or_none(row["next_due"]),
        paused=bool(row["paused"]),
        pause_reason=row["pause_reason"],
        catch_up=cast(CatchUp, row["catch_up"]),
        subscribed_by=row["subscribed_by"],
        created_at=_dt(row["created_at"]),
        updated_at=_dt(row["updated_at"]),
        thread_archive_minutes=row["thread_archive_minutes"],
        completed_at=_dt_or_none(row["completed_at"]),
        retry_count=row["retry_count"],
        slot_due=_dt_or_none(row["slot_due"]),
        run=row["run"],
        part_count=row["part_count"],
        cuts=_cuts(row["cuts"]),
        catch_up_own=bool(row["catch_up_own"]),
        pause_cause=row["pause_cause"],
    )


# A subscription's columns, in the order ``stored_subscription`` gives their values.
SUBSCRIPTION_COLUMNS: tuple[str, ...] = (
    "id",
    "guild_id",
    "channel_id",
    "slug",
    "revision",
    "next_part",
    "position",
    "schedule",
    "timezone",
    "slot_due",
    "next_due",
    "paused",
    "pause_reason",
    "catch_up",
    "subscribed_by",
    "created_at",
    "updated_at",
    "thread_archive_minutes",
    "completed_at",
    "retry_count",
    "run",
    "part_count",
    "cuts",
    "catch_up_own",
    "pause_cause",
)
# "The row is still exactly this subscription" (``id`` first, for the lookup by key).
_UNCHANGED = "id = ? AND " + " AND ".join(f"{c} IS ?" for c in SUBSCRIPTION_COLUMNS[1:])


def stored_subscription(sub: Subscription) -> tuple[Any, ...]:
    """The subscription's values as both databases keep them, in ``SUBSCRIPTION_COLUMNS``
    order: what a row must hold to be unchanged since ``sub`` was read from it."""
    return (
        sub.id,
        sub.guild_id,
        sub.channel_id,
        sub.slug,
        sub.revision,
        sub.next_part,
        sub.position,
        sub.schedule,
        sub.timezone,
        _ts_or_none(sub.slot_due),
        _ts_or_none(sub.next_due),
        int(sub.paused),
        sub.pause_reason,
        sub.catch_up,
        sub.subscribed_by,
        _ts(sub.created_at),
        _ts(sub.updated_at),
        sub.thread_archive_minutes,
        _ts_or_none(sub.completed_at),
        sub.retry_count,
        sub.run,
        sub.part_count,
        _cuts_json(sub.cuts),
        int(sub.catch_up_own),
        sub.pause_cause,
    )


def _cuts(text: str | None) -> tuple[int, ...] | None:
    return None if text is None else tuple(int(i) for i in json.loads(text))


def _cuts_json(cuts: Sequence[int] | None) -> str | None:
    return None if cuts is None else json.dumps([int(i) for i in cuts])


def _vote(row: aiosqlite.Row) -> Vote:
    return Vote(
        id=row["id"],
        channel_id=row["channel_id"],
        guild_id=row["guild_id"],
        part=row["part"],
        opened_by=row["opened_by"],
        opened_at=_dt(row["opened_at"]),
        closes_at=_dt(row["closes_at"]),
        state=cast(VoteState, row["state"]),
        message_id=row["message_id"],
        reposted=bool(row["reposted"]),
        asked=row["asked"],
    )


def _delivery(row: aiosqlite.Row) -> Delivery:
    return Delivery(
        id=row["id"],
        channel_id=row["channel_id"],
        slug=row["slug"],
        part=row["part"],
        state=cast(DeliveryState, row["state"]),
        nonce=row["nonce"],
        message_ids=tuple(int(i) for i in json.loads(row["message_ids"])),
        thread_id=row["thread_id"],
        trigger=cast(Trigger, row["triggered_by"]),
        posted_at=_dt_or_none(row["posted_at"]),
        subscription_id=row["subscription_id"],
        created_at=_dt_or_none(row["created_at"]),
        attempts=row["attempts"],
    )


def _ts(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("the store keeps timezone-aware datetimes only")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _ts_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else _ts(moment)


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _dt_or_none(text: str | None) -> datetime | None:
    return None if text is None else _dt(text)
