from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest
import yaml

from bot import defaults
from bot.config import Config, ConfigError, load_config

SHIPPED = Path(defaults.__file__).parent / "serialbot.yaml"
NO_ENV: dict[str, str] = {}

EVERY_KEY = {
    "stories",
    "database",
    "words_per_part",
    "tolerance",
    "max_story_mb",
    "author_notes",
    "schedule.default",
    "schedule.timezone",
    "threads.enabled",
    "threads.auto_archive_minutes",
    "threads.discussion_rule",
    "next.cooldown_minutes",
    "next.quorum",
    "next.quorum_window_minutes",
    "catch_up.policy",
    "catch_up.cap",
    "catch_up.spacing_minutes",
    "concurrency",
    "commands.sync_guild",
    "shards.count",
    "shards.ids",
    "cluster.claim_seconds",
    "cluster.poll_seconds",
    "discord.requests_per_second",
    "log_level",
    "log_format",
    "metrics.port",
    "uploads.max_file_mb",
    "uploads.stories_per_server",
    "uploads.mb_per_server",
    "uploads.download_seconds",
    "uploads.retention_days",
    "uploads.extra_attachment_origins",
}


def write(folder: Path, text: str, name: str = "serialbot.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=NO_ENV if env is None else env)
    return caught.value.problems


def flatten(data: dict[str, object], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in data.items():
        if isinstance(value, dict):
            keys |= flatten(value, f"{prefix}{key}.")
        else:
            keys.add(f"{prefix}{key}")
    return keys


# Defaults and the shipped file ---------------------------------------------------------------


def test_without_a_file_the_bundled_stories_and_the_user_data_folder_are_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    config = load_config(None, environ=NO_ENV)
    assert config.source is None
    assert config.stories == defaults.stories_folder()
    assert (config.stories / "you-left.txt").is_file()
    assert config.database == tmp_path / "xdg" / "serialbot" / "serialbot.sqlite3"
    assert (config.words_per_part, config.tolerance, config.max_story_mb) == (1200, 0.35, 64)
    assert (config.default_schedule, config.default_timezone) == ("daily 18:00", "UTC")
    assert (config.threads.enabled, config.threads.auto_archive_minutes) == (True, 1440)
    assert (config.next.cooldown_minutes, config.next.quorum) == (30, 1)
    assert config.next.quorum_window_minutes == 30
    assert (config.catch_up.policy, config.catch_up.cap) == ("one", 3)
    assert (config.concurrency, config.commands.sync_guild, config.log_level) == (4, None, "INFO")


def test_without_a_path_the_file_here_is_used_and_the_reference_copy_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config").mkdir()
    write(tmp_path / "config", "concurrency: 9\n")
    monkeypatch.chdir(tmp_path)
    config = load_config(None, environ=NO_ENV)
    assert (config.concurrency, config.source) == (4, None)
    write(tmp_path, "concurrency: 7\n")
    config = load_config(None, environ=NO_ENV)
    assert config.concurrency == 7
    assert config.source == Path("serialbot.yaml")


def test_the_shipped_file_has_every_key_at_its_default() -> None:
    assert flatten(yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))) == EVERY_KEY
    config = load_config(SHIPPED, environ=NO_ENV)
    # The paths point beside the file, where `serialbot init` puts the stories folder.
    assert config.stories == SHIPPED.parent / "stories"
    assert config.database == SHIPPED.parent / "data" / "serialbot.sqlite3"
    defaults = Config()
    for field in dataclasses.fields(Config):
        if field.name not in ("stories", "database", "source"):
            assert getattr(config, field.name) == getattr(defaults, field.name), field.name


def test_every_key_in_the_shipped_file_is_explained_by_a_comment() -> None:
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("#") or not stripped or stripped.endswith(":"):
            continue
        assert lines[number - 1].strip().startswith("#"), f"no comment above {stripped!r}"


def test_an_empty_file_means_the_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "# nothing set\n"), environ=NO_ENV)
    assert config.words_per_part == Config().words_per_part


def test_the_configuration_cannot_be_changed_once_loaded(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""), environ=NO_ENV)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.concurrency = 2  # type: ignore[misc]


# Paths ----------------------------------------------------------------------------------------


