"""``serialbot migrate --to postgresql://…``: copy an SQLite install (subscriptions, deliveries,
"next" requests: every table, every row, row ids kept) into an empty PostgreSQL database, then
check that every table holds as many rows there as here.

Stop the bot first: the copy is of the file as it is. The SQLite file is first brought to the
current schema (as starting the bot would) and then only read; the PostgreSQL database gets the
same schema version and must hold no serial data yet, so a copy is never merged into another
install's. The copy is one transaction: it is all there or not at all.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import asyncpg

from bot.config import ConfigError, load_config
from bot.database_url import is_postgresql_url, url_problem
from bot.pgstore import PostgresStore, redact
from bot.store import SCHEMA_VERSION, Store, StoreError

# Parents before children, so foreign keys hold at every row.
_ORDER = ("subscriptions", "deliveries", "next_requests")


class MigrationError(Exception):
    """The copy cannot be made; the message says why and what to do."""


def main(args: argparse.Namespace) -> int:
    try:
        source = _source(args)
        target = str(args.to)
        if not is_postgresql_url(target):
            raise MigrationError(f"--to must be a postgresql:// URL, not {redact(target)!r}")
        problem = url_problem(target)
        if problem is not None:
            raise MigrationError(f"--to: {problem}")
        counts = asyncio.run(migrate(source, target))
    except (MigrationError, StoreError) as error:
        print(f"serialbot migrate: {error}", file=sys.stderr)
        return 1
    for table, count in counts.items():
        print(f"{table}: {count} rows copied, {count} found in PostgreSQL")
    print(f"Copied {source} to {redact(target)}; every table's count matches.")
    print("Point `database` (or SERIALBOT_DATABASE) at the PostgreSQL URL and start the bot.")
    return 0


def _source(args: argparse.Namespace) -> Path:
    if args.source is not None:
        path = Path(args.source)
    else:
        try:
            config = load_config(args.config)
        except ConfigError as error:
            raise MigrationError(str(error)) from None
        path = config.database
    if not path.is_file():
        raise MigrationError(f"there is no SQLite database at {path} to copy")
    return path


async def migrate(source: Path, target: str) -> dict[str, int]:
    """Copy ``source`` into ``target``; returns each table's row count (checked equal)."""
    # Bring the file to the current schema, as the bot would on starting.
    store = await Store.open(source)
    await store.close()
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as db:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version != SCHEMA_VERSION:
            raise MigrationError(f"{source} has schema version {version}, not {SCHEMA_VERSION}")
        tables = _tables(db)
        rows = {table: _rows(db, table) for table in tables}
    pg = await PostgresStore.open(target)
    await pg.close()
    db = await asyncpg.connect(target)
    try:
        async with db.transaction():
            for table in tables:
                if await db.fetchval(f"SELECT count(*) FROM {table}"):
                    raise MigrationError(
                        f"the PostgreSQL database already holds {table}: copy only into an "
                        "empty one, so that two installs are never mixed"
                    )
            for table in tables:
                columns, records = rows[table]
                if records:
                    await db.copy_records_to_table(table, records=records, columns=columns)
                if "id" in columns:
                    # Row ids were copied as they were: new rows must come after them.
                    await db.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
                    )
            copied = {t: int(await db.fetchval(f"SELECT count(*) FROM {t}")) for t in tables}
    finally:
        await db.close()
    expected = {table: len(rows[table][1]) for table in tables}
    if copied != expected:
        raise MigrationError(f"row counts differ after the copy: {expected} here, {copied} there")
    return copied


def _tables(db: sqlite3.Connection) -> list[str]:
    names = {
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    }
    return [t for t in _ORDER if t in names] + sorted(names - set(_ORDER))


def _rows(db: sqlite3.Connection, table: str) -> tuple[list[str], list[tuple[object, ...]]]:
    cursor = db.execute(f"SELECT * FROM {table}")
    columns = [d[0] for d in cursor.description]
    return columns, [tuple(row) for row in cursor.fetchall()]
