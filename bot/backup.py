"""``serialbot backup PATH``: a consistent copy of the database, safe while the bot runs.

SQLite's online backup copies the database page by page under a read transaction, so the copy is
the database as of one moment even while the bot writes. The copy is written beside PATH, checked,
and only then renamed to PATH, so a failed backup never leaves a half-written file under that
name. It is a single file (rollback journal, not WAL), ready to be copied elsewhere.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.config import ConfigError, load_config
from bot.overview import OverviewError, read_only

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNUSABLE = 2


def main(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as error:
        return _fail(str(error), EXIT_UNUSABLE)
    if config.database_url is not None:
        return _fail(
            "this configuration keeps its data in PostgreSQL: back it up with pg_dump",
            EXIT_UNUSABLE,
        )
    given = str(args.path)
    target = Path(given)
    if given.endswith(("/", os.sep)) and not target.is_dir():
        return _fail(f"{target}: no such folder", EXIT_FAILED)
    if target.is_dir():
        target = target / f"serialbot-{datetime.now(UTC):%Y%m%d-%H%M%S}.sqlite3"
    if target.exists():
        return _fail(f"{target} already exists; give a new file name or a folder", EXIT_FAILED)
    if not target.parent.is_dir():
        return _fail(f"{target.parent}: no such folder", EXIT_FAILED)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with read_only(config.database) as source:
            subscriptions = _copy(source, partial)
        os.replace(partial, target)
    except OverviewError as error:
        return _fail(str(error), EXIT_UNUSABLE)
    except (sqlite3.Error, OSError) as error:
        with contextlib.suppress(OSError):
            partial.unlink()
        return _fail(f"backing up {config.database} to {target} failed: {error}", EXIT_FAILED)
    size = target.stat().st_size
    print(
        f"Backed up {config.database} to {target} ({subscriptions} subscription"
        f"{'' if subscriptions == 1 else 's'}, {size / 1024:,.0f} KB)"
    )
    return EXIT_OK


def _copy(source: sqlite3.Connection, target: Path) -> int:
    copy = sqlite3.connect(target)
    try:
        # All pages in one step: the copy is the database at one moment, whatever the bot does.
        source.backup(copy)
        copy.execute("PRAGMA journal_mode = DELETE")
        check = copy.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise sqlite3.DatabaseError(f"the copy failed its check: {check}")
        count = int(copy.execute("SELECT COUNT(*) FROM subscriptions").fetchone()[0])
    finally:
        copy.close()
    # The copy holds the bot's progress: only its owner may read it, as the database itself.
    target.chmod(0o600)
    return count


def _fail(message: str, code: int) -> int:
    print(f"serialbot backup: {message}", file=sys.stderr)
    return code
