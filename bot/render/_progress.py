"""How far a serial has come and how long a reader waits, as readers read them in answers."""

from __future__ import annotations

import math
from datetime import timedelta


def status_bar(done: int, total: int, width: int = 10) -> str:
    """A text progress bar such as "▰▰▰▱▱▱▱▱▱▱ 3/10". Full only when everything is done, and
    never empty once something is."""
    width = max(1, width)
    done = max(0, min(done, total))
    if total <= 0:
        filled = 0
    else:
        filled = done * width // total
        if done and not filled:
            filled = 1
    return "▰" * filled + "▱" * (width - filled) + f" {done}/{max(total, 0)}"


def format_duration(seconds: float | timedelta) -> str:
    """A wait as readers want to hear it: "12 min", "1 h 5 min", "2 d 3 h". Rounded up to the
    minute, so it never promises less than is left; "0 min" only when nothing is left."""
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    minutes = max(0, math.ceil(seconds / 60 - 1e-9))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"
