"""Split results cached by the story file's hash, so that a restart with unchanged stories neither
reads their structure again nor splits them again.

The key is the SHA-256 of the file's bytes and its sidecar's, the file's name (the slug and a
title may come from it), the library's settings (part length, tolerance, size limit, author's
notes) and a fingerprint of the code that reads and splits stories: change any of them and the
story is read and split anew. A record that cannot be read back exactly is ignored and made again.
The text itself is kept in the same database (``bot.text_store``), not in memory.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import sqlite3
import sys
import time
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.pieces import readable_pieces
from bot.story import (
    Aside,
    Break,
    ParagraphTable,
    Part,
    Rating,
    ReadPart,
    Serial,
    StoredStory,
    Story,
    StoryMeta,
)
from bot.text_store import TextStore

log = logging.getLogger(__name__)

FORMAT = "1"
# The modules whose behaviour decides a split: any change to them makes every record stale.
_CODE = (
    "library.py",
    "story.py",
    "paragraphs.py",
    "splitter.py",
    "split_units.py",
    "split_choice.py",
    "pieces.py",
    "structure.py",
    "headings.py",
    "front_matter.py",
    "split_cache.py",
    "loaders",
)
# A record not used for this long (its file changed or went) is dropped.
_UNUSED_SECONDS = 14 * 86400


@functools.cache
def code_fingerprint() -> str:
    """A hash of the source of the modules that read and split stories."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256(f"{FORMAT} {sys.byteorder} {sys.version_info[:2]}".encode())
    for name in _CODE:
        target = here / name
        files = sorted(target.glob("*.py")) if target.is_dir() else [target]
        for file in files:
            try:
                digest.update(file.name.encode() + b"\0" + _file_digest(file))
            except OSError:
                digest.update(file.name.encode() + b"\0unreadable")
    return digest.hexdigest()


