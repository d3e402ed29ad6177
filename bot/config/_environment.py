"""The settings the environment gives, which win over the file: the database, the server to
sync slash commands to, and the shards this process runs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.config._settings import SHARD_COUNT_MAX
from bot.database_url import POSTGRESQL_SCHEMES, is_postgresql_url, looks_like_url, url_problem

ENV_DATABASE = "SERIALBOT_DATABASE"
ENV_GUILD = "SERIALBOT_GUILD"
ENV_SHARD_COUNT = "SERIALBOT_SHARD_COUNT"
ENV_SHARD_IDS = "SERIALBOT_SHARD_IDS"
__all__ = [
    "ENV_DATABASE",
    "ENV_GUILD",
    "ENV_SHARD_COUNT",
    "ENV_SHARD_IDS",
    "POSTGRESQL_SCHEMES",
    "apply_environment",
    "is_postgresql_url",
    "parse_shard_ids",
    "resolve",
]


def resolve(path: Path, base: Path) -> Path:
    """``path`` made absolute, a relative one taken from ``base``."""
    path = path.expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def apply_environment(env: Mapping[str, str], values: dict[str, Any], problems: list[str]) -> None:
    """Put the environment's settings into ``values`` (keyed as ``_keys.build`` takes them)."""
    database = env.get(ENV_DATABASE, "").strip()
    if looks_like_url(database):
        problem = url_problem(database)
        if problem is None:
            values["database_url"] = database
        else:
            problems.append(f"environment: {ENV_DATABASE}: {problem}")
    elif database:
        values["database"] = resolve(Path(database), Path.cwd())
        values.pop("database_url", None)
    count = env.get(ENV_SHARD_COUNT, "").strip()
    if count:
        if count.isascii() and count.isdigit() and 1 <= int(count) <= SHARD_COUNT_MAX:
            values["shards.count"] = int(count)
        else:
            problems.append(
                f"environment: {ENV_SHARD_COUNT}: {count!r} is not a shard count (a whole number "
                f"from 1 to {SHARD_COUNT_MAX})"
            )
    ids = env.get(ENV_SHARD_IDS, "").strip()
    if ids:
        try:
            values["shards.ids"] = parse_shard_ids(ids)
        except ValueError as error:
            problems.append(f"environment: {ENV_SHARD_IDS}: {error}")
    guild = env.get(ENV_GUILD, "").strip()
    if guild:
        if guild.isascii() and guild.isdigit() and int(guild) > 0:
            values["commands.sync_guild"] = int(guild)
        else:
            problems.append(
                f"environment: {ENV_GUILD}: {guild!r} is not a server id (a number such as "
                "123456789012345678: in Discord, Developer Mode, then right-click the server "
                "and Copy Server ID)"
            )


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """``"0,1,5"`` or ranges ``"0-3,8"`` (both ends included)."""
    ids: list[int] = []
    for piece in text.split(","):
        low, dash, high = piece.strip().partition("-")
        numbers = (low.strip(), high.strip()) if dash else (low.strip(),)
        if not all(n.isascii() and n.isdigit() for n in numbers):
            raise ValueError(
                f"{text!r} is not a list of shard numbers (write them like 0,1,2 or 0-2)"
            )
        first, last = int(numbers[0]), int(numbers[-1])
        if last < first:
            raise ValueError(
                f"{piece.strip()!r} is an empty range (write the smaller number first)"
            )
        ids.extend(range(first, last + 1))
    if len(set(ids)) != len(ids):
        raise ValueError(f"{text!r} names a shard twice")
    return tuple(ids)
