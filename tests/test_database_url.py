"""A database URL with a mistake in it: one line naming where it came from, the key and the
reason, from every command, never a traceback; and its password never in any message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.database_url import looks_like_url, redact, url_has_password, url_problem
from tests.crash_harness import ROOT

SECRET = "s3cretPW"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://bot:s3cretPW@db:5432/serial", "postgresql://bot:***@db:5432/serial"),
        ("postgres://:s3cretPW@db/serial", "postgres://:***@db/serial"),
        ("postgresql://bot@db/serial?password=s3cretPW", "postgresql://bot@db/serial?password=***"),
        # Characters the password should have percent-encoded: everything up to the last "@".
        ("postgresql://bot:s3c/retPW@db/serial", "postgresql://bot:***@db/serial"),
        ("postgresql://bot:s3c@retPW@db/serial", "postgresql://bot:***@db/serial"),
        ("postgresql://bot:s3c?retPW@db/serial", "postgresql://bot:***@db/serial"),
        # A mistyped scheme is still shown without the password.
        ("postgresql//bot:s3cretPW@db/serial", "postgresql//bot:***@db/serial"),
        ("postgresql://bot@db/serial", "postgresql://bot@db/serial"),
        ("postgresql://bot:@db/serial", "postgresql://bot:@db/serial"),
    ],
)
def test_redact_hides_the_password_however_the_url_is_written(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert url_has_password(url) == (shown != url)


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("data/serialbot.sqlite3", False),
        ("/var/lib/serialbot/data/serialbot.sqlite3", False),
        ("C:/serialbot/serialbot.sqlite3", False),
        ("postgres-old.sqlite3", False),
        ("postgresql://bot@db/serial", True),
        ("postgressql://bot@db/serial", True),
        ("postgresql//bot@db/serial", True),
        ("sqlite:///data/serialbot.sqlite3", True),
    ],
)
def test_a_url_is_told_from_a_file_path_even_when_mistyped(text: str, url: bool) -> None:
    assert looks_like_url(text) is url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql://bot:s3cretPW@db:54x2/serial", "the port a number from 1 to 65535"),
        ("postgresql://bot:s3cretPW@db:99999/serial", "the port a number from 1 to 65535"),
        ("postgresql://bot:s3c/retPW@db:5432/serial", "write / : @ ? # and % as"),
        ("postgresql://bot:12/s3cretPW@db:5432/serial", "write / : @ ? # and % as"),
        ("postgresql://bot:s3cretPW@[::1:5432/serial", "is not a PostgreSQL URL that can be read"),
        ("postgressql://bot:s3cretPW@db/serial", "the scheme is postgresql://"),
        ("sqlite:///data/serialbot.sqlite3", "neither a SQLite file's path nor a PostgreSQL URL"),
    ],
)
def test_a_mistyped_url_is_refused_with_its_reason_and_without_its_password(
    url: str, reason: str
) -> None:
    problem = url_problem(url)
    assert problem is not None and reason in problem
    assert SECRET not in problem and "retPW" not in problem


def test_a_well_formed_url_has_no_problem() -> None:
    assert url_problem("postgresql://bot@db.example.net/serialbot") is None
    assert url_problem("postgresql://bot:p%2Fw@127.0.0.1:5432/serialbot?sslmode=require") is None


def test_the_file_and_the_environment_each_name_where_the_bad_url_came_from(
    tmp_path: Path,
) -> None:
    config = tmp_path / "serialbot.yaml"
    config.write_text("database: postgressql://bot@db/serial\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(config, environ={})
    (problem,) = raised.value.problems
    assert problem.startswith(f"{config}: database: 'postgressql://bot@db/serial' is neither")

    bad = f"postgresql://bot:{SECRET}@db:54x2/serial"
    with pytest.raises(ConfigError) as raised:
        load_config(None, environ={"SERIALBOT_DATABASE": bad})
    (problem,) = raised.value.problems
    assert problem.startswith("environment: SERIALBOT_DATABASE: 'postgresql://bot:***@db:54x2")
    assert SECRET not in str(raised.value)


def serialbot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://bot:{SECRET}@127.0.0.1:54x2/serial",
        f"postgresql://bot:{SECRET}@127.0.0.1:99999/serial",
        f"postgresql://bot:s3c/{SECRET}@127.0.0.1:5432/serial",
        f"postgresql://bot:{SECRET}@[::1:5432/serial",
        f"postgressql://bot:{SECRET}@127.0.0.1/serial",
    ],
)
def test_every_command_refuses_a_bad_url_in_one_line_without_a_traceback_or_the_password(
    url: str, tmp_path: Path
) -> None:
    env = {"SERIALBOT_DATABASE": url, "DISCORD_TOKEN": "x.y.z", "PGPASSWORD": ""}
    for command, code in (("run", 2), ("status", 2), ("purge-guild", 2), ("check", 1)):
        args = [command, "5"] if command == "purge-guild" else [command]
        done = serialbot(*args, env=env, cwd=tmp_path)
        said = done.stdout + done.stderr
        assert done.returncode == code, (command, said)
        assert "Traceback" not in said, (command, said)
        assert SECRET not in said, (command, said)
        assert "environment: SERIALBOT_DATABASE: " in said, (command, said)
        if command != "check":
            assert len(done.stderr.strip().splitlines()) == 1, (command, said)
    # Nothing was created where a mistyped URL would have been taken for a file's path.
    assert os.listdir(tmp_path) == []


def test_migrate_refuses_a_bad_target_url_without_its_password(tmp_path: Path) -> None:
    database = tmp_path / "serialbot.sqlite3"
    database.write_bytes(b"")
    done = serialbot(
        "migrate",
        "--from",
        str(database),
        "--to",
        f"postgresql://bot:s3c/{SECRET}@127.0.0.1:5432/serial",
        env={},
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("serialbot migrate: --to: 'postgresql://bot:***@127.0.0.1:5432")
    assert SECRET not in done.stderr + done.stdout and "Traceback" not in done.stderr


def test_the_configuration_read_from_the_environment_does_not_show_the_password() -> None:
    url = f"postgresql://bot:{SECRET}@db.example.net/serial"
    config = load_config(None, environ={"SERIALBOT_DATABASE": url})
    assert config.database_url == url
    assert SECRET not in repr(config) and SECRET not in str(config)
