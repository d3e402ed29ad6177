"""The library as the configuration describes it: the stories folder, read with the configured
part length, tolerance, size limit and author's notes. ``serialbot run``, ``check`` and ``demo``
all read it this way."""

from __future__ import annotations

from pathlib import Path

from bot.config import Config
from bot.library import Library

LIBRARY_CACHE_NAME = "library-cache.sqlite3"


def library_cache_path(database: Path) -> Path | None:
    """Where the stories' text and split results are kept across starts: next to the database
    (with PostgreSQL, in the data folder its default path names)."""
    if str(database) == ":memory:":
        return None
    return database.with_name(LIBRARY_CACHE_NAME)


def load_library(config: Config, *, cache: Path | None = None) -> Library:
    """``cache``: the library cache database (``library_cache_path``) kept across starts, or
    None for a temporary one."""
    return Library.load(
        config.stories,
        words_per_part=config.words_per_part,
        tolerance=config.tolerance,
        max_bytes=config.max_story_bytes,
        author_notes=config.author_notes,
        cache=cache,
    )
