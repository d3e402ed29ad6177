"""What an operator sees of the database, read without changing it: every subscription with its
state (``serialbot status``) and the counts behind the metrics.

Each reader opens its own read-only connection (a read-only transaction on PostgreSQL), so it
works while the bot runs (in SQLite's WAL mode readers and the writer do not wait for each
other), never migrates, and never holds a lock the bot needs. A database written by a newer
serialbot is refused as ``Store.open`` refuses it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.metrics import DatabaseSummary
from bot.store import SCHEMA_VERSION, newer_schema_message

__all__ = [
    "OverviewError",
    "SubscriptionRow",
    "postgres_subscriptions",
    "postgres_summary",
    "postgres_summary_of",
    "read_only",
    "subscriptions",
    "summary",
    "summary_of",
]

# A scrape that waits longer than this for PostgreSQL gives up (Prometheus's own timeout is 10 s).
_SCRAPE_CONNECT_SECONDS = 5.0


class OverviewError(Exception):
    """The database cannot be read (missing, not serialbot's, or from a newer serialbot)."""


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    guild_id: int
    channel_id: int
    slug: str
    next_part: int
    part_count: int | None
    next_due: datetime | None
    state: str  # "active", "paused" or "finished"
    reason: str | None
    retries: int
    schedule: str
    timezone: str


@contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the database at ``path``, checked to be one this serialbot
    understands."""
    if not path.is_file():
        raise OverviewError(f"{path}: no database there yet (`serialbot run` creates it)")
    try:
        db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as error:
        raise OverviewError(f"{path}: cannot be opened: {error}") from None
    try:
        db.row_factory = sqlite3.Row
        try:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.DatabaseError as error:
            raise OverviewError(f"{path} is not a serialbot database: {error}") from None
        if version > SCHEMA_VERSION:
            raise OverviewError(newer_schema_message(path, version, SCHEMA_VERSION))
        if version == 0:
            raise OverviewError(f"{path} is not a serialbot database (it has no tables of ours)")
        yield db
    finally:
        db.close()


def _state(row: Any) -> str:
    if row["completed_at"] is not None:
        return "finished"
    return "paused" if row["paused"] else "active"


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


def _ts(moment: datetime) -> str:
    # As the store writes times: fixed-width UTC text, so comparing text compares times.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


_SUBSCRIPTIONS = "SELECT * FROM subscriptions ORDER BY guild_id, channel_id"
_STATES = (
    "SELECT CASE WHEN completed_at IS NOT NULL THEN 'finished' "
    "WHEN paused = 1 THEN 'paused' ELSE 'active' END AS state, COUNT(*) AS n "
    "FROM subscriptions GROUP BY state"
)
_PAUSED = (
    "SELECT COALESCE(pause_reason, '') AS reason, COUNT(*) AS n FROM subscriptions "
    "WHERE paused = 1 AND completed_at IS NULL GROUP BY 1"
)
# The same condition as the store's due index, so this reads due rows only.
_DUE = (
    "SELECT COUNT(*) AS n, MIN(next_due) AS oldest FROM subscriptions "
    "WHERE paused = 0 AND completed_at IS NULL AND next_due <= {}"
)


def _row(row: Any) -> SubscriptionRow:
    """A subscription row of either dialect (``sqlite3.Row`` or asyncpg's ``Record``)."""
    return SubscriptionRow(
        guild_id=int(row["guild_id"]),
        channel_id=int(row["channel_id"]),
        slug=row["slug"],
        next_part=int(row["next_part"]),
        part_count=row["part_count"] if "part_count" in row.keys() else None,  # noqa: SIM118
        next_due=_when(row["next_due"]),
        state=_state(row),
        reason=row["pause_reason"] if row["paused"] else None,
        retries=int(row["retry_count"]),
        schedule=row["schedule"],
        timezone=row["timezone"],
    )


def _summary(
    states: Any, paused: Any, due: int, oldest: str | None, now: datetime
) -> DatabaseSummary:
    waited = (now - _when(oldest)).total_seconds() if oldest is not None else 0.0
    return DatabaseSummary(
        serials={str(r[0]): int(r[1]) for r in states},
        paused={str(r[0]): int(r[1]) for r in paused},
        due=int(due),
        oldest_due_seconds=max(0.0, waited),
    )


def subscriptions(db: sqlite3.Connection) -> list[SubscriptionRow]:
    """Every subscription, by server and channel."""
    return [_row(row) for row in db.execute(_SUBSCRIPTIONS).fetchall()]


def summary(db: sqlite3.Connection, now: datetime) -> DatabaseSummary:
    """Serials by state, paused ones by reason, and what is due but not yet posted."""
    due, oldest = db.execute(_DUE.format("?"), (_ts(now),)).fetchone()
    return _summary(
        db.execute(_STATES).fetchall(), db.execute(_PAUSED).fetchall(), due, oldest, now
    )


async def postgres_subscriptions(db: Any) -> list[SubscriptionRow]:
    """``subscriptions`` on a PostgreSQL connection (``bot.pgstore.read_only``)."""
    return [_row(row) for row in await db.fetch(_SUBSCRIPTIONS)]


async def postgres_summary(db: Any, now: datetime) -> DatabaseSummary:
    """``summary`` on a PostgreSQL connection (``bot.pgstore.read_only``)."""
    due = await db.fetchrow(_DUE.format("$1"), _ts(now))
    return _summary(await db.fetch(_STATES), await db.fetch(_PAUSED), due["n"], due["oldest"], now)


def summary_of(path: Path) -> DatabaseSummary:
    """``summary`` on a connection of its own, for a metrics scrape (any thread)."""
    with read_only(path) as db:
        return summary(db, datetime.now(UTC))


def postgres_summary_of(url: str) -> DatabaseSummary:
    """``summary`` of the PostgreSQL database at ``url`` on a connection of its own, for a
    metrics scrape: called on the scrape's worker thread, it runs its own event loop there and
    never touches the bot's loop or pool."""
    return asyncio.run(_postgres_summary_of(url, datetime.now(UTC)))


async def _postgres_summary_of(url: str, now: datetime) -> DatabaseSummary:
    from bot.pgstore import read_only as postgres_read_only
    from bot.pgstore import redact

    async with postgres_read_only(url, connect_seconds=_SCRAPE_CONNECT_SECONDS) as (db, version):
        if not version:
            raise OverviewError(f"{redact(url)}: no serialbot tables there yet")
        return await postgres_summary(db, now)
