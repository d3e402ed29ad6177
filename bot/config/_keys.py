"""Every key the file may hold, the check of its value and the setting it fills; the walk over
a parsed file that checks each key, and the building of ``Config`` from the checked values.

A new setting is a field in ``_settings`` and a line in ``KEYS``; a new section is also a field
of ``Config`` whose default is made by its settings class."""

from __future__ import annotations

import difflib
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from bot.config import _values as value
from bot.config._errors import TOKEN_SHAPE
from bot.config._settings import CATCH_UP_POLICIES, LOG_LEVELS, Config
from bot.limits import ARCHIVE_MINUTES
from bot.logs import LOG_FORMATS

# dotted key -> (name in the flat dict ``build`` takes, check)
KEYS: dict[str, tuple[str, value.ValueCheck]] = {
    "stories": ("stories", value.text),
    "database": ("database", value.text),
    "words_per_part": ("words_per_part", value.whole_number(20, 50_000, " words")),
    "tolerance": ("tolerance", value.fraction),
    "max_story_mb": ("max_story_mb", value.whole_number(1, 1024, " MB")),
    "author_notes": ("author_notes", value.flag),
    "schedule.default": ("default_schedule", value.schedule),
    "schedule.timezone": ("default_timezone", value.timezone),
    "threads.enabled": ("threads.enabled", value.flag),
    "threads.auto_archive_minutes": (
        "threads.auto_archive_minutes",
        value.one_of(ARCHIVE_MINUTES),
    ),
    "threads.discussion_rule": ("threads.discussion_rule", value.discussion_rule),
    "next.cooldown_minutes": ("next.cooldown_minutes", value.whole_number(0, 10_080, " minutes")),
    "next.quorum": ("next.quorum", value.whole_number(1, 100)),
    "next.quorum_window_minutes": (
        "next.quorum_window_minutes",
        value.whole_number(1, 1440, " minutes"),
    ),
    "catch_up.policy": ("catch_up.policy", value.one_of(CATCH_UP_POLICIES)),
    "catch_up.cap": ("catch_up.cap", value.whole_number(1, 100)),
    "catch_up.spacing_minutes": (
        "catch_up.spacing_minutes",
        value.whole_number(0, 1440, " minutes"),
    ),
    "concurrency": ("concurrency", value.whole_number(1, 64)),
    "commands.sync_guild": ("commands.sync_guild", value.server_id),
    "shards.count": ("shards.count", value.shard_count),
    "shards.ids": ("shards.ids", value.shard_ids),
    "cluster.claim_seconds": ("cluster.claim_seconds", value.whole_number(2, 3600, " seconds")),
    "cluster.poll_seconds": ("cluster.poll_seconds", value.whole_number(1, 600, " seconds")),
    "discord.requests_per_second": (
        "discord.requests_per_second",
        value.number(1, 10_000, "/s"),
    ),
    "log_level": ("log_level", value.one_of(LOG_LEVELS, fold=True)),
    "log_format": ("log_format", value.one_of(LOG_FORMATS)),
    "metrics.port": ("metrics.port", value.port),
    "uploads.max_file_mb": ("uploads.max_file_mb", value.whole_number(1, 500, " MB")),
    "uploads.stories_per_server": (
        "uploads.stories_per_server",
        value.whole_number(0, 10_000, " stories"),
    ),
    "uploads.mb_per_server": ("uploads.mb_per_server", value.whole_number(1, 100_000, " MB")),
    "uploads.download_seconds": (
        "uploads.download_seconds",
        value.whole_number(5, 600, " seconds"),
    ),
    "uploads.retention_days": ("uploads.retention_days", value.whole_number(0, 3650, " days")),
    "uploads.extra_attachment_origins": ("uploads.extra_attachment_origins", value.origins),
}
SECTIONS = frozenset(key.partition(".")[0] for key in KEYS if "." in key)
_NULLABLE = frozenset({"commands.sync_guild", "shards.count", "shards.ids", "metrics.port"})
_TOKEN_KEYS = frozenset({"token", "discord_token", "bot_token"})
_DEFAULTS = Config()


def check_file(data: dict[Any, Any], where: str, problems: list[str]) -> dict[str, Any]:
    """The checked values of a parsed file, keyed as ``build`` takes them; every problem found
    is added to ``problems``."""
    values: dict[str, Any] = {}

    def walk(mapping: dict[Any, Any], prefix: str) -> None:
        for raw_key, given in mapping.items():
            key = f"{prefix}{raw_key}"
            if str(raw_key).lower() in _TOKEN_KEYS:
                problems.append(
                    f"{where}: {key}: the bot token does not belong in the configuration file; "
                    "remove it and set the DISCORD_TOKEN environment variable instead"
                )
            elif key in SECTIONS:
                if given is None:
                    continue
                if not isinstance(given, dict):
                    problems.append(
                        f"{where}: {key}: expected a section of 'key: value' lines, "
                        f"got {value.kind_of(given)}"
                    )
                    continue
                walk(given, f"{key}.")
            elif isinstance(given, str) and TOKEN_SHAPE.search(given):
                problems.append(
                    f"{where}: {key}: holds what looks like a bot token; a token does not "
                    "belong in the configuration file: remove it and set the DISCORD_TOKEN "
                    "environment variable instead"
                )
            elif key in KEYS:
                target, check = KEYS[key]
                if given is None and key not in _NULLABLE:
                    problems.append(
                        f"{where}: {key}: has no value (give one, or remove the line to use "
                        f"the default, {_default(target)})"
                    )
                    continue
                try:
                    values[target] = check(given)
                except value.InvalidValue as error:
                    problems.append(f"{where}: {key}: {error}")
            else:
                problems.append(f"{where}: {key}: unknown key{_suggest(key)}")

    walk(data, "")
    return values


def _suggest(key: str) -> str:
    candidates = sorted(KEYS) + sorted(SECTIONS)
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    if not close:
        # A leaf put at the wrong level ("timezone" for "schedule.timezone").
        leaf = key.rpartition(".")[2]
        close = [k for k in sorted(KEYS) if k.rpartition(".")[2] == leaf][:1]
    return f" (did you mean {close[0]}?)" if close else ""


def _default(target: str) -> str:
    section, _, name = target.rpartition(".")
    holder: Any = getattr(_DEFAULTS, section) if section else _DEFAULTS
    default = getattr(holder, name)
    if default is None:
        return "null"
    return str(default).lower() if isinstance(default, bool) else str(default)


def build(values: dict[str, Any], source: Path | None) -> Config:
    """``Config`` from checked values keyed ``name`` (top level) or ``section.name``: each
    section is the settings class ``Config`` makes by default for that field."""
    top: dict[str, Any] = {}
    by_section: dict[str, dict[str, Any]] = {}
    for key, setting in values.items():
        section, dot, name = key.partition(".")
        if dot:
            by_section.setdefault(section, {})[name] = setting
        else:
            top[key] = setting
    sections = {
        item.name: item.default_factory(**by_section.get(item.name, {}))
        for item in fields(Config)
        if is_dataclass(item.default_factory)
    }
    return Config(**top, **sections, source=source)
