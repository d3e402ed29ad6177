"""The bot's configuration: one YAML file, read once at start-up and checked as a whole.

Every problem in the file is collected before anything fails, so ``serialbot check`` can list them
all. Each is said as ``<file>: <key>: <reason>``, the key as a dotted path such as
``schedule.timezone``.

Relative paths in the file are taken from the folder that holds the file (the reference file
that ``serialbot init`` writes says ``stories``, the folder beside it). Without a file, the
bundled stories are read and the database lives in the user's data folder (``bot.defaults``).
These environment variables win over the file: ``SERIALBOT_DATABASE`` (the database path, or a
``postgresql://`` URL), ``SERIALBOT_GUILD`` (the server to sync slash commands to),
``SERIALBOT_SHARD_COUNT`` and ``SERIALBOT_SHARD_IDS`` (which Discord shards this process runs).
The bot token is never part of the configuration: it comes only from ``DISCORD_TOKEN``; a
PostgreSQL password comes from the environment too (``PGPASSWORD``, or the URL in
``SERIALBOT_DATABASE``), never from the file.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml

from bot import defaults
from bot.defaults import CONFIG_NAME
from bot.limits import ARCHIVE_MINUTES
from bot.logs import LOG_FORMATS

log = logging.getLogger(__name__)

# Looked for in the working directory when no --config is given, in this order.
# Only the working directory's own file: a clone's config/serialbot.yaml is the reference copy that
# ships in the package, not a configuration of this install.
DEFAULT_PATHS = (Path(CONFIG_NAME),)
ENV_DATABASE = "SERIALBOT_DATABASE"
ENV_GUILD = "SERIALBOT_GUILD"
ENV_SHARD_COUNT = "SERIALBOT_SHARD_COUNT"
ENV_SHARD_IDS = "SERIALBOT_SHARD_IDS"
POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")
# Discord's own limit is far below this; it only keeps a typo from meaning a million shards.
SHARD_COUNT_MAX = 100_000

CATCH_UP_POLICIES = ("one", "skip", "all")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The rule is said in each thread opening message, which must stay within 2,000 characters.
DISCUSSION_RULE_MAX = 1000

CatchUpPolicy = Literal["one", "skip", "all"]

_TOKEN_KEYS = frozenset({"token", "discord_token", "bot_token"})


class ConfigError(Exception):
    """The configuration cannot be used. ``problems`` holds every problem found, each naming the
    file (or the environment variable), the key and the reason; the message lists them all."""

    def __init__(self, problems: str | list[str]) -> None:
        found = [problems] if isinstance(problems, str) else list(problems)
        self.problems: list[str] = [hide_tokens(problem) for problem in found]
        super().__init__("\n".join(self.problems))


# A Discord bot token: the bot's id in base64, a timestamp and a signature, joined by dots.
_TOKEN_SHAPE = re.compile(r"[\w-]{20,}\.[\w-]{5,}\.[\w-]{20,}")
TOKEN_HIDDEN = "<hidden: looks like a bot token>"


def hide_tokens(text: str) -> str:
    """``text`` with anything shaped like a bot token replaced: a token pasted under the wrong
    key must not be printed back (error messages end up in logs and terminals)."""
    return _TOKEN_SHAPE.sub(TOKEN_HIDDEN, text)


@dataclass(frozen=True, slots=True)
class ThreadSettings:
    enabled: bool = True
    auto_archive_minutes: int = 1440
    # Said in every part's thread, under the part's name.
    discussion_rule: str = (
        "Talk about this part and earlier ones only: no spoilers for what comes next."
    )


@dataclass(frozen=True, slots=True)
class NextSettings:
    """``/serial next``: how soon a channel may ask again, and how many readers must ask."""

    cooldown_minutes: int = 30
    quorum: int = 1
    quorum_window_minutes: int = 30


@dataclass(frozen=True, slots=True)
class CatchUpSettings:
    """What to post for a channel whose due times passed while the bot was down."""

    policy: CatchUpPolicy = "one"
    cap: int = 3
    spacing_minutes: int = 10


@dataclass(frozen=True, slots=True)
class CommandSettings:
    sync_guild: int | None = None


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    """The operator's HTTP endpoint on 127.0.0.1 (``/metrics``, ``/healthz``); None is off."""

    port: int | None = None


