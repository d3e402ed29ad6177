"""Operating the bot as the README says, on PostgreSQL as on SQLite: `serialbot run` on a
PostgreSQL database serving its database gauges and read by `status`; and the operator's
commands where a path or a database is wrong: `purge-guild` with no database, `backup` to a
folder that is not there, `check` of a database that cannot be created."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.store import Store
from tests.crash_harness import ROOT, BotProcess, installment_posts, subscribe_as_admin, until
from tests.crash_harness import write_config as write_bot_config
from tests.discord_double import DiscordDouble
from tests.frontend_harness import lighthouse_paragraphs, stories_folder, write_story
from tests.postgres_server import fresh_schema
from tests.test_operations import SPEED, _healthy, free_port, get, serialbot

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_a_bot_on_postgresql_serves_its_database_gauges_and_is_read_by_status(
    discord_double: DiscordDouble, tmp_path: Path, postgres_url: str
) -> None:
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="Lighthouse")
    port = free_port()
    config = write_bot_config(
        tmp_path, discord_double, database=postgres_url, metrics={"port": port}
    )
    bot = BotProcess(discord_double, config, tmp_path / "bot.log", SPEED)
    identified = discord_double.gateway.identifies
    await bot.start()
    try:
        await discord_double.wait_until_connected(30, identified_after=identified)
        await until(lambda: _healthy(port), timeout=30)
        posting = discord_double.channels["general"]
        refusing = await discord_double.add_channel("refusing")
        for channel_id in (posting, refusing):
            await subscribe_as_admin(discord_double, channel_id, "lighthouse", "every 1h")
        # Its next post is refused: the serial pauses, with the reason.
        await discord_double.revoke(refusing, "send_messages")
        await until(lambda: len(installment_posts(discord_double, posting)) >= 2, timeout=30)

        async def paused() -> bool:
            _, text = await get(f"http://127.0.0.1:{port}/metrics")
            return parse(text).get(("serialbot_serials", (("state", "paused"),))) == 1

        await until(paused, timeout=30)
        status, text = await get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        found = parse(text)
        assert found[("serialbot_serials", (("state", "active"),))] == 1
        assert found[("serialbot_serials", (("state", "finished"),))] == 0
        (reason,) = [
            dict(labels)["reason"]
            for (name, labels), value in found.items()
            if name == "serialbot_serials_paused" and value == 1
        ]
        assert "Send Messages" in reason
        assert ("serialbot_due_backlog", ()) in found
        assert ("serialbot_oldest_due_age_seconds", ()) in found
        assert ("serialbot_database_errors_total", (("operation", "metrics"),)) not in found

        code, out, err = await serialbot("status", "--config", str(config))
        assert code == 0, err
        assert "2 subscriptions: 1 active, 1 paused, 0 finished" in out
        # A PostgreSQL install is backed up with pg_dump, and backup says so.
        code, out, err = await serialbot("backup", str(tmp_path), "--config", str(config))
        assert code == 2 and "pg_dump" in err and out == ""
    finally:
        if bot.running:
            assert await bot.terminate() == 0
    assert "Traceback" not in bot.output()


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_purge_guild_without_a_sqlite_database_creates_none_and_says_so(tmp_path: Path) -> None:
    config = tmp_path / "serialbot.yaml"
    config.write_text("database: data/serialbot.sqlite3\n", encoding="utf-8")
    done = run("purge-guild", "412345678901234567", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        f"serialbot purge-guild: {tmp_path / 'data' / 'serialbot.sqlite3'}: no serialbot "
        "database there yet; nothing was deleted\n"
    )
    assert os.listdir(tmp_path) == ["serialbot.yaml"]


def test_purge_guild_on_an_empty_postgresql_database_creates_no_tables(
    postgres_server: str, tmp_path: Path
) -> None:
    url = fresh_schema(postgres_server)
    done = run("purge-guild", "5", cwd=tmp_path, env={"SERIALBOT_DATABASE": url})
    assert done.returncode == 2, done.stderr
    assert "no serialbot database there yet; nothing was deleted" in done.stderr
    done = run("status", cwd=tmp_path, env={"SERIALBOT_DATABASE": url})
    assert done.returncode == 2 and "no serialbot tables there yet" in done.stderr


@pytest.mark.parametrize("server_id", ["0", "-5"])
def test_purge_guild_refuses_what_is_not_a_server_id(server_id: str, tmp_path: Path) -> None:
    done = run("purge-guild", "--", server_id, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"serialbot purge-guild: {server_id} is not a server id")


async def empty_database(path: Path) -> None:
    store = await Store.open(path)
    await store.close()


def test_backup_to_a_folder_that_is_not_there_writes_no_file_in_its_place(
    tmp_path: Path,
) -> None:
    config = tmp_path / "serialbot.yaml"
    config.write_text("database: data/serialbot.sqlite3\n", encoding="utf-8")
    asyncio.run(empty_database(tmp_path / "data" / "serialbot.sqlite3"))
    done = run("backup", "--config", str(config), f"{tmp_path / 'backups'}/", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == f"serialbot backup: {tmp_path / 'backups'}: no such folder\n"
    assert not (tmp_path / "backups").exists()

    (tmp_path / "backups").mkdir()
    done = run("backup", "--config", str(config), f"{tmp_path / 'backups'}/", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (copy,) = os.listdir(tmp_path / "backups")
    assert copy.startswith("serialbot-") and copy.endswith(".sqlite3")


@pytest.mark.parametrize(
    ("database", "reason"),
    [
        (".", "is a folder; name the database file"),
        ("serialbot.yaml/serialbot.sqlite3", "serialbot.yaml is not a folder"),
    ],
)
def test_check_fails_for_a_database_run_could_not_create(
    database: str, reason: str, tmp_path: Path
) -> None:
    (tmp_path / "stories").mkdir()
    write_story(tmp_path / "stories", "lighthouse", lighthouse_paragraphs(), title="Lighthouse")
    config = tmp_path / "serialbot.yaml"
    config.write_text(f"stories: stories\ndatabase: {database}\n", encoding="utf-8")
    done = run("check", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 1
    (problem,) = [line for line in done.stdout.splitlines() if line.startswith("  - database:")]
    assert reason in problem
    assert "All is well" not in done.stdout


def test_output_cut_short_by_its_reader_ends_without_a_traceback(tmp_path: Path) -> None:
    # The reader is gone before the command writes its first line (`serialbot ... | head`).
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "init", str(tmp_path / "here")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    errors = process.stderr.read()
    assert process.wait(60) == 1
    assert errors == ""