def test_relative_paths_are_taken_from_the_config_files_folder(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    path = write(folder, "stories: ../library\ndatabase: state/bot.sqlite3\n")
    config = load_config(path, environ=NO_ENV)
    assert config.stories == tmp_path / "library"
    assert config.database == folder / "state" / "bot.sqlite3"


def test_absolute_and_home_paths_are_kept(tmp_path: Path) -> None:
    path = write(tmp_path, f"stories: {tmp_path / 'abs'}\ndatabase: ~/bot.sqlite3\n")
    config = load_config(path, environ=NO_ENV)
    assert config.stories == tmp_path / "abs"
    assert config.database == Path.home() / "bot.sqlite3"


# Problems -------------------------------------------------------------------------------------


def test_a_bad_timezone_names_the_file_the_key_and_a_valid_example(tmp_path: Path) -> None:
    path = write(tmp_path, "schedule:\n  timezone: Europe/Berln\n")
    assert problems(path) == [
        f"{path}: schedule.timezone: unknown timezone 'Europe/Berln' "
        "(use an IANA name such as Europe/Berlin)"
    ]


def test_a_timezone_in_other_letter_case_is_accepted_as_its_proper_name(tmp_path: Path) -> None:
    path = write(tmp_path, "schedule:\n  timezone: europe/berlin\n")
    assert load_config(path, environ=NO_ENV).default_timezone == "Europe/Berlin"


def test_every_problem_is_listed_not_only_the_first(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "words_per_part: lots\nconcurrency: 0\nthreads:\n  auto_archive_minutes: 30\n"
        "log_level: LOUD\ncatch_up:\n  policy: some\n",
    )
    found = problems(path)
    assert [p.split(": ")[1] for p in found] == [
        "words_per_part",
        "concurrency",
        "threads.auto_archive_minutes",
        "log_level",
        "catch_up.policy",
    ]
    assert all(p.startswith(f"{path}: ") for p in found)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=NO_ENV)
    assert str(caught.value) == "\n".join(found)


def test_an_unknown_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "next:\n  cooldown: 10\nword_per_part: 800\n")
    assert problems(path) == [
        f"{path}: next.cooldown: unknown key (did you mean next.cooldown_minutes?)",
        f"{path}: word_per_part: unknown key (did you mean words_per_part?)",
    ]


def test_a_key_at_the_wrong_level_points_to_the_right_one(tmp_path: Path) -> None:
    path = write(tmp_path, "timezone: UTC\n")
    assert problems(path) == [f"{path}: timezone: unknown key (did you mean schedule.timezone?)"]


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("words_per_part: true", "words_per_part", "expected a whole number"),
        ("concurrency: 2.5", "concurrency", "expected a whole number"),
        ("next:\n  quorum: 0", "next.quorum", "out of range (allowed: 1 to 100)"),
        ("tolerance: 1.5", "tolerance", "out of range"),
        ("tolerance: yes", "tolerance", "expected a number"),
        ("max_story_mb: 0", "max_story_mb", "out of range"),
        ("threads:\n  enabled: 1", "threads.enabled", "expected true or false"),
        ("threads:\n  auto_archive_minutes: 30", "threads.auto_archive_minutes", "60, 1440"),
        ("catch_up:\n  policy: everything", "catch_up.policy", "one, skip, all"),
        ("catch_up:\n  cap: -1", "catch_up.cap", "out of range"),
        ("catch_up:\n  spacing_minutes: 2000", "catch_up.spacing_minutes", "out of range"),
        ("log_level: LOUD", "log_level", "DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("commands:\n  sync_guild: '123'", "commands.sync_guild", "expected a server id"),
        ("commands:\n  sync_guild: true", "commands.sync_guild", "expected a server id"),
        ("schedule:\n  default: 18:00", "schedule.default", "put it in quotes"),
        ("stories: ''", "stories", "is empty"),
        ("concurrency:", "concurrency", "has no value"),
        ("discord:\n  requests_per_second: 0", "discord.requests_per_second", "out of range"),
        ("discord:\n  requests_per_second: fast", "discord.requests_per_second", "a number"),
        ("threads: on", "threads", "expected a section"),
        ("threads:\n  discussion_rule: ''", "threads.discussion_rule", "is empty"),
        (f"threads:\n  discussion_rule: {'x' * 1001}", "threads.discussion_rule", "keep it to"),
    ],
)
def test_wrong_values_are_named_with_the_reason(
    tmp_path: Path, text: str, key: str, reason: str
) -> None:
    path = write(tmp_path, text + "\n")
    [problem] = problems(path)
    assert problem.startswith(f"{path}: {key}: ")
    assert reason in problem


def test_the_request_rate_may_be_a_fraction(tmp_path: Path) -> None:
    path = write(tmp_path, "discord:\n  requests_per_second: 45.5\n")
    assert load_config(path, environ=NO_ENV).discord.requests_per_second == 45.5


def test_log_level_is_case_insensitive(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "log_level: debug\n"), environ=NO_ENV).log_level == "DEBUG"


def test_a_token_in_the_file_is_refused_pointing_to_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "token: abc.def.ghi\n")
    [problem] = problems(path)
    assert problem.startswith(f"{path}: token: ")
    assert "DISCORD_TOKEN" in problem
    assert "abc.def.ghi" not in problem


def test_a_missing_file_given_explicitly_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    assert problems(path) == [f"{path}: file not found"]


def test_broken_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "concurrency: 4\nthreads: [unclosed\n")
    [problem] = problems(path)
    assert problem.startswith(f"{path}: not valid YAML at line ")


def test_a_key_given_twice_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "concurrency: 4\nconcurrency: 8\n")
    [problem] = problems(path)
    assert "'concurrency' is given twice" in problem
    assert "line 2" in problem


