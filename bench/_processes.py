"""The Discord double and the bot, each in a process of its own, as the wire benchmarks run them:
starting and stopping them, talking to the double's control routes, reading a process's CPU."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=120) as answer:
        return json.loads(answer.read())


def post_json(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    """POST ``body`` as JSON; the status and the JSON answer (also for 4xx and 5xx)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read())
        except ValueError:
            return error.code, None


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


@contextlib.contextmanager
def process(
    args: list[str], log: Path, env: dict[str, str], *, stdin: bool = False
) -> Iterator[subprocess.Popen[str]]:
    """A child process (stdout piped, stdin too when asked, stderr to ``log``), stopped with
    SIGTERM at the end."""
    with log.open("w") as out:
        child = subprocess.Popen(
            args,
            stdin=subprocess.PIPE if stdin else None,
            stdout=subprocess.PIPE,
            stderr=out,
            text=True,
            env=env,
        )
        try:
            yield child
        finally:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()


def channels_by_name(world: dict[str, Any]) -> dict[str, int]:
    return {
        name: int(channel_id)
        for guild in world["guilds"].values()
        for channel_id, name in guild["channels"].items()
    }


def wait_for(condition: Callable[[], bool], timeout: float, poll: float = 0.2) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(poll)
    return False
