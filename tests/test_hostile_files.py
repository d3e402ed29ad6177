"""The files around the bot, as a careless deployment leaves them: a link in the stories folder
that leads out of it, the usual umask, a database the bot's user cannot write, and a bot token
pasted into the configuration under another key."""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import check, preview
from bot.config import ConfigError, load_config
from bot.frontend.runner import sync_state_path
from tests.crash_harness import ROOT, write_config
from tests.discord_double import DiscordDouble
from tests.frontend_harness import (
    lighthouse_paragraphs,
    running_bot,
    stories_folder,
    write_story,
)

SECRET = "OTk5OTk5OTk5OTk5OTk5OTk5.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"


@pytest.fixture
def outside_link(tmp_path: Path) -> Path:
    """The stories folder holds one story and a link to a file elsewhere that reads as one."""
    folder = stories_folder(tmp_path)
    write_story(folder, "lighthouse", lighthouse_paragraphs(), title="The Lighthouse")
    private = tmp_path / "private"
    private.mkdir()
    secret = write_story(private, "secrets", ["The admin password is hunter2."], title="Secrets")
    (folder / "secrets.txt").symlink_to(secret)
    # a link that stays inside the folder is an ordinary alias
    (folder / "beacon.txt").symlink_to(folder / "lighthouse.txt")
    return folder


async def test_a_link_out_of_the_stories_folder_is_never_posted(
    discord_double: DiscordDouble, tmp_path: Path, outside_link: Path
) -> None:
    async with running_bot(discord_double, tmp_path) as harness:
        assert harness.library.get("secrets") is None
        [problem] = harness.library.problems
        assert problem.path.name == "secrets.txt" and "outside the stories folder" in str(problem)
        choices = await discord_double.autocomplete("serial subscribe", {"story": ""})
        assert sorted(c["value"] for c in choices) == ["beacon", "lighthouse"]
        record = await harness.invoke(
            "serial subscribe", {"story": "secrets", "schedule": "daily 18:00"}, admin=True
        )
        assert "There is no story" in (await record.reply()).content
        assert await harness.bot.scheduler.subscription(harness.general) is None
    assert all("hunter2" not in m.content for m in discord_double.world.messages.values())


def test_check_names_the_link_that_leads_out_of_the_folder(
    tmp_path: Path, outside_link: Path
) -> None:
    config = tmp_path / "serialbot.yaml"
    config.write_text(f"stories: {outside_link}\n", encoding="utf-8")
    out = io.StringIO()
    status = check.main(argparse.Namespace(config=config), out=out)
    assert status != 0
    lines = [line for line in out.getvalue().splitlines() if "secrets.txt" in line]
    assert any("outside the stories folder" in line for line in lines)
    assert "hunter2" not in out.getvalue()


def test_preview_by_slug_refuses_a_link_out_of_the_folder(
    tmp_path: Path, outside_link: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "serialbot.yaml"
    config.write_text(f"stories: {outside_link}\n", encoding="utf-8")
    status = preview.main(argparse.Namespace(config=config, story="secrets", words=None))
    out = capsys.readouterr()
    assert status != 0
    assert "outside the stories folder" in out.err + out.out
    assert "hunter2" not in out.err + out.out


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


async def test_the_data_folder_and_every_database_file_are_private_to_the_bot(
    discord_double: DiscordDouble, tmp_path: Path, usual_umask: None
) -> None:
    stories_folder(tmp_path)
    data = tmp_path / "data"
    database = data / "serialbot.sqlite3"
    async with running_bot(discord_double, tmp_path, database=database) as harness:
        harness.bot.sync_state = sync_state_path(database)
        await harness.bot._sync_commands()
        files = [database, *data.glob("serialbot.sqlite3-*"), sync_state_path(database)]
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in files if p is not None}
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert {"serialbot.sqlite3-wal", "serialbot.sqlite3.commands.json"} <= set(modes)
    assert modes == dict.fromkeys(modes, 0o600)


async def test_an_existing_database_readable_by_others_is_made_private(
    discord_double: DiscordDouble, tmp_path: Path, usual_umask: None
) -> None:
    stories_folder(tmp_path)
    database = tmp_path / "serialbot.sqlite3"
    database.touch(mode=0o644)
    database.chmod(0o644)
    async with running_bot(discord_double, tmp_path, database=database):
        assert stat.S_IMODE(database.stat().st_mode) == 0o600


def _as_unprivileged() -> list[str]:
    """The command prefix that runs a child without root's power to write any file (root
    ignores file modes): the capabilities that override them are dropped for the child."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to test file modes as root"
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner"]


async def test_a_database_the_bot_cannot_write_is_refused_at_start_in_one_line(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="T")
    config = write_config(tmp_path, discord_double)
    # A database from an earlier run, left read-only (a deploy that changed its owner).
    async with running_bot(discord_double, tmp_path, database=tmp_path / "serialbot.sqlite3"):
        pass
    (tmp_path / "serialbot.sqlite3").chmod(0o400)
    requests_before = len(discord_double.requests)

    process = await asyncio.create_subprocess_exec(
        *_as_unprivileged(),
        sys.executable,
        "-m",
        "tests.discord_double.launch",
        "--api",
        discord_double.api_base,
        "--gateway",
        str(discord_double.gateway_url),
        "--",
        "run",
        "--config",
        str(config),
        cwd=ROOT,
        env={**os.environ, "DISCORD_TOKEN": discord_double.token},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    text = err.decode()
    assert process.returncode == 2, text
    [line] = [line for line in text.splitlines() if line.startswith("serialbot: ")]
    assert "Cannot write to the database" in line and "serialbot.sqlite3" in line
    assert "Traceback" not in text
    assert len(discord_double.requests) == requests_before


@pytest.mark.parametrize(
    "text",
    [
        f"schedule:\n  default: {SECRET}\n",
        f"concurrency: {SECRET}\n",
        f"discord:\n  key: {SECRET}\n",
        f"threads:\n  auto_archive_minutes: '{SECRET}'\n",
        f"stories: stories\n{SECRET}\n",
    ],
    ids=["schedule", "number", "unknown-key", "choice", "bad-yaml"],
)
def test_a_token_pasted_under_another_key_is_never_printed(tmp_path: Path, text: str) -> None:
    config = tmp_path / "serialbot.yaml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={})
    message = str(caught.value)
    for piece in SECRET.split("."):
        assert piece not in message
    assert str(config) in message
