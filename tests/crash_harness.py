"""The real bot in a process of its own, on a fast clock, against a Discord double that runs in the
test process, so that tests can kill it (SIGKILL, SIGTERM) at chosen points and start it again.

    python -m tests.crash_harness --api URL --gateway URL --speed 7200 --epoch T -- run --config F

points discord.py at the double (as ``tests.discord_double.launch`` does), makes the bot that
``serialbot run`` builds use a ``ScaledClock`` running ``speed`` times faster than real time, and
then runs the ``serialbot`` command line. Virtual time is measured from ``epoch`` (real seconds
since 1970), so it keeps going forward across restarts: a process started later starts later in
virtual time too. Everything else is the real ``bot`` code.
"""

# Test-facing waits take a ``timeout`` argument, as asyncio's own waits do.
# ruff: noqa: ASYNC109

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from aiohttp import web

from tests.discord_double import DiscordDouble, Message
from tests.discord_double.wire import json_response

if TYPE_CHECKING:
    from bot.pgstore import PostgresStore
    from bot.store import Delivery, Store

ROOT = Path(__file__).resolve().parent.parent

# requests that put something of a part in a channel: a message, a thread, a forum post
_POSTING = re.compile(r"^/channels/\d+/(messages|threads|messages/\d+/threads)$")


def virtual_start(epoch: float, speed: float, now: float | None = None) -> datetime:
    """Where virtual time stands at real time ``now``: ``epoch`` plus ``speed`` times the real
    time since it."""
    real = time.time() if now is None else now
    return datetime.fromtimestamp(epoch + (real - epoch) * speed, UTC)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    split = args.index("--") if "--" in args else len(args)
    parser = argparse.ArgumentParser(prog="python -m tests.crash_harness")
    parser.add_argument("--api", required=True)
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--speed", type=float, required=True)
    parser.add_argument("--epoch", type=float, required=True)
    options = parser.parse_args(args[:split])

    from tests.discord_double.launch import point_discord_py

    point_discord_py(options.api, options.gateway)

    from bot import cli
    from bot.clock import ScaledClock
    from bot.frontend import runner
    from bot.frontend.client import SerialBot

    clock = ScaledClock(options.speed, start=virtual_start(options.epoch, options.speed))

    class FastClockBot(SerialBot):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("clock", clock)
            # on_ready's default 2 s wait after the last guild only slows restarts down
            kwargs.setdefault("guild_ready_timeout", 0.05)
            super().__init__(**kwargs)

        async def before_identify_hook(
            self, shard_id: int | None, *, initial: bool = False
        ) -> None:
            """discord.py waits 5 s between the IDENTIFYs of a process's shards (Discord's
            identify rate); the double does not limit them, and the wait only slows restarts."""

    # The runner builds its bot by this name; everything it does besides is left as it is.
    runner.SerialBot = FastClockBot  # type: ignore[misc]
    return cli.main(args[split + 1 :])


# --- driving it from a test ------------------------------------------------------------------


def write_config(
    folder: Path, double: DiscordDouble, *, schedule: str = "every 1h", **extra: Any
) -> Path:
    """A configuration for the bot under test: stories in ``folder / "stories"``, the database
    in ``folder``, commands synced to the double's guild."""
    data: dict[str, Any] = {
        "stories": str(folder / "stories"),
        "database": str(folder / "serialbot.sqlite3"),
        "schedule": {"default": schedule, "timezone": "UTC"},
        "commands": {"sync_guild": double.guild_id},
        "uploads": {"extra_attachment_origins": [double.origin]},
        "log_level": "INFO",
        **extra,
    }
    path = folder / "serialbot.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@dataclass
