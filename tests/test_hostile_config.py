"""A broken configuration stops ``serialbot run`` before it connects: each problem is one line
naming the file, the key and the reason, the exit status is 2, and Discord (the double) never
hears from the bot, so it never runs half-configured."""

from __future__ import annotations

import asyncio
from pathlib import Path

import discord.utils
import pytest

from bot.cli import main as cli_main
from tests.discord_double import DiscordDouble
from tests.frontend_harness import lighthouse_paragraphs, stories_folder, write_story

# (what the file says, the key the error must name, words of the reason)
BROKEN = [
    ("concurency: 4\n", "concurency", "unknown key (did you mean concurrency?)"),
    ("concurrency: many\n", "concurrency", "expected a whole number"),
    ("stories: 12\n", "stories", "expected text"),
    ("threads:\n  auto_archive_minutes: 30\n", "threads.auto_archive_minutes", "not allowed"),
    ("schedule:\n  timezone: Mars/Olympus\n", "schedule.timezone", "unknown timezone"),
    ("schedule:\n  default: whenever\n", "schedule.default", "not a schedule I understand"),
    ("stories: no-such-folder\n", "stories", "folder not found"),
    ("database: a-file/serialbot.sqlite3\n", "database", "Cannot create the folder"),
]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="T")
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    monkeypatch.delenv("SERIALBOT_DATABASE", raising=False)
    monkeypatch.delenv("SERIALBOT_GUILD", raising=False)
    return tmp_path


async def _run(discord_double: DiscordDouble, config: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("DISCORD_TOKEN", discord_double.token)
    # A log handler on this test's captured stderr would outlive the test.
    monkeypatch.setattr(discord.utils, "setup_logging", lambda **_: None)
    # In a thread of its own, as from a shell: the command runs its own event loop while the
    # double keeps serving on this one.
    return await asyncio.to_thread(cli_main, ["run", "--config", str(config)])


@pytest.mark.parametrize(("text", "key", "reason"), BROKEN, ids=[b[1] + ":" + b[2] for b in BROKEN])
async def test_a_broken_configuration_is_named_and_refused_before_connecting(
    discord_double: DiscordDouble,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    text: str,
    key: str,
    reason: str,
) -> None:
    config = folder / "serialbot.yaml"
    stories = "" if text.startswith("stories:") else "stories: stories\n"
    database = "" if text.startswith("database:") else "database: data/serialbot.sqlite3\n"
    config.write_text(stories + database + text, encoding="utf-8")

    code = await _run(discord_double, config, monkeypatch)

    err = capsys.readouterr().err
    assert code == 2
    # Log lines may come first once the file is read; the refusal is one line of its own.
    [line] = [line for line in err.splitlines() if line.startswith("serialbot: ")]
    assert "Traceback" not in err
    assert line.startswith(f"serialbot: {config}: {key}: ")
    assert reason in line
    assert discord_double.requests == []
    assert discord_double.gateway.identifies == 0
    assert not (folder / "data").exists()


async def test_every_problem_of_a_file_is_listed_and_none_connects(
    discord_double: DiscordDouble,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = folder / "serialbot.yaml"
    config.write_text(
        "concurency: 4\nstories: 12\nthreads:\n  auto_archive_minutes: 30\n"
        "schedule:\n  timezone: Mars/Olympus\n  default: whenever\n",
        encoding="utf-8",
    )

    code = await _run(discord_double, config, monkeypatch)

    err = capsys.readouterr().err
    assert code == 2
    for _, key, reason in [BROKEN[0], *BROKEN[2:6]]:
        assert any(f"{config}: {key}: " in line and reason in line for line in err.splitlines())
    assert "Traceback" not in err
    assert discord_double.requests == []


async def test_a_configuration_that_names_no_token_source_still_needs_the_environment(
    discord_double: DiscordDouble,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = folder / "serialbot.yaml"
    config.write_text("token: MTIz.abc.def\n", encoding="utf-8")

    code = await _run(discord_double, config, monkeypatch)

    err = capsys.readouterr().err
    assert code == 2
    assert f"{config}: token: " in err and "DISCORD_TOKEN" in err
    assert "MTIz.abc.def" not in err
    assert discord_double.requests == []
