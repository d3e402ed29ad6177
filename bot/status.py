"""``serialbot status``: every subscription in the database with its story, part, next post,
state and reason; then the stories: how much each server has uploaded against its limits, and
how many channels follow each story, the stories folder's and the servers' own. Read offline
(no token, no connection to Discord; read-only, so safe while the bot runs), from SQLite or
PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.config import Config, ConfigError, load_config
from bot.library import STORY_SUFFIXES, slug_for
from bot.metrics import DatabaseSummary
from bot.overview import (
    OverviewError,
    SubscriptionRow,
    postgres_subscriptions,
    postgres_summary,
    read_only,
    subscriptions,
    summary,
)
from bot.storage import StoreUnavailable
from bot.store import StoreError
from bot.uploads import UploadLimits, mb, shown_slug, size_of, split_key
from bot.uploads_report import Listing, postgres_listing, sqlite_listing

EXIT_OK = 0
EXIT_UNUSABLE = 2
_HEADINGS = ("server", "channel", "story", "part", "next post (UTC)", "state", "reason")
_STORY_HEADINGS = ("story", "server", "file", "size", "channels")
_REASON_WIDTH = 60
_FILE_WIDTH = 40
_NONE = "—"
_SHARED = "shared"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The database at one moment, as status shows it."""

    where: str
    rows: list[SubscriptionRow]
    totals: DatabaseSummary
    listing: Listing


def main(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    stream = out if out is not None else sys.stdout
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"serialbot status: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    now = datetime.now(UTC)
    try:
        if config.database_url is not None:
            snapshot = asyncio.run(_postgres(config.database_url, now))
        else:
            snapshot = _sqlite(config.database, now)
    except (OverviewError, StoreError, StoreUnavailable) as error:
        print(f"serialbot status: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    rows, totals = snapshot.rows, snapshot.totals
    serials = totals.serials
    stream.write(
        f"Database: {snapshot.where} · {len(rows)} subscription"
        f"{'' if len(rows) == 1 else 's'}: {serials.get('active', 0)} active, "
        f"{serials.get('paused', 0)} paused, {serials.get('finished', 0)} finished · "
        f"{totals.due} due now"
        + (f" (oldest waiting {_duration(totals.oldest_due_seconds)})" if totals.due else "")
        + "\n"
    )
    if rows:
        stream.write("\n" + render(rows, now) + "\n")
    stream.write("\n" + render_stories(config, snapshot.listing) + "\n")
    return EXIT_OK


def _sqlite(path: Path, now: datetime) -> Snapshot:
    with read_only(path) as db:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        return Snapshot(str(path), subscriptions(db), summary(db, now), sqlite_listing(db, version))


async def _postgres(url: str, now: datetime) -> Snapshot:
    from bot.pgstore import read_only as postgres_read_only
    from bot.pgstore import redact

    async with postgres_read_only(url) as (db, version):
        if not version:
            raise OverviewError(
                f"{redact(url)}: no serialbot tables there yet (`serialbot run` creates them)"
            )
        return Snapshot(
            redact(url),
            await postgres_subscriptions(db),
            await postgres_summary(db, now),
            await postgres_listing(db, version),
        )


def render(rows: Sequence[SubscriptionRow], now: datetime) -> str:
    return _table(_HEADINGS, [_cells(row, now) for row in rows])


def render_stories(config: Config, listing: Listing) -> str:
    """Each server's uploads against its limits, then every story with the channels following
    it: the stories folder's (``shared``), each server's own, and any a channel still follows
    that is in neither."""
    limits = UploadLimits.from_config(config.uploads)
    folder = _folder_files(config.stories)
    servers = listing.servers()
    uploaded = sum(s.bytes for s in servers)
    lines = [
        f"Stories: {len(folder)} in the stories folder ({config.stories}), "
        f"{len(listing.uploads)} uploaded by {len(servers)} server"
        f"{'' if len(servers) == 1 else 's'} ({size_of(uploaded)})"
    ]
    for server in servers:
        lines.append(
            f"  server {server.guild_id}: {server.stories} of {limits.stories_per_server} "
            f"stories, {server.size} of {mb(limits.bytes_per_server)}"
        )
    cells: list[list[str]] = []
    for followed in listing.followed(sorted(folder)):
        if followed.upload is not None:
            upload = followed.upload
            cells.append(
                [
                    upload.slug,
                    str(upload.guild_id),
                    _clip(upload.filename, _FILE_WIDTH),
                    size_of(upload.size),
                    str(followed.channels),
                ]
            )
            continue
        path = folder.get(followed.key)
        owner = split_key(followed.key)
        cells.append(
            [
                shown_slug(followed.key),
                str(owner[0]) if owner else _SHARED,
                _clip(path.name, _FILE_WIDTH) if path else "(gone)",
                size_of(path.stat().st_size) if path else _NONE,
                str(followed.channels),
            ]
        )
    if cells:
        lines += ["", _table(_STORY_HEADINGS, cells)]
    return "\n".join(lines)


def _folder_files(folder: Path) -> dict[str, Path]:
    """The story files of the folder by slug, as the library finds them (without reading)."""
    if not folder.is_dir():
        return {}
    files = sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in STORY_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )
    return {slug_for(p): p for p in files}


def _table(headings: Sequence[str], cells: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headings)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return "\n".join([line(headings), line(["-" * w for w in widths]), *map(line, cells)])


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _cells(row: SubscriptionRow, now: datetime) -> list[str]:
    of = f" of {row.part_count}" if row.part_count else ""
    part = "done" if row.state == "finished" else f"{row.next_part}{of}"
    if row.state != "active" or row.next_due is None:
        when = _NONE
    else:
        when = row.next_due.strftime("%Y-%m-%d %H:%M")
        if row.next_due <= now:
            when += " (due)"
    state = row.state
    if row.state == "active" and row.retries:
        state = f"retrying ({row.retries})"
    return [
        str(row.guild_id),
        str(row.channel_id),
        row.slug,
        part,
        when,
        state,
        _clip(row.reason or "", _REASON_WIDTH) or _NONE,
    ]


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{int(seconds)} s"
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"