class BotProcess:
    """``serialbot run`` in a child process through ``main`` above; its output is appended to
    ``log`` (kept for reading when a test fails)."""

    double: DiscordDouble
    config: Path
    log: Path
    speed: float
    epoch: float = field(default_factory=time.time)
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    # Set in the bot's environment after the rest (SERIALBOT_DATABASE, say).
    env: dict[str, str] = field(default_factory=dict)

    async def start(self) -> asyncio.subprocess.Process:
        if self.process is not None and self.process.returncode is None:
            raise RuntimeError("the bot is already running")
        self.starts += 1
        env = {**os.environ, "DISCORD_TOKEN": self.double.token, "PYTHONUNBUFFERED": "1"}
        env.pop("SERIALBOT_DATABASE", None)
        env.pop("SERIALBOT_GUILD", None)
        env.update(self.env)
        with self.log.open("ab") as out:
            out.write(f"\n--- start {self.starts} ---\n".encode())
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.crash_harness",
                "--api",
                self.double.api_base,
                "--gateway",
                str(self.double.gateway_url),
                "--speed",
                str(self.speed),
                "--epoch",
                str(self.epoch),
                "--",
                "run",
                "--config",
                str(self.config),
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=out,
            )
        return self.process

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def kill_now(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Send ``sig`` (SIGKILL unless told), at once and without yielding, so that it can be
        called from inside a request handler."""
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, sig)

    async def kill(self) -> None:
        self.kill_now()
        await self.wait()

    async def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait for the exit status."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        return await self.wait(timeout)

    async def wait(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), timeout)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


class KillSwitch:
    """Kills the bot when its ``countdown``-th posting request of this life reaches the double:
    before the double acts on it (the request is lost) or after (the answer is lost). With
    ``sig=SIGTERM`` it asks the bot to stop instead, while that request is under way."""

    def __init__(self, double: DiscordDouble, bot: BotProcess) -> None:
        self._bot = bot
        self.countdown: int | None = None
        self.after = False
        self.signal = signal.SIGKILL
        self.fired = asyncio.Event()
        original = double.rest._process

        async def process(request: web.Request, handler: Any, record: Any) -> web.StreamResponse:
            if self.countdown is None or not (
                request.method == "POST" and _POSTING.match(record.path)
            ):
                return await original(request, handler, record)
            self.countdown -= 1
            if self.countdown > 0:
                return await original(request, handler, record)
            self.countdown = None
            if self.after:
                response = await original(request, handler, record)
                self._bot.kill_now(self.signal)
            else:
                self._bot.kill_now(self.signal)
                response = json_response({"message": "killed", "code": 0}, status=503)
            self.fired.set()
            return response

        double.rest._process = process  # type: ignore[method-assign]

    def arm(self, countdown: int, *, after: bool, sig: signal.Signals = signal.SIGKILL) -> None:
        self.fired.clear()
        self.countdown = countdown
        self.after = after
        self.signal = sig

    def disarm(self) -> None:
        self.countdown = None


def installment_posts(double: DiscordDouble, channel_id: int) -> list[Message]:
    """What the bot posted in a channel as installments and notices: its own messages apart
    from answers to commands."""
    return [m for m in double.bot_messages(channel_id) if m.interaction is None]


async def subscribe_as_admin(
    double: DiscordDouble, channel_id: int, story: str, schedule: str
) -> None:
    """The server's admin runs ``/serial subscribe`` in ``channel_id``, and it is answered."""
    record = await double.invoke(
        "serial subscribe",
        {"story": story, "schedule": schedule},
        channel_id=channel_id,
        user_id=double.admin_id,
    )
    await record.reply()


async def assert_each_part_recorded_once(
    store: Store | PostgresStore, double: DiscordDouble, channels: Sequence[int], parts: int
) -> dict[int, list[Delivery]]:
    """The store after a run: nothing pending, every channel's story complete, and each part
    recorded once with the ids of the messages the double holds. Returns the deliveries of each
    channel."""
    assert await store.pending_deliveries() == []
    recorded: dict[int, list[Delivery]] = {}
    for channel_id in channels:
        sub = await store.subscription(channel_id)
        assert sub is not None and sub.completed and not sub.paused
        deliveries = await store.deliveries(channel_id)
        assert [d.part for d in deliveries] == list(range(1, parts + 1))
        posted_ids = [m.id for m in installment_posts(double, channel_id)][:-1]
        assert [i for d in deliveries for i in d.message_ids] == posted_ids
        recorded[channel_id] = deliveries
    return recorded


async def until(
    condition: Callable[[], bool | Awaitable[bool]], timeout: float, step: float = 0.02
) -> None:
    """Poll ``condition`` until it holds; ``TimeoutError`` after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while True:
            result = condition()
            if not isinstance(result, bool):
                result = await result
            if result:
                return
            await asyncio.sleep(step)


if __name__ == "__main__":
    sys.exit(main())
