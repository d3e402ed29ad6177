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

The package's modules, by job: ``_settings`` (the settings and their defaults), ``_keys`` (every
key of the file and its check), ``_values`` (the checks), ``_yaml`` (reading the file),
``_environment`` (what the environment overrides), ``_load`` (putting it together) and
``_errors`` (``ConfigError``).
"""

from bot.config._environment import (
    ENV_DATABASE,
    ENV_GUILD,
    ENV_SHARD_COUNT,
    ENV_SHARD_IDS,
    POSTGRESQL_SCHEMES,
    is_postgresql_url,
    parse_shard_ids,
)
from bot.config._errors import TOKEN_HIDDEN, ConfigError, hide_tokens
from bot.config._load import DEFAULT_PATHS, load_config
from bot.config._settings import (
    CATCH_UP_POLICIES,
    DISCUSSION_RULE_MAX,
    LOG_LEVELS,
    SHARD_COUNT_MAX,
    CatchUpPolicy,
    CatchUpSettings,
    ClusterSettings,
    CommandSettings,
    Config,
    DiscordSettings,
    MetricsSettings,
    NextSettings,
    ShardSettings,
    ThreadSettings,
    UploadSettings,
)

__all__ = [
    "CATCH_UP_POLICIES",
    "DEFAULT_PATHS",
    "DISCUSSION_RULE_MAX",
    "ENV_DATABASE",
    "ENV_GUILD",
    "ENV_SHARD_COUNT",
    "ENV_SHARD_IDS",
    "LOG_LEVELS",
    "POSTGRESQL_SCHEMES",
    "SHARD_COUNT_MAX",
    "TOKEN_HIDDEN",
    "CatchUpPolicy",
    "CatchUpSettings",
    "ClusterSettings",
    "CommandSettings",
    "Config",
    "ConfigError",
    "DiscordSettings",
    "MetricsSettings",
    "NextSettings",
    "ShardSettings",
    "ThreadSettings",
    "UploadSettings",
    "hide_tokens",
    "is_postgresql_url",
    "load_config",
    "parse_shard_ids",
]
