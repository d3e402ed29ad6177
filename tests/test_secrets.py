"""Secrets stay out of what the bot writes: the bot token (DISCORD_TOKEN) and a database password
given in SERIALBOT_DATABASE never appear in a log line (at DEBUG, in both log formats), an error
line, `check`, `status` or the metrics, while the bot runs, posts and stops, or fails to start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.crash_harness import (
    ROOT,
    BotProcess,
    installment_posts,
    subscribe_as_admin,
    until,
    write_config,
)
from tests.discord_double import DiscordDouble
from tests.frontend_harness import lighthouse_paragraphs, stories_folder, write_story
from tests.test_operations import SPEED, _healthy, free_port, get

PASSWORD = "pw-never-in-a-log-7431"


def with_password(url: str) -> str:
    """The test server trusts loopback: a password in the URL is sent, never needed."""
    parts = urlsplit(url)
    netloc = parts.netloc.replace("@", f":{PASSWORD}@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_a_running_bot_never_writes_its_token_or_database_password(
    discord_double: DiscordDouble, tmp_path: Path, postgres_url: str, log_format: str
) -> None:
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="Lighthouse")
    port = free_port()
    # The database only from the environment, as the README says to give a password.
    config = write_config(
        tmp_path, discord_double, log_level="DEBUG", log_format=log_format, metrics={"port": port}
    )
    url = with_password(postgres_url)
    bot = BotProcess(
        discord_double, config, tmp_path / "bot.log", SPEED, env={"SERIALBOT_DATABASE": url}
    )
    await bot.start()
    try:
        await until(lambda: _healthy(port), timeout=30)
        channel = discord_double.channels["general"]
        await subscribe_as_admin(discord_double, channel, "lighthouse", "every 1h")
        await until(lambda: len(installment_posts(discord_double, channel)) >= 2, timeout=30)
        _, scraped = await get(f"http://127.0.0.1:{port}/metrics")
        assert 'serialbot_serials{state="active"} 1.0' in scraped
    finally:
        if bot.running:
            assert await bot.terminate() == 0
    output = bot.output()
    assert "Posted part 1 of " in output  # it did log, at length
    assert discord_double.token not in output
    assert PASSWORD not in output and PASSWORD not in scraped


def serialbot(*args: str, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout + done.stderr


def test_a_database_that_cannot_be_reached_is_named_without_its_password(
    tmp_path: Path, postgres_server: str
) -> None:
    with_pw = with_password(postgres_server)
    parts = urlsplit(with_pw)
    closed = urlunsplit(parts._replace(netloc=f"serialbot:{PASSWORD}@127.0.0.1:{free_port()}"))
    wrong_database = urlunsplit(parts._replace(path="/no_such_database"))
    stories = stories_folder(tmp_path)
    write_story(stories, "lighthouse", lighthouse_paragraphs(), title="Lighthouse")
    (tmp_path / "serialbot.yaml").write_text("stories: stories\n", encoding="utf-8")
    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.abcdefghijklmnopqrstuvwxyz0123456789AB"
    for url, reason, state in (
        (closed, "cannot reach PostgreSQL", "not reachable"),
        (wrong_database, "refused", "not usable"),
    ):
        env = {"SERIALBOT_DATABASE": url, "DISCORD_TOKEN": token}
        for command in ("run", "check", "status", "purge-guild"):
            args = [command, "5"] if command == "purge-guild" else [command]
            said = serialbot(*args, env=env, cwd=tmp_path)
            assert reason.lower() in said.lower(), (command, said)
            assert "serialbot:***@127.0.0.1" in said, (command, said)
            assert PASSWORD not in said and token not in said, (command, said)
            assert "Traceback" not in said, (command, said)
        said = serialbot("check", env=env, cwd=tmp_path)
        assert f"127.0.0.1:{urlsplit(url).port}{urlsplit(url).path} · {state}" in said, said
        # `run` names the environment, where the URL came from, not the file.
        said = serialbot("run", env=env, cwd=tmp_path)
        assert "serialbot.yaml: database" not in said


def test_a_token_pasted_into_the_file_is_refused_and_never_printed(tmp_path: Path) -> None:
    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.abcdefghijklmnopqrstuvwxyz0123456789AB"
    (tmp_path / "serialbot.yaml").write_text(
        f"token: {token}\ncommands:\n  sync_guild: {token}\n", encoding="utf-8"
    )
    for command in ("run", "check", "status"):
        said = serialbot(command, env={"DISCORD_TOKEN": token}, cwd=tmp_path)
        assert "serialbot.yaml: token: the bot token does not belong" in said, said
        assert "serialbot.yaml: commands.sync_guild: holds what looks like a bot token" in said
        assert token not in said and "Traceback" not in said
