"""``load_config``: the file, then the environment, checked as a whole."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot import defaults
from bot.config._environment import ENV_DATABASE, apply_environment, resolve
from bot.config._errors import ConfigError
from bot.config._keys import build, check_file
from bot.config._settings import Config
from bot.config._yaml import read_yaml
from bot.database_url import looks_like_url, url_has_password, url_problem
from bot.defaults import CONFIG_NAME

# Looked for in the working directory when no --config is given, in this order.
# Only the working directory's own file: a clone's config/serialbot.yaml is the reference copy that
# ships in the package, not a configuration of this install.
DEFAULT_PATHS = (Path(CONFIG_NAME),)


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
        data = read_yaml(path, problems)
        if data is not None:
            values = check_file(data, where, problems)

    if looks_like_url(str(values.get("database", ""))):
        url = values.pop("database")
        problem = url_problem(url)
        if problem is not None:
            problems.append(f"{where or 'the configuration'}: database: {problem}")
        elif url_has_password(url):
            problems.append(
                f"{where or 'the configuration'}: database: the PostgreSQL password does not "
                "belong in the configuration file; remove it from the URL and set PGPASSWORD "
                f"(or put the whole URL in {ENV_DATABASE}) instead"
            )
        else:
            values["database_url"] = url
    values["stories"] = resolve(Path(values.get("stories", defaults.stories_folder())), base)
    values["database"] = resolve(Path(values.get("database", defaults.database())), base)
    apply_environment(env, values, problems)
    _check_shards(values, where or "the configuration", problems)

    if problems:
        raise ConfigError(problems)
    return build(values, path)


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
