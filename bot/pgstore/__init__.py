"""The store on a PostgreSQL server, for several serialbot processes sharing their state (a
sharded cluster). Same records, same methods, same behaviour as the SQLite store in
``bot.store``; the same tests run against both. Records and dialect-neutral rules come from
``bot.store.records``.

The schema mirrors SQLite's, migration for migration (entry N takes the schema from version N to
N + 1 in both), with PostgreSQL's types where they differ: ``BIGINT`` for Discord ids,
identity columns for row ids. Times are kept as the same fixed-width UTC ISO 8601 text as in
SQLite, so both order and compare them alike and ``serialbot migrate`` copies rows unchanged. The
schema version is kept in ``serialbot_schema``.

A lost connection is retried by the pool on the next call; while the server cannot be reached
every call raises ``StoreUnavailable``, which the scheduler treats like any failed step (it
retries with backoff, posts nothing it cannot record, loses nothing).
"""

from __future__ import annotations

from bot.pgstore.base import inspect, read_only, redact
from bot.pgstore.schema import PG_MIGRATIONS
from bot.pgstore.together import PostgresTogether

__all__ = ["PG_MIGRATIONS", "PostgresStore", "inspect", "read_only", "redact"]


class PostgresStore(PostgresTogether):
    """The bot's PostgreSQL database. Open with ``await PostgresStore.open(url)``."""
