"""The PostgreSQL store's connection pool, opening and migrating (one process at a time), and how
calls reach the server; a server out of reach makes every call raise ``StoreUnavailable``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

import asyncpg

from bot.database_url import redact, url_problem
from bot.pgstore.schema import _COORDINATION, PG_MIGRATIONS
from bot.storage import StoreUnavailable
from bot.store.records import StoreError, Subscription, _subscription
from bot.uploads_pg import PostgresUploads

log = logging.getLogger("bot.pgstore")

# What asyncpg raises for a URL it cannot parse (a port that is not a number, say); its own
# ClientConfigurationError, a ValueError too, says which setting is wrong and is caught first.
_MALFORMED: tuple[type[BaseException], ...] = (ValueError, TypeError, OverflowError)
# Errors that mean the server is out of reach (down, restarting, the network), not that a
# statement was wrong.
_UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    # a connection left in a broken state by a lost server
    asyncpg.exceptions.InternalClientError,
)


class PostgresBase:
    """The pool and how calls reach it; ``bot.pgstore.PostgresStore`` adds the methods."""

    shared = True  # other processes may change it: the scheduler looks again now and then

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        self.url = url
        self.write_problem: str | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    @classmethod
    async def open(cls, url: str, *, pool_size: int = 8) -> Self:
        try:
            pool = await asyncpg.create_pool(
                url, min_size=1, max_size=pool_size, command_timeout=60
            )
        except asyncpg.ClientConfigurationError as exc:
            raise StoreError(f"{redact(url)}: {exc}") from None
        except _MALFORMED:
            raise StoreError(_malformed(url)) from None
        except _UNREACHABLE as exc:
            raise StoreUnavailable(f"Cannot reach PostgreSQL at {redact(url)}: {exc}") from exc
        except asyncpg.PostgresError as exc:
            raise StoreError(f"PostgreSQL at {redact(url)} refused the connection: {exc}") from exc
        store = cls(pool, url)
        try:
            await store._prepare()
        except BaseException:
            await pool.close()
            raise
        return store

    async def _prepare(self) -> None:
        async with self._transaction() as db:
            # One process migrates at a time; the others wait here and find it done.
            await db.execute("SELECT pg_advisory_xact_lock(hashtext('serialbot schema'))")
            await db.execute(
                "CREATE TABLE IF NOT EXISTS serialbot_schema (version BIGINT NOT NULL)"
            )
            version = await db.fetchval("SELECT version FROM serialbot_schema")
            if version is None:
                await db.execute("INSERT INTO serialbot_schema (version) VALUES (0)")
                version = 0
            latest = len(PG_MIGRATIONS)
            if version > latest:
                raise StoreError(
                    f"The database at {redact(self.url)} has schema version {version}, but this "
                    f"serialbot understands versions up to {latest}. Upgrade serialbot, or "
                    "point it at another database."
                )
            for number in range(version, latest):
                for statement in PG_MIGRATIONS[number]:
                    await db.execute(statement)
            for statement in _COORDINATION:
                await db.execute(statement)
            if version < latest:
                await db.execute("UPDATE serialbot_schema SET version = $1", latest)
                log.info(
                    "Database %s migrated from version %s to %s", redact(self.url), version, latest
                )

    async def schema_version(self) -> int:
        return int(await self._value("SELECT version FROM serialbot_schema"))

    def uploads(self) -> PostgresUploads:
        """The servers' uploaded stories in this database (``bot.uploads_db``)."""
        return PostgresUploads(self._transaction, self._connection)

    async def close(self) -> None:
        await self._pool.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        try:
            async with self._pool.acquire() as db:
                yield db
        except _UNREACHABLE as exc:
            if self.write_problem is None:
                log.error("PostgreSQL at %s cannot be reached: %s", redact(self.url), exc)
            self.write_problem = f"the database server cannot be reached ({exc})"
            raise StoreUnavailable(self.write_problem) from exc
        if self.write_problem is not None:
            log.warning("PostgreSQL at %s can be reached again", redact(self.url))
            self.write_problem = None

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self._connection() as db, db.transaction():
            yield db

    async def _fetch(self, sql: str, *params: Any) -> list[asyncpg.Record]:
        async with self._connection() as db:
            return list(await db.fetch(sql, *params))

    async def _value(self, sql: str, *params: Any) -> Any:
        async with self._connection() as db:
            return await db.fetchval(sql, *params)


# --- rows ----------------------------------------------------------------------------------------


async def _by_channel(
    db: asyncpg.Connection, channel_id: int, *, lock: bool = False
) -> Subscription | None:
    sql = "SELECT * FROM subscriptions WHERE channel_id = $1"
    row = await db.fetchrow(sql + (" FOR UPDATE" if lock else ""), channel_id)
    return _subscription(row) if row else None


async def _delete_channel(db: asyncpg.Connection, channel_id: int) -> None:
    await db.execute("DELETE FROM next_requests WHERE channel_id = $1", channel_id)
    await db.execute(
        "UPDATE votes SET state = 'ended' WHERE channel_id = $1 AND state = 'open'", channel_id
    )
    await db.execute("DELETE FROM subscriptions WHERE channel_id = $1", channel_id)


def _rowcount(status: str) -> int:
    """The row count at the end of a command status such as ``UPDATE 3``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


async def _connect(url: str, connect_seconds: float) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(url, timeout=connect_seconds)
    except asyncpg.ClientConfigurationError as exc:
        # A setting in the URL asyncpg does not take (such as sslmode=bogus), in its words.
        raise StoreError(f"{redact(url)}: {exc}") from None
    except _MALFORMED:
        raise StoreError(_malformed(url)) from None
    except _UNREACHABLE as exc:
        raise StoreUnavailable(f"cannot reach PostgreSQL at {redact(url)}: {exc}") from exc
    except asyncpg.PostgresError as exc:
        raise StoreError(f"PostgreSQL at {redact(url)} refused the connection: {exc}") from exc


def _malformed(url: str) -> str:
    # Not the parser's own words: they may quote a piece of the password.
    return url_problem(url) or f"{redact(url)} is not a PostgreSQL URL that can be used"


async def inspect(url: str, *, connect_seconds: float = 10.0) -> int | None:
    """Connect and read the schema version without changing anything: ``None`` when serialbot
    has not created its tables there yet. Raises ``StoreUnavailable`` or ``StoreError``."""
    db = await _connect(url, connect_seconds)
    try:
        if await db.fetchval("SELECT to_regclass('serialbot_schema')") is None:
            return None
        return int(await db.fetchval("SELECT version FROM serialbot_schema"))
    finally:
        await db.close()


@asynccontextmanager
async def read_only(url: str, *, connect_seconds: float = 10.0) -> AsyncIterator[tuple[Any, int]]:
    """A connection inside a read-only transaction, with the schema version (0 when serialbot
    has not created its tables there yet): for ``check`` and ``status``, which change nothing.
    Raises ``StoreUnavailable`` or ``StoreError``; a newer schema is refused as ``open`` does."""
    db = await _connect(url, connect_seconds)
    try:
        async with db.transaction(readonly=True):
            version = 0
            if await db.fetchval("SELECT to_regclass('serialbot_schema')") is not None:
                version = int(await db.fetchval("SELECT version FROM serialbot_schema") or 0)
            if version > len(PG_MIGRATIONS):
                raise StoreError(
                    f"The database at {redact(url)} has schema version {version}, but this "
                    f"serialbot understands versions up to {len(PG_MIGRATIONS)}. Upgrade "
                    "serialbot, or point it at another database."
                )
            yield db, version
    finally:
        await db.close()
