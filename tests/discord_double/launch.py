"""Run the ``serialbot`` command line against a double in another process (crash tests kill and
restart the bot while the double keeps running in the test process):

    python -m tests.discord_double.launch --api URL --gateway URL -- run --config FILE

sets ``discord.http.Route.BASE`` and ``DiscordWebSocket.DEFAULT_GATEWAY`` and then calls
``bot.cli.main`` with the arguments after ``--``. The token comes from DISCORD_TOKEN as usual.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import discord.gateway
import discord.http
import yarl


def point_discord_py(api: str, gateway: str) -> None:
    discord.http.Route.BASE = api.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    ours, cli_args = (
        (args[: args.index("--")], args[args.index("--") + 1 :]) if "--" in args else (args, [])
    )
    parser = argparse.ArgumentParser(prog="python -m tests.discord_double.launch")
    parser.add_argument("--api", required=True, help="the double's api_base")
    parser.add_argument("--gateway", required=True, help="the double's gateway_url")
    options = parser.parse_args(ours)
    point_discord_py(options.api, options.gateway)

    from bot import cli

    return cli.main(cli_args)


if __name__ == "__main__":
    sys.exit(main())
