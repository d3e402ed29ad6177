"""Where the demo writes: ``Console`` shows posts as a reader sees them, and the time and speed
as the demo says them."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.render import format_duration

_RULE_WIDTH = 72


# Discord markdown as the header and closing message use it: escapes, bold, italics, headings.
_MARKUP = re.compile(r"(?P<esc>\\(?P<char>.))|(?P<bold>\*\*)|(?P<italic>\*)|^(?P<heading>#{1,3} )")


class Console:
    """Where the demo writes. ANSI styles only on a terminal that wants them."""

    def __init__(self, stream: TextIO, *, colour: bool | None = None) -> None:
        self.stream = stream
        if colour is None:
            colour = (
                _isatty(stream)
                and "NO_COLOR" not in os.environ
                and os.environ.get("TERM") != "dumb"
            )
        self.colour = colour
        # Called once when the reader goes away (``serialbot demo | head``).
        self.on_closed: Callable[[], None] | None = None
        self._closed = False

    def write(self, text: str = "") -> None:
        if self._closed:
            return
        try:
            self.stream.write(text + "\n")
            # A pipe would otherwise hold posts back until the demo ends.
            self.stream.flush()
        except BrokenPipeError:
            self._closed = True
            _silence(self.stream)
            if self.on_closed is not None:
                self.on_closed()

    def style(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour and text else text

    def rule(self, label: str = "", *, char: str = "─", code: str = "2") -> str:
        head = f"{char * 2} {label} " if label else ""
        return self.style(head + char * max(3, _RULE_WIDTH - len(head)), code)

    def discord(self, markdown: str) -> str:
        """Discord markdown as a reader sees it: escapes removed, emphasis shown (on a terminal)
        or dropped (elsewhere)."""
        lines = []
        for line in markdown.split("\n"):
            out: list[str] = []
            bold = italic = heading = False
            position = 0
            for match in _MARKUP.finditer(line):
                out.append(line[position : match.start()])
                position = match.end()
                if match.group("esc"):
                    out.append(match.group("char"))
                elif match.group("bold"):
                    bold = not bold
                    out.append(self._code("1" if bold else "22"))
                elif match.group("italic"):
                    italic = not italic
                    out.append(self._code("3" if italic else "23"))
                elif match.group("heading"):
                    heading = True
                    out.append(self._code("1"))
            out.append(line[position:])
            if bold or italic or heading:
                out.append(self._code("0"))
            lines.append("".join(out))
        return "\n".join(lines)

    def _code(self, code: str) -> str:
        return f"\033[{code}m" if self.colour else ""


def _silence(stream: TextIO) -> None:
    # Python flushes stdout once more at exit; pointed at the null device, that flush cannot fail.
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def when(moment: datetime, timezone: str) -> str:
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname() or timezone}"


def speed_text(speed: float) -> str:
    if speed >= 60:
        return f"{format_duration(speed)} of demo time per second"
    return f"{speed:g}× real time"
