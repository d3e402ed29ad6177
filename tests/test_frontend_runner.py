"""``serialbot run`` and the client's start-up: token problems are one line, commands are synced
only when they change, and SIGTERM shuts down cleanly without the token ever being logged."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import pytest

from bot.cli import main as cli_main
from bot.config import CommandSettings
from bot.frontend import runner
from tests.discord_double import DiscordDouble
from tests.frontend_harness import (
    config_for,
    lighthouse_paragraphs,
    running_bot,
    stories_folder,
    write_story,
)

COMMAND_SYNC = r"/applications/\d+/(guilds/\d+/)?commands$"


def test_a_missing_token_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert cli_main(["run"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "DISCORD_TOKEN" in err


def test_a_bad_config_key_is_named_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "MTIz.abc.def")
    config = tmp_path / "serialbot.yaml"
    config.write_text("concurrency: many\n", encoding="utf-8")
    assert cli_main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "concurrency" in err
    assert "Traceback" not in err


async def test_a_rejected_token_is_a_one_line_error(
    discord_double: DiscordDouble, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stories_folder(tmp_path)
    code = await runner.run(config_for(discord_double, tmp_path), "MTIz.not-the.token")
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "token" in err


async def test_sigterm_stops_the_bot_cleanly_and_the_token_is_never_logged(
    discord_double: DiscordDouble, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="T")
    config = config_for(discord_double, tmp_path)
    running = asyncio.create_task(runner.run(config, discord_double.token))
    await discord_double.wait_until_connected()
    while not discord_double.requests_to("PUT", COMMAND_SYNC):
        await asyncio.sleep(0.01)

    os.kill(os.getpid(), signal.SIGTERM)
    code = await asyncio.wait_for(running, timeout=10)

    assert code == 0
    assert "SIGTERM" in caplog.text
    assert discord_double.token not in caplog.text
    assert discord_double.token.split(".")[-1] not in caplog.text


async def test_commands_are_synced_to_the_guild_once_and_not_again_when_unchanged(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    stories_folder(tmp_path)
    async with running_bot(discord_double, tmp_path):
        pass
    async with running_bot(discord_double, tmp_path):
        pass

    syncs = discord_double.requests_to("PUT", COMMAND_SYNC)
    assert len(syncs) == 1
    assert f"/guilds/{discord_double.guild_id}/" in syncs[0].path


async def test_moving_from_a_test_guild_to_global_commands_clears_the_guild_copy(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    stories_folder(tmp_path)
    async with running_bot(discord_double, tmp_path):
        pass
    async with running_bot(discord_double, tmp_path, commands=CommandSettings()):
        pass

    syncs = discord_double.requests_to("PUT", COMMAND_SYNC)
    assert [("/guilds/" in s.path, len(s.body or [])) for s in syncs] == [
        (True, 1),
        (True, 0),
        (False, 1),
    ]
