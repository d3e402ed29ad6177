"""What a configuration problem looks like: ``ConfigError``, and the hiding of bot tokens in its
wording."""

from __future__ import annotations

import re

# A Discord bot token: the bot's id in base64, a timestamp and a signature, joined by dots.
TOKEN_SHAPE = re.compile(r"[\w-]{20,}\.[\w-]{5,}\.[\w-]{20,}")
TOKEN_HIDDEN = "<hidden: looks like a bot token>"


def hide_tokens(text: str) -> str:
    """``text`` with anything shaped like a bot token replaced: a token pasted under the wrong
    key must not be printed back (error messages end up in logs and terminals)."""
    return TOKEN_SHAPE.sub(TOKEN_HIDDEN, text)


class ConfigError(Exception):
    """The configuration cannot be used. ``problems`` holds every problem found, each naming the
    file (or the environment variable), the key and the reason; the message lists them all."""

    def __init__(self, problems: str | list[str]) -> None:
        found = [problems] if isinstance(problems, str) else list(problems)
        self.problems: list[str] = [hide_tokens(problem) for problem in found]
        super().__init__("\n".join(self.problems))