def test_a_list_at_the_top_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "- concurrency\n")
    assert problems(path) == [f"{path}: expected 'key: value' lines at the top level, found a list"]


@pytest.mark.skipif(
    importlib.util.find_spec("bot.schedule") is None, reason="bot.schedule is not there yet"
)
def test_the_default_schedule_is_checked_by_the_schedule_grammar(tmp_path: Path) -> None:
    from bot.schedule import parse_schedule

    path = write(tmp_path, "schedule:\n  default: daily at noon-ish\n")
    [problem] = problems(path)
    assert problem.startswith(f"{path}: schedule.default: ")
    good = write(tmp_path, "schedule:\n  default: weekdays 07:30\n", name="good.yaml")
    config = load_config(good, environ=NO_ENV)
    assert parse_schedule(config.default_schedule).text == "weekdays 07:30"


# Environment ----------------------------------------------------------------------------------


def test_the_environment_overrides_database_and_guild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "database: file.sqlite3\ncommands:\n  sync_guild: 1\n")
    env = {"SERIALBOT_DATABASE": "elsewhere/db.sqlite3", "SERIALBOT_GUILD": "123456789012345678"}
    config = load_config(path, environ=env)
    assert config.database == tmp_path / "elsewhere" / "db.sqlite3"
    assert config.commands.sync_guild == 123456789012345678


def test_os_environ_is_read_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERIALBOT_GUILD", "42")
    monkeypatch.delenv("SERIALBOT_DATABASE", raising=False)
    assert load_config(write(tmp_path, "")).commands.sync_guild == 42


@pytest.mark.parametrize("value", ["abc", "-5", "12.0", "0"])
def test_a_guild_variable_that_is_no_server_id_is_named(tmp_path: Path, value: str) -> None:
    [problem] = problems(write(tmp_path, ""), env={"SERIALBOT_GUILD": value})
    assert problem.startswith(f"environment: SERIALBOT_GUILD: {value!r} is not a server id")


def test_environment_and_file_problems_are_listed_together(tmp_path: Path) -> None:
    path = write(tmp_path, "concurrency: 0\n")
    found = problems(path, env={"SERIALBOT_GUILD": "x"})
    assert len(found) == 2


# Shards and PostgreSQL -----------------------------------------------------------------------


def test_shards_come_from_the_file_and_the_environment_wins(tmp_path: Path) -> None:
    path = write(tmp_path, "shards:\n  count: 6\n  ids: [0, 1]\n")
    config = load_config(path, environ=NO_ENV)
    assert (config.shards.count, config.shards.ids) == (6, (0, 1))
    env = {"SERIALBOT_SHARD_COUNT": "8", "SERIALBOT_SHARD_IDS": "2-4,7"}
    config = load_config(path, environ=env)
    assert (config.shards.count, config.shards.ids) == (8, (2, 3, 4, 7))
    assert load_config(write(tmp_path, ""), environ=NO_ENV).shards.count is None


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("shards:\n  ids: [0]\n", {}, "shards.ids: needs shards.count too"),
        ("shards:\n  count: 2\n  ids: [0, 2]\n", {}, "shards.ids: 2 not below shards.count"),
        ("shards:\n  count: 2\n  ids: [1, 1]\n", {}, "shards.ids: names a shard twice"),
        ("shards:\n  count: 0\n", {}, "shards.count: 0 is out of range"),
        ("shards:\n  ids: []\n", {}, "shards.ids: is an empty list"),
        ("", {"SERIALBOT_SHARD_IDS": "one"}, "SERIALBOT_SHARD_IDS: 'one' is not a list"),
        ("", {"SERIALBOT_SHARD_COUNT": "-1"}, "SERIALBOT_SHARD_COUNT: '-1' is not a shard"),
        ("shards:\n  count: 4\n", {"SERIALBOT_SHARD_IDS": "3-1"}, "is an empty range"),
    ],
)
def test_bad_shard_settings_are_named(
    tmp_path: Path, text: str, env: dict[str, str], expected: str
) -> None:
    found = problems(write(tmp_path, text), env=env)
    assert any(expected in problem for problem in found), found


def test_a_postgresql_url_selects_postgresql_and_the_environment_can_switch_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "database: postgresql://serialbot@db.example/serialbot\n")
    config = load_config(path, environ=NO_ENV)
    assert config.database_url == "postgresql://serialbot@db.example/serialbot"
    env = {"SERIALBOT_DATABASE": "postgres://u:secret@127.0.0.1:5433/x"}
    assert load_config(write(tmp_path, ""), environ=env).database_url == env["SERIALBOT_DATABASE"]
    back = load_config(path, environ={"SERIALBOT_DATABASE": "local.sqlite3"})
    assert back.database_url is None and back.database == tmp_path / "local.sqlite3"


def test_a_postgresql_password_in_the_file_is_refused(tmp_path: Path) -> None:
    [problem] = problems(write(tmp_path, "database: postgresql://u:hunter2@db/serialbot\n"))
    assert "database: the PostgreSQL password does not belong in the configuration" in problem
    assert "hunter2" not in problem
