"""The stories as each server sees them: the operator's shared library (the stories folder) plus
that server's own uploads, which no other server sees. The scheduler asks it for a channel's
story by the slug its subscription holds (a shared slug, or an upload's key), as it asks the
library; commands ask it for what one server may see."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.split_cache import SplitCache, code_fingerprint
from bot.splitter import DEFAULT_TOLERANCE, DEFAULT_WORDS_PER_PART
from bot.uploads import Upload, UploadError, load_upload, split_key

if TYPE_CHECKING:
    from bot.library import Library
    from bot.story import Serial
    from bot.uploads_pg import PostgresUploads
    from bot.uploads_sqlite import SqliteUploads

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Entry:
    """A story one server may choose: ``slug`` is what its members type."""

    serial: Serial
    slug: str
    upload: Upload | None = None
    rated: bool = True

    @property
    def shared(self) -> bool:
        return self.upload is None

    @property
    def key(self) -> str:
        """What a subscription to it holds."""
        return self.serial.slug


class Catalog:
    def __init__(self, library: Library) -> None:
        self.shared = library
        self._uploads: dict[int, dict[str, Entry]] = {}

    # What the scheduler's revision path reads of the library.
    @property
    def words_per_part(self) -> int:
        return int(getattr(self.shared, "words_per_part", DEFAULT_WORDS_PER_PART))

    @property
    def tolerance(self) -> float:
        return float(getattr(self.shared, "tolerance", DEFAULT_TOLERANCE))

    @property
    def max_bytes(self) -> int:
        return int(self.shared.max_bytes)

    @property
    def author_notes(self) -> bool:
        return bool(self.shared.author_notes)

    async def load(self, uploads: SqliteUploads | PostgresUploads) -> None:
        """Read every server's uploads from the database (at start-up)."""
        for listed in await uploads.listed():
            upload = await uploads.get(listed.guild_id, listed.slug)
            if upload is None:
                continue
            try:
                entry = await asyncio.to_thread(self.entry_for, upload)
            except UploadError as error:
                # Loaded once, no longer (a loader that changed): kept in the database, not
                # offered; its channels are paused as for a missing file.
                log.warning("cannot load upload %s (%s): %s", upload.key, upload.filename, error)
                continue
            self.put(entry)
        log.info(
            "%d uploaded stories for %d servers",
            sum(len(v) for v in self._uploads.values()),
            len(self._uploads),
        )

    async def refresh(self, uploads: SqliteUploads | PostgresUploads) -> int:
        """Catch up with what other processes sharing the database changed: new, replaced,
        edited and removed uploads. Returns how many stories changed here."""
        listed = await uploads.listed()
        seen: set[tuple[int, str]] = set()
        changed = 0
        for upload in listed:
            seen.add((upload.guild_id, upload.slug))
            known = self.upload(upload.guild_id, upload.slug)
            if (
                known is not None
                and known.upload is not None
                and (
                    (known.upload.sha256, dict(known.upload.meta))
                    == (upload.sha256, dict(upload.meta))
                )
            ):
                continue
            full = await uploads.get(upload.guild_id, upload.slug)
            if full is None:
                continue
            try:
                self.put(await asyncio.to_thread(self.entry_for, full))
            except UploadError as error:
                log.warning("cannot load upload %s: %s", full.key, error)
                continue
            changed += 1
        for guild_id, own in list(self._uploads.items()):
            for slug in [s for s in own if (guild_id, s) not in seen]:
                self.drop(guild_id, slug)
                changed += 1
        return changed

    def entry_for(self, upload: Upload) -> Entry:
        """An upload loaded and cut as its server's channels get it (slow: off the event loop).
        With the library's cache, its text is kept there rather than in memory, and an upload
        read once is not read and cut again at the next start."""
        cache = getattr(self.shared, "cache", None)
        splits = SplitCache(cache) if cache is not None else None
        key = self._cache_key(upload)
        path = Path(f"{upload.slug}{Path(upload.filename).suffix.lower()}")
        if splits is not None:
            cached = splits.get(key, path)
            if cached is not None and cached.slug == upload.key:
                return Entry(cached, upload.slug, upload, rated=upload.rated)
        loaded = load_upload(
            upload.key,
            upload.filename,
            upload.data,
            upload.meta,
            words_per_part=self.words_per_part,
            tolerance=self.tolerance,
            max_bytes=self.max_bytes,
            author_notes=self.author_notes,
        )
        serial = splits.put(key, loaded.serial) if splits is not None else loaded.serial
        return Entry(serial, upload.slug, upload, rated=loaded.rated)

    def _cache_key(self, upload: Upload) -> str:
        """The split cache's key of an upload: the file, what admins set and how it is cut
        (and, through the fingerprint, the code that reads and cuts it)."""
        settings = {
            "upload": upload.key,
            "filename": upload.filename,
            "sha256": upload.sha256,
            "meta": dict(upload.meta),
            "words_per_part": self.words_per_part,
            "tolerance": self.tolerance,
            "max_bytes": self.max_bytes,
            "author_notes": self.author_notes,
            "code": code_fingerprint(),
        }
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()

    # --- the scheduler's SerialSource ----------------------------------------------------------

    def get(self, slug: str) -> Serial | None:
        found = split_key(slug)
        if found is None:
            return self.shared.get(slug)
        entry = self._uploads.get(found[0], {}).get(found[1])
        return entry.serial if entry is not None else None

    # --- what one server sees ------------------------------------------------------------------

    def entries(self, guild_id: int) -> list[Entry]:
        """The server's own stories, then the shared ones whose slug it does not use itself."""
        own = self._uploads.get(guild_id, {})
        shared = [Entry(s, s.slug) for s in self.shared if s.slug not in own]
        return sorted(own.values(), key=_order) + shared

    def find(self, guild_id: int, typed: str) -> Entry | None:
        """The story a member of ``guild_id`` means: its own first, then a shared one. An
        upload's full key is accepted from its own server only."""
        typed = typed.strip()
        found = split_key(typed)
        if found is not None:
            return self.upload(guild_id, found[1]) if found[0] == guild_id else None
        own = self.upload(guild_id, typed)
        if own is not None:
            return own
        serial = self.shared.get(typed)
        return Entry(serial, serial.slug) if serial is not None else None

    def upload(self, guild_id: int, slug: str) -> Entry | None:
        return self._uploads.get(guild_id, {}).get(slug)

    def uploads(self, guild_id: int) -> list[Entry]:
        return sorted(self._uploads.get(guild_id, {}).values(), key=_order)

    def put(self, entry: Entry) -> None:
        assert entry.upload is not None
        self._uploads.setdefault(entry.upload.guild_id, {})[entry.slug] = entry

    def drop(self, guild_id: int, slug: str) -> None:
        own = self._uploads.get(guild_id, {})
        own.pop(slug, None)
        if not own:
            self._uploads.pop(guild_id, None)

    def drop_guild(self, guild_id: int) -> None:
        self._uploads.pop(guild_id, None)


def _order(entry: Entry) -> tuple[str, str]:
    return (entry.serial.story.title.casefold(), entry.slug)


__all__ = ["Catalog", "Entry"]
