"""Emphasis in a message as Discord's markdown reads it, for tests: ``*italic*``, ``**bold**`` and
``***both***`` around text, backslash escapes and links taken as they stand. Strict where Discord
is forgiving: a marker that opens on white space, closes after it, has nothing inside, is left
open or closes with another length fails the test, since the bot must never send one."""

from __future__ import annotations

import re

# The links the renderer leaves alone are the ones Discord links.
from bot.render import URL_PATTERN as _URL

_TOKEN = re.compile(rf"(?P<url>{_URL})|\\(?P<char>.)|(?P<marker>\*+)", re.DOTALL)


def read_emphasis(message: str) -> tuple[str, list[tuple[int, int, int]]]:
    """(the text a reader reads, its emphasised runs as (start, end, style) with style 1 italic,
    2 bold, 3 both). Raises AssertionError on a marker the bot should never send."""
    plain: list[str] = []
    size = 0
    runs: list[tuple[int, int, int]] = []
    opened: tuple[int, int, int] | None = None  # (marker length, where, position in message)
    position = 0
    for match in _TOKEN.finditer(message):
        literal = message[position : match.start()]
        plain.append(literal)
        size += len(literal)
        position = match.end()
        if match.group("url") is not None:
            plain.append(match.group("url"))
            size += len(match.group("url"))
        elif match.group("char") is not None:
            plain.append(match.group("char"))
            size += 1
        else:
            marker = match.group("marker")
            assert len(marker) <= 3, f"a run of {len(marker)} asterisks in {message!r}"
            if opened is None:
                after = message[match.end() : match.end() + 1]
                assert after and not after.isspace(), f"a marker opens on space in {message!r}"
                opened = (len(marker), size, match.start())
            else:
                length, start, _ = opened
                assert length == len(marker), f"{marker!r} closes {'*' * length!r} in {message!r}"
                assert size > start, f"an empty run in {message!r}"
                before = "".join(plain)[-1]
                assert not before.isspace(), f"a marker closes after space in {message!r}"
                runs.append((start, size, length))
                opened = None
    plain.append(message[position:])
    assert opened is None, f"a marker left open in {message!r}"
    return "".join(plain), runs


def styles(text: str, runs: list[tuple[int, int, int]]) -> list[int]:
    """The style of each character of ``text``: 0 for plain."""
    found = [0] * len(text)
    for start, end, style in runs:
        for index in range(start, end):
            found[index] = style
    return found