@dataclass(frozen=True, slots=True)
class ShardSettings:
    """Which Discord shards this process runs. ``count`` None takes Discord's recommendation
    (``GET /gateway/bot``); ``ids`` None runs every shard. A cluster gives every process the same
    count and each its own ids."""

    count: int | None = None
    ids: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class DiscordSettings:
    """Discord allows a bot 50 requests a second in all (more for large bots, on request): the
    bot paces every request a little under that."""

    requests_per_second: float = 48.0


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """Only with a database several processes share (PostgreSQL)."""

    # How long a process's claim on a channel lasts unless it renews it: how soon another
    # process takes over the channels of one that was killed.
    claim_seconds: int = 60
    # How often each process looks in the database for work the others changed or left.
    poll_seconds: int = 15


@dataclass(frozen=True, slots=True)
class Config:
    stories: Path = field(default_factory=defaults.stories_folder)
    database: Path = field(default_factory=defaults.database)
    # Set when ``database`` is a postgresql:// URL: then the SQLite path is not used.
    database_url: str | None = None
    words_per_part: int = 1200
    tolerance: float = 0.35
    max_story_mb: int = 64
    # Post an Archive of Our Own work's notes (marked as the author's) with its chapters; a
    # story's sidecar may say otherwise.
    author_notes: bool = True
    default_schedule: str = "daily 18:00"
    default_timezone: str = "UTC"
    threads: ThreadSettings = field(default_factory=ThreadSettings)
    next: NextSettings = field(default_factory=NextSettings)
    catch_up: CatchUpSettings = field(default_factory=CatchUpSettings)
    concurrency: int = 4
    commands: CommandSettings = field(default_factory=CommandSettings)
    shards: ShardSettings = field(default_factory=ShardSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    log_level: str = "INFO"
    log_format: str = "text"
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    # The file the values came from; None when only defaults (and the environment) apply.
    source: Path | None = None

    @property
    def max_story_bytes(self) -> int:
        return self.max_story_mb * 1024 * 1024


_DEFAULTS = Config()


def load_config(path: Path | None = None, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read and check the configuration. ``path`` None means the first of ``DEFAULT_PATHS`` in
    the working directory that exists, else the defaults. ``environ`` defaults to ``os.environ``.
    Raises ``ConfigError`` listing every problem."""
    env = os.environ if environ is None else environ
    if path is None:
        path = next((p for p in DEFAULT_PATHS if p.is_file()), None)
    problems: list[str] = []
    values: dict[str, Any] = {}
    if path is None:
        base = Path.cwd()
        where = ""
    else:
        path = Path(path)
        where = str(path)
        base = path.absolute().parent
        data = _read(path, problems)
        if data is not None:
            values = _check_file(data, where, problems)

    if is_postgresql_url(str(values.get("database", ""))):
        url = values.pop("database")
        if _url_password(url):
            problems.append(
                f"{where or 'the configuration'}: database: the PostgreSQL password does not "
                "belong in the configuration file; remove it from the URL and set PGPASSWORD "
                f"(or put the whole URL in {ENV_DATABASE}) instead"
            )
        values["database_url"] = url
    values["stories"] = _resolve(Path(values.get("stories", defaults.stories_folder())), base)
    values["database"] = _resolve(Path(values.get("database", defaults.database())), base)
    _apply_environment(env, values, problems)
    _check_shards(values, where or "the configuration", problems)

    if problems:
        raise ConfigError(problems)
    return _build(values, path)


# Reading ------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """Refuses a key given twice in one mapping: YAML would silently keep the last one."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, str) and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key '{key}' is given twice", key_node.start_mark
            )
        if isinstance(key, str):
            seen.add(key)
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read(path: Path, problems: list[str]) -> dict[str, Any] | None:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"{path}: file not found")
        return None
    except UnicodeDecodeError:
        problems.append(f"{path}: not UTF-8 text")
        return None
    except OSError as error:
        problems.append(f"{path}: cannot be read ({error.strerror or error})")
        return None
    try:
        # A SafeLoader subclass: plain data only, never arbitrary objects.
        data = yaml.load(raw, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problems.append(f"{path}: not valid YAML{at}: {error.problem or error.context}")
        return None
    except yaml.YAMLError as error:
        problems.append(f"{path}: not valid YAML: {error}")
        return None
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(
            f"{path}: expected 'key: value' lines at the top level, found {_kind(data)}"
        )
        return None
    return data


# Checking -----------------------------------------------------------------------------------


class _Invalid(Exception):
    """One value's problem; the caller adds the file and the key."""


_Check = Callable[[Any], Any]


def _integer(low: int, high: int, unit: str = "") -> _Check:
    def check(value: Any) -> int:
        # bool is an int in Python, but "true" is never a meaningful count.
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"expected a whole number, got {_kind(value)}")
        if not low <= value <= high:
            raise _Invalid(f"{value} is out of range (allowed: {low} to {high}{unit})")
        return value

    return check


