"""``serialbot invite-url``: print the link that adds the bot to a server with exactly the
permissions it needs. The application id comes from ``--client-id`` or from the token itself,
whose first segment is the bot's user id in base64; the token is never printed."""

from __future__ import annotations

import argparse
import base64
import binascii
import os
import sys

import discord

from bot.frontend.permissions import invite_permissions

SCOPES = ("bot", "applications.commands")


def client_id_from_token(token: str) -> int | None:
    """The bot user id encoded in a token's first segment (equal to the application id for
    every bot created since 2016), or None when the token does not look like one."""
    first = token.strip().split(".", 1)[0]
    if not first:
        return None
    try:
        decoded = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(decoded) if decoded.isdigit() else None


def invite_url(client_id: int) -> str:
    return discord.utils.oauth_url(client_id, permissions=invite_permissions(), scopes=SCOPES)


def main(args: argparse.Namespace) -> int:
    client_id: int | None = getattr(args, "client_id", None)
    if client_id is None:
        token = os.environ.get("DISCORD_TOKEN", "")
        if not token.strip():
            print(
                "serialbot: give --client-id (the application id from the Developer Portal) "
                "or set DISCORD_TOKEN",
                file=sys.stderr,
            )
            return 2
        client_id = client_id_from_token(token)
        if client_id is None:
            print(
                "serialbot: DISCORD_TOKEN does not look like a bot token; give --client-id",
                file=sys.stderr,
            )
            return 2
    print(invite_url(client_id))
    return 0