def file_key(path: Path, sidecar: Path | None, settings: dict[str, Any]) -> str | None:
    """The cache key of a story file, or None when the file is not worth caching (too large or
    unreadable: loading it says why)."""
    try:
        if path.stat().st_size > settings.get("max_bytes", sys.maxsize):
            return None
        digest = hashlib.sha256(code_fingerprint().encode())
        digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
        digest.update(path.name.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(_file_digest(path))
        if sidecar is not None:
            digest.update(sidecar.name.encode("utf-8", "surrogateescape") + b"\0")
            digest.update(_file_digest(sidecar))
    except OSError:
        return None
    return digest.hexdigest()


def _file_digest(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").digest()


class SplitCache:
    """Serials kept and found again by ``file_key``; their text kept in the store."""

    def __init__(self, store: TextStore) -> None:
        self.store = store
        self._used: list[str] = []

    def get(self, key: str, path: Path) -> Serial | None:
        """The serial stored under ``key`` (its story's path set to ``path``), or None."""
        try:
            with self.store.lock:
                row = self.store.db.execute(
                    "SELECT text_id, record, paragraphs FROM splits WHERE key = ?", (key,)
                ).fetchone()
            if row is None:
                return None
            text = self.store.text(row[0])
            if text is None:
                return None
            serial = _decode(json.loads(row[1]), row[2], text, path)
        except (sqlite3.Error, ValueError, TypeError, KeyError, IndexError) as error:
            log.warning("library cache: record of %s unreadable (%s): splitting again", path, error)
            return None
        self._used.append(key)
        return serial

    def put(self, key: str, serial: Serial) -> Serial:
        """Store ``serial`` under ``key``; the serial returned reads its text from the store.
        When the store cannot take it, the serial is returned as it is."""
        story = serial.story
        try:
            text = self.store.put(story.text)
            table = ParagraphTable.of(story.paragraphs)
            record = json.dumps(_encode(serial), ensure_ascii=False)
            blob = table.starts.tobytes() + table.ends.tobytes() + table.words.tobytes()
            with self.store.lock, self.store.db:
                self.store.db.execute(
                    "INSERT OR REPLACE INTO splits (key, text_id, record, paragraphs, used) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (key, text.text_id, record, blob + table.flags, time.time()),
                )
        except sqlite3.Error as error:
            log.warning("library cache: cannot keep %s (%s)", story.path.name, error)
            return serial
        return rebind(serial, story.replace(text=text, paragraphs=table))

    def finish(self) -> None:
        """Mark the records used by this load, and drop those long unused."""
        now = time.time()
        try:
            with self.store.lock, self.store.db:
                db = self.store.db
                db.executemany(
                    "UPDATE splits SET used = ? WHERE key = ?", ((now, k) for k in self._used)
                )
                dropped = db.execute(
                    "DELETE FROM splits WHERE used < ?", (now - _UNUSED_SECONDS,)
                ).rowcount
                if dropped:
                    db.execute("DELETE FROM texts WHERE id NOT IN (SELECT text_id FROM splits)")
                    db.execute(
                        "DELETE FROM text_chunks WHERE text_id NOT IN (SELECT id FROM texts)"
                    )
        except sqlite3.Error as error:
            log.warning("library cache: cannot record its use (%s)", error)
        self._used.clear()


def rebind(serial: Serial, story: Story) -> Serial:
    """``serial``'s parts reading their pieces from ``story`` (the same text, held elsewhere)."""
    reader = functools.partial(readable_pieces, story)
    parts = tuple(
        ReadPart(p.index, p.start, p.end, reader, p.words, p.ends_with, p.heading)  # type: ignore[arg-type]
        for p in serial.parts
    )
    return Serial(story=story, parts=parts)


def _encode(serial: Serial) -> dict[str, Any]:
    story = serial.story
    meta = story.meta
    return {
        "slug": story.slug,
        "length": story.length,
        "paragraphs": len(story.paragraphs),
        "meta": {
            "title": meta.title,
            "author": meta.author,
            "rating": meta.rating.value,
            "content_notes": list(meta.content_notes),
            "summary": meta.summary,
            "words_per_part": meta.words_per_part,
            "language": meta.language,
            "details": [list(pair) for pair in meta.details],
        },
        "revision": story.revision,
        "soft_wraps": story.soft_wraps,
        "asides": [[a.kind, a.start, a.end] for a in story.asides],
        "source": story.source,
        "warnings": list(story.warnings),
        "emphasis": [list(run) for run in story.emphasis],
        "parts": [
            [p.index, p.start, p.end, p.words, int(p.ends_with), p.heading] for p in serial.parts
        ],
    }


def _decode(record: dict[str, Any], blob: bytes, text: Any, path: Path) -> Serial:
    count = record["paragraphs"]
    if record["length"] != len(text) or len(blob) != count * 25:
        raise ValueError("record does not match its text")
    arrays = []
    for i in range(3):
        values = array("q")
        values.frombytes(blob[i * 8 * count : (i + 1) * 8 * count])
        arrays.append(values)
    table = ParagraphTable(arrays[0], arrays[1], arrays[2], blob[24 * count :])
    m = record["meta"]
    meta = StoryMeta(
        title=_str(m["title"]),
        author=_optional(m["author"]),
        rating=Rating(m["rating"]),
        content_notes=tuple(_str(n) for n in m["content_notes"]),
        summary=_optional(m["summary"]),
        words_per_part=_optional_int(m["words_per_part"]),
        language=_optional(m["language"]),
        details=tuple((_str(k), _str(v)) for k, v in m["details"]),
    )
    story = StoredStory(
        slug=_str(record["slug"]),
        path=path,
        meta=meta,
        text=text,
        paragraphs=table,
        revision=_str(record["revision"]),
        soft_wraps=bool(record["soft_wraps"]),
        asides=tuple(Aside(_str(k), int(s), int(e)) for k, s, e in record["asides"]),
        source=_str(record["source"]),
        warnings=tuple(_str(w) for w in record["warnings"]),
        emphasis=tuple((int(a), int(b), int(style)) for a, b, style in record["emphasis"]),
    )
    reader = functools.partial(readable_pieces, story)
    parts = tuple(
        ReadPart(int(i), int(s), int(e), reader, int(w), Break(b), _optional(h))  # type: ignore[arg-type]
        for i, s, e, w, b, h in record["parts"]
    )
    _check_tiling(parts, len(text))
    return Serial(story=story, parts=parts)


def _check_tiling(parts: Iterable[Part], length: int) -> None:
    at = 0
    for number, part in enumerate(parts, start=1):
        if part.index != number or part.start != at or part.end < part.start:
            raise ValueError("parts do not tile the text")
        at = part.end
    if at != length:
        raise ValueError("parts do not tile the text")


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, found {type(value).__name__}")
    return value


def _optional(value: Any) -> str | None:
    return None if value is None else _str(value)


def _optional_int(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"expected a number, found {type(value).__name__}")
    return value
