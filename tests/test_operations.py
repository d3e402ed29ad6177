"""Operating the bot: `serialbot run` in a process of its own with JSON logs and the metrics
endpoint, `status` and `backup` on its database while it runs, and a database from a newer
serialbot refused by every command that opens it."""

# Test-facing waits take a ``timeout`` argument, as asyncio's own waits do.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import socket
import sqlite3
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.logs import JsonFormatter
from bot.store import SCHEMA_VERSION, Store
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

# Virtual time runs an hour per real second: "every 1h" posts about once a second.
SPEED = 3600.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def serialbot(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """The command line in a process of its own (the bot may be running in another)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT,
        env={**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
        session.get(url) as answer,
    ):
        return answer.status, await answer.text()


async def test_a_running_bot_logs_json_serves_metrics_and_is_read_by_status_and_backup(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="Lighthouse")
    port = free_port()
    config = write_config(tmp_path, discord_double, log_format="json", metrics={"port": port})
    bot = BotProcess(discord_double, config, tmp_path / "bot.log", SPEED)
    identified = discord_double.gateway.identifies
    await bot.start()
    try:
        await discord_double.wait_until_connected(30, identified_after=identified)
        await until(lambda: _healthy(port), timeout=30)
        channels = [discord_double.channels["general"], await discord_double.add_channel("two")]
        for channel_id in channels:
            await subscribe_as_admin(discord_double, channel_id, "lighthouse", "every 1h")
        await until(
            lambda: all(len(installment_posts(discord_double, c)) >= 2 for c in channels),
            timeout=30,
        )

        # While it keeps posting: status, a backup, a scrape.
        code, out, err = await serialbot("status", "--config", str(config))
        assert code == 0, err
        assert "2 subscriptions: 2 active, 0 paused, 0 finished" in out
        guild = str(discord_double.guild_id)
        rows = [line for line in out.splitlines() if line.startswith(guild + " ")]
        assert sorted(int(row.split()[1]) for row in rows) == sorted(channels)
        assert all(re.search(r"  [2-9] of \d+  ", row) for row in rows), out

        copy = tmp_path / "backup.sqlite3"
        code, out, err = await serialbot("backup", str(copy), "--config", str(config))
        assert code == 0, err
        assert f"to {copy} (2 subscriptions" in out
        with sqlite3.connect(copy) as backed_up:
            assert backed_up.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
            assert backed_up.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            saved = backed_up.execute("SELECT channel_id FROM subscriptions").fetchall()
            posted = backed_up.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
        assert sorted(c for (c,) in saved) == sorted(channels)
        assert posted >= len(channels)
        # A restore is the copy put in place: it opens as a database of this serialbot.
        restored = await Store.open(copy)
        assert await restored.schema_version() == SCHEMA_VERSION
        await restored.close()

        status, text = await get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert 'serialbot_parts_posted_total{trigger="schedule"}' in text
        assert 'serialbot_serials{state="active"} 2.0' in text
    finally:
        if bot.running:
            assert await bot.terminate() == 0

    lines = [line for line in bot.output().splitlines() if line and not line.startswith("---")]
    entries = [json.loads(line) for line in lines]  # every line the bot logged is JSON
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    assert any(e["message"].startswith("metrics on http://127.0.0.1:") for e in entries)
    assert any(e["message"].startswith("Posted part 1 of ") for e in entries)
    assert discord_double.token not in bot.output()


async def _healthy(port: int) -> bool:
    try:
        status, _ = await get(f"http://127.0.0.1:{port}/healthz", timeout=1.0)
    except aiohttp.ClientError:
        return False
    return status == 200


def test_the_json_formatter_writes_one_object_a_line_with_the_traceback() -> None:
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        record = logging.LogRecord(
            "bot.x", logging.ERROR, __file__, 1, "failed: %s", ("post",), sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "bot.x"
    assert entry["message"] == "failed: post"
    assert "ValueError: bad\nthing" in entry["exception"]
    assert entry["time"].endswith("+00:00")


@pytest.fixture
async def future_database(tmp_path: Path) -> tuple[Path, Path]:
    database = tmp_path / "serialbot.sqlite3"
    store = await Store.open(database)
    await store.close()
    with sqlite3.connect(database) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    config = tmp_path / "serialbot.yaml"
    config.write_text(f"database: {database}\n", encoding="utf-8")
    return database, config


@pytest.mark.parametrize("command", ["run", "status", "backup"])
async def test_a_database_from_a_newer_serialbot_is_refused_with_one_clear_line(
    future_database: tuple[Path, Path], command: str, tmp_path: Path
) -> None:
    database, config = future_database
    args = [command, "--config", str(config)]
    if command == "backup":
        args.append(str(tmp_path / "copy.sqlite3"))
    # A token of the right shape: `run` must refuse the database before it connects anywhere.
    code, out, err = await serialbot(*args, env={"DISCORD_TOKEN": "x.y.z"})
    assert code == 2
    line = (
        f"{database} has schema version {SCHEMA_VERSION + 1}, but this serialbot understands "
        f"versions up to {SCHEMA_VERSION}. Upgrade serialbot, or point it at another database file."
    )
    (refusal,) = [text for text in err.splitlines() if "schema version" in text]
    assert refusal.startswith("serialbot") and refusal.endswith(line), err
    assert out == ""
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    assert not (tmp_path / "copy.sqlite3").exists()


async def test_status_and_backup_say_so_when_there_is_no_database_yet(tmp_path: Path) -> None:
    config = tmp_path / "serialbot.yaml"
    config.write_text(f"database: {tmp_path / 'none.sqlite3'}\n", encoding="utf-8")
    code, _, err = await serialbot("status", "--config", str(config))
    assert code == 2 and "no database there yet" in err
    code, _, err = await serialbot("backup", str(tmp_path), "--config", str(config))
    assert code == 2 and "no database there yet" in err
    assert await asyncio.to_thread(os.listdir, tmp_path) == ["serialbot.yaml"]


async def test_a_metrics_port_already_taken_stops_run_with_the_key_and_the_reason(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="Lighthouse")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        config = write_config(tmp_path, discord_double, metrics={"port": port})
        bot = BotProcess(discord_double, config, tmp_path / "bot.log", SPEED)
        await bot.start()
        assert await bot.wait(30) == 2
    assert (
        f"serialbot: {config}: metrics.port: cannot listen on 127.0.0.1:{port} "
        "(address already in use); choose a free port, or null to turn it off"
    ) in bot.output()
    assert "Traceback" not in bot.output()
