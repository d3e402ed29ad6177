"""``serialbot run`` started where Discord cannot be reached, or with a token Discord rejects, as
a process of its own (what an operator sees in the terminal or the journal): one line per
problem, never a traceback; tries again with growing waits while Discord is out of reach, and
exits with status 2 for a rejected token. discord.py's voice warnings are not shown."""

# Test-facing waits take a ``timeout`` argument, as asyncio's own waits do.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import gc
import os
import re
import signal
import socket
import sys
from pathlib import Path

import discord
import discord.http
import pytest

from bot.frontend import runner
from tests.crash_harness import ROOT, write_config
from tests.discord_double import DiscordDouble
from tests.frontend_harness import lighthouse_paragraphs, stories_folder, write_story

RETRY = re.compile(r"Discord cannot be reached \((?P<why>.+)\); trying again in (?P<wait>\d+) s")


async def _start(config: Path, api: str, gateway: str, token: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.discord_double.launch",
        "--api",
        api,
        "--gateway",
        gateway,
        "--",
        "run",
        "--config",
        str(config),
        cwd=ROOT,
        env={**os.environ, "DISCORD_TOKEN": token, "PYTHONUNBUFFERED": "1"},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def _lines_until(
    process: asyncio.subprocess.Process, pattern: re.Pattern[str], count: int, timeout: float
) -> list[str]:
    """Every stderr line read until ``count`` lines matched ``pattern``."""
    assert process.stderr is not None
    lines: list[str] = []
    matched = 0
    async with asyncio.timeout(timeout):
        while matched < count:
            raw = await process.stderr.readline()
            if not raw:
                raise AssertionError("the bot exited early:\n" + "\n".join(lines))
            line = raw.decode().rstrip("\n")
            lines.append(line)
            matched += bool(pattern.search(line))
    return lines


async def _stop(process: asyncio.subprocess.Process, timeout: float = 10.0) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    assert process.stderr is not None
    rest = await asyncio.wait_for(process.stderr.read(), timeout)
    code = await asyncio.wait_for(process.wait(), timeout)
    return code, rest.decode()


async def _kill(process: asyncio.subprocess.Process) -> None:
    """A bot that did not exit as it should is not left running after its test."""
    if process.returncode is None:
        process.kill()
        await process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(tmp_path: Path, double: DiscordDouble) -> Path:
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="T")
    return write_config(tmp_path, double)


async def test_dns_failure_at_start_is_one_line_and_retried_with_growing_waits(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    config = _config(tmp_path, discord_double)
    process = await _start(
        config, "http://discord.invalid/api/v10", "ws://discord.invalid/", discord_double.token
    )
    try:
        lines = await _lines_until(process, RETRY, 2, timeout=30)
        code, rest = await _stop(process)
    finally:
        await _kill(process)

    output = "\n".join(lines) + rest
    waits = [int(m["wait"]) for m in map(RETRY.search, lines) if m]
    assert waits[1] > waits[0] > 0
    assert all("discord.invalid" in m["why"] for m in map(RETRY.search, lines) if m)
    assert "Traceback" not in output
    assert "PyNaCl" not in output and "davey" not in output
    assert code == 0


async def test_discord_out_of_reach_at_start_is_joined_once_it_answers(tmp_path: Path) -> None:
    port = _free_port()
    double = DiscordDouble(port=port)
    config = _config(tmp_path, double)
    # Its addresses, before anything listens there.
    api, gateway = f"http://127.0.0.1:{port}/api/v10", f"ws://127.0.0.1:{port}/gateway/"
    process = await _start(config, api, gateway, double.token)
    try:
        lines = await _lines_until(process, RETRY, 1, timeout=30)
        assert "Traceback" not in "\n".join(lines)
        await double.start()
        assert double.api_base == api
        await double.wait_until_connected(timeout=30)
        code, rest = await _stop(process)
        assert code == 0
        assert "Traceback" not in rest
        assert double.commands.syncs
    finally:
        await _kill(process)
        await double.stop()


async def test_a_token_discord_rejects_is_one_line_and_exit_status_2(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    config = _config(tmp_path, discord_double)
    process = await _start(
        config, discord_double.api_base, str(discord_double.gateway_url), "MTIz.not-the.token"
    )
    assert process.stderr is not None
    try:
        err = (await asyncio.wait_for(process.stderr.read(), 30)).decode()
        code = await asyncio.wait_for(process.wait(), 30)
    finally:
        await _kill(process)

    assert code == 2
    [line] = [line for line in err.splitlines() if line.startswith("serialbot: ")]
    assert "rejected the token" in line and "401" in line
    assert "Traceback" not in err
    assert "PyNaCl" not in err and "davey" not in err
    assert "not-the" not in err
    assert discord_double.gateway.identifies == 0


async def test_logins_that_fail_while_discord_is_out_of_reach_leave_no_session_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each failed login's HTTP session is closed: none is left for the garbage collector to
    report as an "Unclosed client session" error in the log."""
    port = _free_port()  # nothing listens there
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    monkeypatch.setattr(runner, "FIRST_RETRY_SECONDS", 0.01)
    loop = asyncio.get_running_loop()
    reported: list[str] = []
    loop.set_exception_handler(lambda _, context: reported.append(context["message"]))
    client = discord.Client(intents=discord.Intents.none())
    stopping = asyncio.Event()
    task = asyncio.create_task(runner._log_in(client, "x.y.z", stopping))
    try:
        for _ in range(200):
            await asyncio.sleep(0.01)
            gc.collect()
        assert not task.done()
    finally:
        stopping.set()
        assert await asyncio.wait_for(task, 10) is False
        await client.close()
        loop.set_exception_handler(None)
    gc.collect()
    assert not [message for message in reported if "Unclosed" in message]
