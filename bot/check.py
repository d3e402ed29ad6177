"""``serialbot check``: is the configuration usable, and which stories will the bot post?

Reads the configuration (every problem in it, not just the first), the whole story library and
every story the servers uploaded (each read again by the loaders and checks it met when it was
uploaded, from the database, which is not changed), then prints one row per story (slug, title,
parts, words, rating, content notes, problems), one per upload (server, slug, title, rating,
size, problems) and every problem with the file or upload it is in. Exit status 0 when all is
well, 1 when anything is wrong, so it can gate a deployment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.config import Config, ConfigError, load_config
from bot.configured_library import load_library
from bot.library import Library, StoryError, slug_for
from bot.storage import StoreUnavailable
from bot.store import SCHEMA_VERSION, StoreError
from bot.story import Rating, Serial
from bot.story_checks import story_warnings
from bot.uploads import size_of
from bot.uploads_report import UploadCheck, check_upload, postgres_files, sqlite_files

__all__ = ["StoryRow", "library_rows", "main", "render_table", "render_uploads"]

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_PROBLEMS = 1
_NONE = "—"
_TITLE_WIDTH = 32
_NOTES_WIDTH = 40
_PROBLEM_WIDTH = 48


@dataclass(frozen=True, slots=True)
class StoryRow:
    story: str
    title: str
    parts: str
    words: str
    rating: str
    content_notes: str
    problems: str


def library_rows(library: Library) -> list[StoryRow]:
    """A row per story the library loaded, then one per file it could not use."""
    rows = [_serial_row(serial) for serial in library]
    for problem in library.problems:
        if problem.path == library.folder:
            continue  # the folder itself: listed with the problems, not as a story
        rows.append(
            StoryRow(
                story=slug_for(problem.path),
                title=_NONE,
                parts=_NONE,
                words=_NONE,
                rating=_NONE,
                content_notes=_NONE,
                problems=_clip(f"{problem.path.name}: {problem.reason}", _PROBLEM_WIDTH),
            )
        )
    return rows


def _serial_row(serial: Serial) -> StoryRow:
    meta = serial.story.meta
    rating = meta.rating.value
    if meta.rating.age_restricted:
        rating += " (age-restricted channels only)"
    notes = ", ".join(meta.content_notes) if meta.content_notes else _NONE
    if meta.rating in (Rating.MATURE, Rating.EXPLICIT) and not meta.content_notes:
        notes = "none given"
    return StoryRow(
        story=serial.slug,
        title=_clip(serial.story.title, _TITLE_WIDTH),
        parts=str(len(serial.parts)),
        words=f"{serial.story.words:,}",
        rating=rating,
        content_notes=_clip(notes, _NOTES_WIDTH),
        problems=_NONE,
    )


_HEADINGS = ("story", "title", "parts", "words", "rating", "content notes", "problems")
_RIGHT = frozenset({"parts", "words"})


def render_table(rows: Sequence[StoryRow]) -> str:
    """The rows as an aligned plain-text table with a heading line."""
    cells = [
        [r.story, r.title, r.parts, r.words, r.rating, r.content_notes, r.problems] for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(_HEADINGS)]

    def line(values: Sequence[str]) -> str:
        padded = [
            v.rjust(w) if h in _RIGHT else v.ljust(w)
            for v, w, h in zip(values, widths, _HEADINGS, strict=True)
        ]
        return "  ".join(padded).rstrip()

    out = [line(_HEADINGS), line(["-" * w for w in widths])]
    out.extend(line(c) for c in cells)
    return "\n".join(out)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _where(path: Path) -> str:
    """A path as the operator typed it: relative to the working directory when inside it."""
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    return str(path)


def _check_database(config: Config) -> tuple[str, str | None]:
    """(what to say about the database, a problem or None). A PostgreSQL database is connected
    to and its schema version read; a SQLite file's version is read if the file exists.
    Nothing is changed either way."""
    if config.database_url is not None:
        from bot.pgstore import inspect, redact

        where = redact(config.database_url)
        try:
            version = asyncio.run(inspect(config.database_url))
        except StoreUnavailable as error:
            return f"{where} · not reachable", f"database: {error}"
        except StoreError as error:
            return f"{where} · not usable", f"database: {error}"
    else:
        where = _where(config.database)
        if config.database.is_dir():
            return f"{where} · a folder", (
                f"database: {where} is a folder; name the database file, such as "
                f"{Path(where) / 'serialbot.sqlite3'}"
            )
        if not config.database.exists():
            problem = _cannot_create(config.database)
            if problem is not None:
                return f"{where} · cannot be created", f"database: {where}: {problem}"
            return f"{where} · created on first run", None
        try:
            with contextlib.closing(
                sqlite3.connect(f"file:{config.database}?mode=ro", uri=True)
            ) as db:
                version = int(db.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.Error as error:
            return f"{where} · unreadable", f"{where}: not a serialbot database ({error})"
    return _schema_state(where, version)


def _cannot_create(path: Path) -> str | None:
    """Why ``run`` could not create the database file at ``path`` (and its folders), or None."""
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"cannot be created: {folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot be created: {folder} is not writable by this user"
    return None


def _schema_state(where: str, version: int | None) -> tuple[str, str | None]:
    if not version:
        return f"{where} · reachable, empty (tables are created on first run)", None
    if version > SCHEMA_VERSION:
        return f"{where} · schema version {version}", (
            f"database {where}: schema version {version} is newer than this serialbot "
            f"understands ({SCHEMA_VERSION}); upgrade serialbot"
        )
    if version < SCHEMA_VERSION:
        return f"{where} · schema version {version}, upgraded to {SCHEMA_VERSION} on next run", None
    return f"{where} · schema version {version}, up to date", None


def _read_uploads(config: Config) -> list[UploadCheck]:
    """Every upload in the database, each loaded as at upload time; none when there is no
    database yet. Raises ``StoreError`` or ``StoreUnavailable`` when it cannot be read."""
    settings = {
        "words_per_part": config.words_per_part,
        "tolerance": config.tolerance,
        "max_bytes": config.max_story_bytes,
        "author_notes": config.author_notes,
    }
    if config.database_url is not None:
        return asyncio.run(_postgres_uploads(config.database_url, settings))
    if not config.database.is_file():
        return []
    try:
        with contextlib.closing(
            sqlite3.connect(f"{config.database.absolute().as_uri()}?mode=ro", uri=True)
        ) as db:
            db.row_factory = sqlite3.Row
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                return []  # already a problem of the database's
            return [
                found if isinstance(found, UploadCheck) else check_upload(found, **settings)
                for found in sqlite_files(db, version)
            ]
    except sqlite3.Error as error:
        raise StoreError(f"{_where(config.database)}: uploads cannot be read ({error})") from None


async def _postgres_uploads(url: str, settings: dict[str, Any]) -> list[UploadCheck]:
    from bot.pgstore import read_only

    async with read_only(url) as (db, version):
        return [
            found if isinstance(found, UploadCheck) else check_upload(found, **settings)
            async for found in postgres_files(db, version)
        ]


_UPLOAD_HEADINGS = ("server", "story", "title", "parts", "words", "rating", "size", "problems")
_UPLOAD_RIGHT = frozenset({"parts", "words", "size"})


def render_uploads(checks: Sequence[UploadCheck]) -> str:
    """The uploads as an aligned plain-text table with a heading line."""
    cells = [
        [
            str(c.guild_id),
            c.slug,
            _clip(c.title, _TITLE_WIDTH) or _NONE,
            _NONE if c.parts is None else str(c.parts),
            _NONE if c.words is None else f"{c.words:,}",
            c.rating,
            size_of(c.size),
            _clip(c.problem, _PROBLEM_WIDTH) if c.problem else _NONE,
        ]
        for c in checks
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(_UPLOAD_HEADINGS)]

    def line(values: Sequence[str]) -> str:
        padded = [
            v.rjust(w) if h in _UPLOAD_RIGHT else v.ljust(w)
            for v, w, h in zip(values, widths, _UPLOAD_HEADINGS, strict=True)
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(_UPLOAD_HEADINGS), line(["-" * w for w in widths]), *map(line, cells)])


def _upload_problem(check: UploadCheck) -> str:
    return (
        f"upload {check.slug} of server {check.guild_id} ({check.filename}) no longer loads: "
        f"{check.problem} Its channels pause until the server's admins upload it again with "
        f"/serial library replace story:{check.slug}."
    )


def _story_problem(problem: StoryError) -> str:
    return f"{_where(problem.path)}: {problem.reason}"


def main(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    # Problems are printed below as a list; the loader's own warnings would repeat them.
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    stream = out if out is not None else sys.stdout
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(ValueError, OSError):
            reconfigure(errors="replace")

    def say(text: str = "") -> None:
        stream.write(text + "\n")

    problems: list[str] = []
    database_ok = False
    try:
        config = load_config(args.config)
    except ConfigError as error:
        problems.extend(error.problems)
        config = Config()
        count = len(error.problems)
        say(
            f"Configuration: {count} problem{'' if count == 1 else 's'} (listed below); "
            "stories checked with the defaults"
        )
    else:
        source = _where(config.source) if config.source else "no file, defaults"
        say(f"Configuration: {source} · ok")
        database, problem = _check_database(config)
        say(
            f"Database: {database} · default schedule: {config.default_schedule} "
            f"({config.default_timezone})"
        )
        if problem is not None:
            problems.append(problem)
        database_ok = problem is None

    library = load_library(config)
    problems.extend(_story_problem(p) for p in library.problems)
    stories = len(library)
    broken = sum(1 for p in library.problems if p.path != library.folder)
    say(
        f"Stories: {_where(config.stories)} · {stories} stor{'y' if stories == 1 else 'ies'}"
        f", {broken} broken file{'' if broken == 1 else 's'}"
    )
    if not stories and config.stories.is_dir():
        problems.append(
            f"{_where(config.stories)}: no stories (.txt, .md, .html or .epub files) to post"
        )

    rows = library_rows(library)
    if rows:
        say()
        say(render_table(rows))
    upload_warnings: list[str] = []
    if database_ok:
        try:
            uploads = _read_uploads(config)
        except (StoreError, StoreUnavailable) as error:
            problems.append(f"uploads: {error}")
        else:
            broken = [c for c in uploads if c.problem is not None]
            servers = len({c.guild_id for c in uploads})
            say()
            say(
                f"Uploads: {len(uploads)} stor{'y' if len(uploads) == 1 else 'ies'} of "
                f"{servers} server{'' if servers == 1 else 's'} in the database, "
                f"{len(broken)} that no longer load{'s' if len(broken) == 1 else ''}"
            )
            if uploads:
                say()
                say(render_uploads(uploads))
            problems.extend(_upload_problem(c) for c in broken)
            upload_warnings = [f"server {c.guild_id}: {w}" for c in uploads for w in c.warnings]
    say()
    # What a reader would notice: worth fixing, but the bot can post these stories.
    warnings = [warning for serial in library for warning in story_warnings(serial)]
    warnings += upload_warnings
    if warnings:
        say(f"Warnings ({len(warnings)}):")
        for warning in warnings:
            say(f"  - {warning}")
        say()
    if problems:
        say(f"Problems ({len(problems)}):")
        for problem in problems:
            say(f"  - {problem}")
        return EXIT_PROBLEMS
    say("All is well." if not warnings else "No problems; read the warnings above.")
    return EXIT_OK
