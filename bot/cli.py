"""The ``serialbot`` command. Each subcommand lives in its own module and is imported only when
chosen, so ``preview`` works without a database and ``demo`` without a token."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import __version__
from bot.defaults import CONFIG_NAME

# subcommand -> module whose ``main(args) -> int`` runs it
_COMMANDS = {
    "preview": "bot.preview",
    "demo": "bot.demo",
    "check": "bot.check",
    "run": "bot.frontend.runner",
    "invite-url": "bot.frontend.invite",
    "init": "bot.init",
    "migrate": "bot.migrate",
    "status": "bot.status",
    "backup": "bot.backup",
    "purge-guild": "bot.retention",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="serialbot", description="Post a story to Discord channels as a serial."
    )
    parser.add_argument("--version", action="version", version=f"serialbot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--config",
            type=Path,
            default=None,
            help=(
                f"YAML configuration file (default: {CONFIG_NAME} here "
                "if there is one, else the built-in defaults)"
            ),
        )
        return p

    preview = sub.add_parser("preview", help="show how a story is cut into installments")
    preview.add_argument("story", help="a story file, or the slug of a story in the library")
    preview.add_argument("--words", type=int, default=None, help="target words per part")
    with_config(preview)

    demo = with_config(
        sub.add_parser("demo", help="run the serial offline, posting to this terminal")
    )
    demo.add_argument("--story", default=None, help="story slug or file (default: you-left)")
    demo.add_argument(
        "--speed",
        type=float,
        default=86400.0,
        help="how much faster than real time the demo clock runs (default: a day per second)",
    )
    demo.add_argument("--schedule", default=None, help='posting schedule, e.g. "daily 18:00"')
    demo.add_argument("--db", type=Path, default=None, help="keep progress in this SQLite file")
    demo.add_argument(
        "--quorum",
        type=int,
        default=None,
        help="readers who must ask before `next` posts early (default: next.quorum); over 1, "
        "`next` opens a vote that `metoo` joins",
    )

    with_config(sub.add_parser("check", help="validate the configuration and the story library"))
    with_config(sub.add_parser("run", help="connect to Discord (token from DISCORD_TOKEN)"))

    migrate = with_config(
        sub.add_parser("migrate", help="copy the SQLite database into an empty PostgreSQL database")
    )
    migrate.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="postgresql://user@host/database (the password from PGPASSWORD)",
    )
    migrate.add_argument(
        "--from",
        dest="source",
        type=Path,
        default=None,
        help="the SQLite file (default: the configuration's database)",
    )

    init = sub.add_parser(
        "init", help="write a commented configuration and a stories folder to start from"
    )
    init.add_argument(
        "folder", nargs="?", type=Path, default=Path("."), help="where (default: here)"
    )

    with_config(
        sub.add_parser(
            "status",
            help="every subscription: story, part, next post, state and reason (offline)",
        )
    )
    backup = with_config(
        sub.add_parser("backup", help="copy the database safely, even while the bot runs")
    )
    # Text, not Path: a trailing "/" (a folder is meant) would be lost.
    backup.add_argument("path", help="the copy to write (a folder gets a dated file name)")

    purge = with_config(
        sub.add_parser(
            "purge-guild",
            help="delete a server's uploaded stories and progress (after the bot left it)",
        )
    )
    purge.add_argument("guild_id", type=int, metavar="ID", help="the server's id")

    invite = sub.add_parser("invite-url", help="print the link that adds the bot to a server")
    invite.add_argument(
        "--client-id",
        type=int,
        default=None,
        help="application id (default: read from DISCORD_TOKEN)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    module = importlib.import_module(_COMMANDS[args.command])
    try:
        return int(module.main(args) or 0)
    except BrokenPipeError:
        # The reader went away (`serialbot status | head`): nothing left to say, and Python
        # must not try again to write to the closed pipe on its way out.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