def _fraction(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(f"expected a number such as 0.35, got {_kind(value)}")
    if not 0 < value < 1:
        raise _Invalid(f"{value} is out of range (allowed: more than 0 and less than 1)")
    return float(value)


def _number(low: float, high: float, unit: str = "") -> _Check:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Invalid(f"expected a number, got {_kind(value)}")
        if not low <= value <= high:
            raise _Invalid(f"{value} is out of range (allowed: {low:g} to {high:g}{unit})")
        return float(value)

    return check


def _one_of(allowed: tuple[Any, ...], *, fold: bool = False) -> _Check:
    listed = ", ".join(str(a) for a in allowed)

    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, type(allowed[0])):
            raise _Invalid(f"expected one of {listed}, got {_kind(value)}")
        key = value.upper() if fold and isinstance(value, str) else value
        if key not in allowed:
            raise _Invalid(f"{value!r} is not allowed (use one of {listed})")
        return key

    return check


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected true or false, got {_kind(value)}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        hint = " (put it in quotes)" if isinstance(value, int | float) else ""
        raise _Invalid(f"expected text, got {_kind(value)}{hint}")
    if not value.strip():
        raise _Invalid("is empty")
    return value.strip()


def _path(value: Any) -> str:
    return _text(value)


def _schedule(value: Any) -> str:
    text = _text(value)
    try:
        from bot.schedule import ScheduleError, parse_schedule
    except ModuleNotFoundError as error:
        if error.name != "bot.schedule":
            raise
        return text
    try:
        parse_schedule(text)
    except ScheduleError as error:
        raise _Invalid(str(error)) from None
    return text


def _timezone(value: Any) -> str:
    name = _text(value)
    known = _timezone_names()
    canonical = known.get(name) or known.get(name.lower())
    if canonical is not None:
        return canonical
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        close = difflib.get_close_matches(name, sorted(set(known.values())), n=1)
        example = close[0] if close else "Europe/Berlin"
        raise _Invalid(f"unknown timezone {name!r} (use an IANA name such as {example})") from None
    return name


def _shard_count(value: Any) -> int | None:
    if value is None:
        return None
    return _integer(1, SHARD_COUNT_MAX)(value)


def _shard_ids(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, list | int):
        raise _Invalid(f"expected a list of shard numbers such as [0, 1], got {_kind(value)}")
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _Invalid("is an empty list (give the shard numbers, or null for all of them)")
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or item < 0:
            raise _Invalid(f"{item!r} is not a shard number (0, 1, 2, ...)")
    if len(set(items)) != len(items):
        raise _Invalid("names a shard twice")
    return tuple(items)


