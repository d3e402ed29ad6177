"""Story text kept outside Python's heap: in a SQLite database of its own (the library cache
under the data folder, or a private temporary one), in chunks, read a span at a time.

A library of many stories then holds no story text in memory: a part's text is read when the
part is posted, previewed or re-read. Texts are keyed by the SHA-256 of their UTF-8 bytes, so a
text stored once serves every later start. Split results live beside them (``bot.split_cache``).

The database is a cache: when it cannot be opened or read it is set aside and built again, and
the bot never depends on what it held before.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

# Characters per stored chunk: a part (a few thousand characters) reads one or two.
CHUNK_CHARS = 1 << 15
# The page cache of the connection, in KiB: bounded whatever the size of the library.
_CACHE_KIB = 2048
_SCHEMA = """
CREATE TABLE IF NOT EXISTS texts (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    length INTEGER NOT NULL,
    chunks INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS text_chunks (
    text_id INTEGER NOT NULL,
    chunk INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (text_id, chunk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS splits (
    key TEXT PRIMARY KEY,
    text_id INTEGER NOT NULL,
    record TEXT NOT NULL,
    paragraphs BLOB NOT NULL,
    used REAL NOT NULL
);
"""
# Bumped when the tables change shape: an older cache is then dropped, not read.
SCHEMA_VERSION = 1


class TextStore:
    """A SQLite database of story texts (and split results), safe to use from several threads."""

    def __init__(self, connection: sqlite3.Connection, path: Path | None) -> None:
        self._db = connection
        self.path = path
        self.lock = threading.Lock()

    @classmethod
    def open(cls, path: Path | None) -> TextStore:
        """The cache at ``path`` (created when missing; rebuilt when unreadable), or a private
        temporary database when ``path`` is None or cannot be used at all."""
        if path is not None:
            path = Path(path)
            for attempt in range(2):
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    # Private like the database beside it (SQLite gives its -wal and -shm
                    # files the same mode).
                    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
                    return cls(_connect(str(path)), path)
                except (sqlite3.Error, OSError) as error:
                    if attempt == 0 and path.exists():
                        log.warning(
                            "library cache %s unreadable (%s): building it again", path, error
                        )
                        _remove(path)
                        continue
                    log.warning(
                        "library cache %s cannot be used (%s): using a temporary one", path, error
                    )
        return cls(_connect(""), None)

    @property
    def db(self) -> sqlite3.Connection:
        return self._db

    def put(self, text: str) -> StoredText:
        """Store ``text`` (once per distinct text) and return it as a ``TextSource``."""
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        with self.lock, self._db:
            row = self._db.execute(
                "SELECT t.id, t.length, t.chunks, (SELECT count(*) FROM text_chunks c "
                "WHERE c.text_id = t.id) FROM texts t WHERE t.sha256 = ?",
                (digest,),
            ).fetchone()
            if row is not None and _complete(*row[1:]) and row[1] == len(text):
                return StoredText(self, row[0], row[1])
            if row is not None:
                self._db.execute("DELETE FROM text_chunks WHERE text_id = ?", (row[0],))
                self._db.execute("DELETE FROM texts WHERE id = ?", (row[0],))
            chunks = (len(text) + CHUNK_CHARS - 1) // CHUNK_CHARS
            text_id = self._db.execute(
                "INSERT INTO texts (sha256, length, chunks) VALUES (?, ?, ?)",
                (digest, len(text), chunks),
            ).lastrowid
            assert text_id is not None
            # Chunks left by a damaged cache under a reused id are not this text's.
            self._db.execute("DELETE FROM text_chunks WHERE text_id = ?", (text_id,))
            self._db.executemany(
                "INSERT INTO text_chunks (text_id, chunk, body) VALUES (?, ?, ?)",
                (
                    (text_id, i, text[i * CHUNK_CHARS : (i + 1) * CHUNK_CHARS])
                    for i in range(chunks)
                ),
            )
        return StoredText(self, text_id, len(text))

    def text(self, text_id: int) -> StoredText | None:
        """A stored text by its id, when it is complete."""
        with self.lock:
            row = self._db.execute(
                "SELECT t.length, t.chunks, (SELECT count(*) FROM text_chunks c "
                "WHERE c.text_id = t.id) FROM texts t WHERE t.id = ?",
                (text_id,),
            ).fetchone()
        if row is None or not _complete(*row):
            return None
        return StoredText(self, text_id, row[0])

    def read(self, text_id: int, start: int, end: int) -> str:
        first = start // CHUNK_CHARS
        last = (end - 1) // CHUNK_CHARS
        with self.lock:
            rows = self._db.execute(
                "SELECT body FROM text_chunks WHERE text_id = ? AND chunk BETWEEN ? AND ? "
                "ORDER BY chunk",
                (text_id, first, last),
            ).fetchall()
        if len(rows) != last - first + 1:
            raise LookupError(f"stored text {text_id} lacks chunks {first}..{last}")
        joined = rows[0][0] if len(rows) == 1 else "".join(row[0] for row in rows)
        offset = first * CHUNK_CHARS
        return joined[start - offset : end - offset]

    def close(self) -> None:
        with self.lock:
            self._db.close()


class StoredText:
    """A text in a ``TextStore``: its length, and its characters read a span at a time."""

    __slots__ = ("_length", "_store", "text_id")

    def __init__(self, store: TextStore, text_id: int, length: int) -> None:
        self._store = store
        self.text_id = text_id
        self._length = length

    def __len__(self) -> int:
        return self._length

    def read(self, start: int, end: int) -> str:
        if start >= end:
            return ""
        return self._store.read(self.text_id, start, end)


def _complete(length: int, chunks: int, found: int) -> bool:
    return chunks == found == (length + CHUNK_CHARS - 1) // CHUNK_CHARS


def _connect(target: str) -> sqlite3.Connection:
    db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        if target:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            db.executescript(
                "DROP TABLE IF EXISTS splits; DROP TABLE IF EXISTS text_chunks; "
                "DROP TABLE IF EXISTS texts;"
            )
        db.executescript(_SCHEMA)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        # A file that is not a database fails here; damage further in shows when a record is
        # read, and that record is then made again.
        db.execute("SELECT 1 FROM splits LIMIT 1").fetchone()
    except BaseException:
        db.close()
        raise
    # Transactions are explicit (``with db``) from here on.
    db.isolation_level = ""
    return db


def _remove(path: Path) -> None:
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        try:
            candidate.unlink(missing_ok=True)
        except OSError as error:
            log.warning("cannot remove %s: %s", candidate, error)
