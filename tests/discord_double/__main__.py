"""Serve a double on its own: ``python -m tests.discord_double [--channels N [--main-guild]]
[--rate-limits] [--window fixed|sliding] [--ban-after N] [--ban-seconds S]``.
Prints one JSON line (addresses, token, ids) and serves until interrupted; ``/_double/summary``
gives posting figures, ``/_double/world`` the ids, ``POST /_double/invoke`` runs a command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Sequence

from .ban import BAN_SECONDS
from .limits import INVALID_REQUEST_LIMIT
from .ratelimit import WINDOW_MODELS
from .server import DiscordDouble


async def _serve(options: argparse.Namespace) -> None:
    double = DiscordDouble(
        rate_limits=options.rate_limits,
        time_scale=options.time_scale,
        window=options.window,
        ban_after=options.ban_after or None,
        ban_seconds=options.ban_seconds,
        port=options.port,
    )
    if options.channels and options.main_guild:
        for i in range(options.channels):
            await double.add_channel(f"serial-{i + 1}")
    elif options.channels:
        await double.populate(options.channels)
    await double.start()
    print(json.dumps(double.describe() if options.full else _brief(double)), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await double.stop()


def _brief(double: DiscordDouble) -> dict[str, object]:
    return {
        "api_base": double.api_base,
        "gateway_url": str(double.gateway_url),
        "token": double.token,
        "application_id": str(double.application_id),
        "guild_id": str(double.guild_id),
        "channels": {k: str(v) for k, v in double.channels.items()},
        "world": f"{double.url}/_double/world",
        "summary": f"{double.url}/_double/summary",
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.discord_double")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free)")
    parser.add_argument("--channels", type=int, default=0, help="extra text channels to create")
    parser.add_argument("--rate-limits", action="store_true", help="enforce Discord's rate limits")
    parser.add_argument("--time-scale", type=float, default=1.0, help="shorten rate-limit windows")
    parser.add_argument(
        "--window", choices=WINDOW_MODELS, default="fixed", help="shape of the global window"
    )
    parser.add_argument(
        "--ban-after",
        type=int,
        default=INVALID_REQUEST_LIMIT,
        help="invalid requests in 10 minutes that earn a ban (0: never)",
    )
    parser.add_argument("--ban-seconds", type=float, default=BAN_SECONDS, help="ban length")
    parser.add_argument("--full", action="store_true", help="print every guild and channel id")
    parser.add_argument(
        "--main-guild",
        action="store_true",
        help="make the channels in the double's own guild, where its reader is a member",
    )
    options = parser.parse_args(argv)
    asyncio.run(_serve(options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
