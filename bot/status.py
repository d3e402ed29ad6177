"""``serialbot status``: every subscription in the database with its story, part, next post,
state and reason, read offline (no token, no connection; safe while the bot runs)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from bot.config import ConfigError, load_config
from bot.overview import OverviewError, SubscriptionRow, read_only, subscriptions, summary

EXIT_OK = 0
EXIT_UNUSABLE = 2
_HEADINGS = ("server", "channel", "story", "part", "next post (UTC)", "state", "reason")
_REASON_WIDTH = 60


def main(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    stream = out if out is not None else sys.stdout
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"serialbot status: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    if config.database_url is not None:
        print(
            "serialbot status: this configuration keeps its data in PostgreSQL; "
            "status reads a SQLite database only",
            file=sys.stderr,
        )
        return EXIT_UNUSABLE
    now = datetime.now(UTC)
    try:
        with read_only(config.database) as db:
            rows = subscriptions(db)
            totals = summary(db, now)
    except OverviewError as error:
        print(f"serialbot status: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    serials = totals.serials
    stream.write(
        f"Database: {config.database} · {len(rows)} subscription"
        f"{'' if len(rows) == 1 else 's'}: {serials.get('active', 0)} active, "
        f"{serials.get('paused', 0)} paused, {serials.get('finished', 0)} finished · "
        f"{totals.due} due now"
        + (f" (oldest waiting {_duration(totals.oldest_due_seconds)})" if totals.due else "")
        + "\n"
    )
    if rows:
        stream.write("\n" + render(rows, now) + "\n")
    return EXIT_OK


def render(rows: Sequence[SubscriptionRow], now: datetime) -> str:
    cells = [_cells(row, now) for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(_HEADINGS)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return "\n".join([line(_HEADINGS), line(["-" * w for w in widths]), *map(line, cells)])


def _cells(row: SubscriptionRow, now: datetime) -> list[str]:
    of = f" of {row.part_count}" if row.part_count else ""
    part = "done" if row.state == "finished" else f"{row.next_part}{of}"
    if row.state != "active" or row.next_due is None:
        when = "—"
    else:
        when = row.next_due.strftime("%Y-%m-%d %H:%M")
        if row.next_due <= now:
            when += " (due)"
    state = row.state
    if row.state == "active" and row.retries:
        state = f"retrying ({row.retries})"
    reason = " ".join((row.reason or "").split())
    if len(reason) > _REASON_WIDTH:
        reason = reason[: _REASON_WIDTH - 1] + "…"
    return [
        str(row.guild_id),
        str(row.channel_id),
        row.slug,
        part,
        when,
        state,
        reason or "—",
    ]


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{int(seconds)} s"
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"
