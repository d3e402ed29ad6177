"""The settings themselves: one frozen dataclass per section of the file, and ``Config`` holding
them all, with the defaults that apply when a key is left out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bot import defaults

CATCH_UP_POLICIES = ("one", "skip", "all")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The rule is said in each thread opening message, which must stay within 2,000 characters.
DISCUSSION_RULE_MAX = 1000
# Discord's own limit is far below this; it only keeps a typo from meaning a million shards.
SHARD_COUNT_MAX = 100_000

CatchUpPolicy = Literal["one", "skip", "all"]


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
class UploadSettings:
    """What each server may add to its own library from Discord (``/serial library``)."""

    max_file_mb: int = 8
    # Per server, all its uploads together; 0 stories turns uploads off.
    stories_per_server: int = 25
    mb_per_server: int = 50
    download_seconds: int = 30
    # How long a server's uploads and progress are kept after the bot was removed from it.
    retention_days: int = 30
    # Attachments are fetched only over https from Discord's own file hosts; these origins
    # (``https://files.example.net``, or ``http://127.0.0.1:8080`` on this machine) as well.
    extra_attachment_origins: tuple[str, ...] = ()


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
    # Set when ``database`` is a postgresql:// URL: then the SQLite path is not used. Left out
    # of the repr: from SERIALBOT_DATABASE it may hold a password.
    database_url: str | None = field(default=None, repr=False)
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
    uploads: UploadSettings = field(default_factory=UploadSettings)
    # The file the values came from; None when only defaults (and the environment) apply.
    source: Path | None = None

    @property
    def max_story_bytes(self) -> int:
        return self.max_story_mb * 1024 * 1024