def is_postgresql_url(text: str) -> bool:
    return text.strip().lower().startswith(POSTGRESQL_SCHEMES)


def _url_password(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        return bool(urlsplit(url).password)
    except ValueError:
        return False


def _rule(value: Any) -> str:
    text = _text(value)
    if len(text) > DISCUSSION_RULE_MAX:
        raise _Invalid(f"is {len(text)} characters long; keep it to {DISCUSSION_RULE_MAX}")
    return text


def _guild(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(
            f"expected a server id (a number such as 123456789012345678) or null, "
            f"got {_kind(value)}"
        )
    if value <= 0:
        raise _Invalid(f"{value} is not a server id (server ids are positive numbers)")
    return value


def _port(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(f"expected a port number (1 to 65535) or null, got {_kind(value)}")
    if not 1 <= value <= 65535:
        raise _Invalid(f"{value} is out of range (allowed: 1 to 65535, or null for off)")
    return value


@lru_cache(maxsize=1)
def _timezone_names() -> dict[str, str]:
    names = {
        n
        for n in available_timezones()
        if n not in ("localtime", "Factory") and not n.startswith(("posix/", "right/"))
    }
    return {n.lower(): n for n in sorted(names)} | {n: n for n in names}


# dotted key -> (attribute in _build's flat dict, check)
_FIELDS: dict[str, tuple[str, _Check]] = {
    "stories": ("stories", _path),
    "database": ("database", _path),
    "words_per_part": ("words_per_part", _integer(20, 50_000, " words")),
    "tolerance": ("tolerance", _fraction),
    "max_story_mb": ("max_story_mb", _integer(1, 1024, " MB")),
    "author_notes": ("author_notes", _flag),
    "schedule.default": ("default_schedule", _schedule),
    "schedule.timezone": ("default_timezone", _timezone),
    "threads.enabled": ("threads.enabled", _flag),
    "threads.auto_archive_minutes": ("threads.auto_archive_minutes", _one_of(ARCHIVE_MINUTES)),
    "threads.discussion_rule": ("threads.discussion_rule", _rule),
    "next.cooldown_minutes": ("next.cooldown_minutes", _integer(0, 10_080, " minutes")),
    "next.quorum": ("next.quorum", _integer(1, 100)),
    "next.quorum_window_minutes": ("next.quorum_window_minutes", _integer(1, 1440, " minutes")),
    "catch_up.policy": ("catch_up.policy", _one_of(CATCH_UP_POLICIES)),
    "catch_up.cap": ("catch_up.cap", _integer(1, 100)),
    "catch_up.spacing_minutes": ("catch_up.spacing_minutes", _integer(0, 1440, " minutes")),
    "concurrency": ("concurrency", _integer(1, 64)),
    "commands.sync_guild": ("commands.sync_guild", _guild),
    "shards.count": ("shards.count", _shard_count),
    "shards.ids": ("shards.ids", _shard_ids),
    "cluster.claim_seconds": ("cluster.claim_seconds", _integer(2, 3600, " seconds")),
    "cluster.poll_seconds": ("cluster.poll_seconds", _integer(1, 600, " seconds")),
    "discord.requests_per_second": ("discord.requests_per_second", _number(1, 10_000, "/s")),
    "log_level": ("log_level", _one_of(LOG_LEVELS, fold=True)),
    "log_format": ("log_format", _one_of(LOG_FORMATS)),
    "metrics.port": ("metrics.port", _port),
}
_SECTIONS = frozenset(key.partition(".")[0] for key in _FIELDS if "." in key)
_NULLABLE = frozenset({"commands.sync_guild", "shards.count", "shards.ids", "metrics.port"})


def _check_file(data: dict[Any, Any], where: str, problems: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}

    def walk(mapping: dict[Any, Any], prefix: str) -> None:
        for raw_key, value in mapping.items():
            key = f"{prefix}{raw_key}"
            if str(raw_key).lower() in _TOKEN_KEYS:
                problems.append(
                    f"{where}: {key}: the bot token does not belong in the configuration file; "
                    "remove it and set the DISCORD_TOKEN environment variable instead"
                )
            elif key in _SECTIONS:
                if value is None:
                    continue
                if not isinstance(value, dict):
                    problems.append(
                        f"{where}: {key}: expected a section of 'key: value' lines, "
                        f"got {_kind(value)}"
                    )
                    continue
                walk(value, f"{key}.")
            elif isinstance(value, str) and _TOKEN_SHAPE.search(value):
                problems.append(
                    f"{where}: {key}: holds what looks like a bot token; a token does not "
                    "belong in the configuration file: remove it and set the DISCORD_TOKEN "
                    "environment variable instead"
                )
            elif key in _FIELDS:
                target, check = _FIELDS[key]
                if value is None and key not in _NULLABLE:
                    problems.append(
                        f"{where}: {key}: has no value (give one, or remove the line to use "
                        f"the default, {_default(target)})"
                    )
                    continue
                try:
                    values[target] = check(value)
                except _Invalid as error:
                    problems.append(f"{where}: {key}: {error}")
            else:
                problems.append(f"{where}: {key}: unknown key{_suggest(key)}")

    walk(data, "")
    return values


def _suggest(key: str) -> str:
    candidates = sorted(_FIELDS) + sorted(_SECTIONS)
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    if not close:
        # A leaf put at the wrong level ("timezone" for "schedule.timezone").
        leaf = key.rpartition(".")[2]
        close = [k for k in sorted(_FIELDS) if k.rpartition(".")[2] == leaf][:1]
    return f" (did you mean {close[0]}?)" if close else ""


def _apply_environment(env: Mapping[str, str], values: dict[str, Any], problems: list[str]) -> None:
    database = env.get(ENV_DATABASE, "").strip()
    if is_postgresql_url(database):
        values["database_url"] = database
    elif database:
        values["database"] = _resolve(Path(database), Path.cwd())
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


def _check_shards(values: dict[str, Any], where: str, problems: list[str]) -> None:
    count = values.get("shards.count")
    ids = values.get("shards.ids")
    if ids is None:
        return
    if count is None:
        problems.append(
            f"{where}: shards.ids: needs shards.count too (every process of a cluster must "
            "split the servers the same way), or set SERIALBOT_SHARD_COUNT"
        )
        return
    outside = [i for i in ids if i >= count]
    if outside:
        problems.append(
            f"{where}: shards.ids: {', '.join(map(str, outside))} not below shards.count "
            f"({count}): shards are numbered 0 to {count - 1}"
        )


def _resolve(path: Path, base: Path) -> Path:
    path = path.expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def _build(values: dict[str, Any], source: Path | None) -> Config:
    def pick(cls: type[Any], prefix: str) -> Any:
        given = {
            key.removeprefix(prefix): value
            for key, value in values.items()
            if key.startswith(prefix)
        }
        return cls(**given)

    top = {key: value for key, value in values.items() if "." not in key}
    return Config(
        **top,
        threads=pick(ThreadSettings, "threads."),
        next=pick(NextSettings, "next."),
        catch_up=pick(CatchUpSettings, "catch_up."),
        commands=pick(CommandSettings, "commands."),
        metrics=pick(MetricsSettings, "metrics."),
        shards=pick(ShardSettings, "shards."),
        cluster=pick(ClusterSettings, "cluster."),
        discord=pick(DiscordSettings, "discord."),
        source=source,
    )


def _default(target: str) -> str:
    section, _, name = target.rpartition(".")
    holder: Any = getattr(_DEFAULTS, section) if section else _DEFAULTS
    value = getattr(holder, name)
    return (
        "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    )


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"text ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a section"
    return type(value).__name__
