"""The ``catch_up`` option of ``/serial schedule``: its choices, and how answers say a channel's
policy."""

from __future__ import annotations

from typing import cast

from bot.scheduler import SerialError
from bot.store import CATCH_UP_POLICIES, CatchUp, Subscription

# The catch-up choices of /serial schedule: a policy of its own for the channel, or back to
# the configured one.
CATCH_UP_CONFIGURED = "config"
CATCH_UP_CHOICES = (
    ("one", "one part at once, then the schedule"),
    ("skip", "skip what was missed, wait for the schedule"),
    ("all", "every missed part, a few minutes apart"),
    (CATCH_UP_CONFIGURED, "as the bot's configuration says"),
)
_CATCH_UP_SAID = {
    "one": "one missed part at once",
    "skip": "nothing missed",
    "all": "every missed part",
}


def catch_up_policy(value: str) -> CatchUp:
    if value not in CATCH_UP_POLICIES:
        raise SerialError(
            "catch_up is one of "
            + ", ".join(f"`{v}`" for v, _ in CATCH_UP_CHOICES)
            + "; pick one from the list."
        )
    return cast(CatchUp, value)


def catch_up_text(sub: Subscription, configured: CatchUp) -> str:
    if sub.catch_up_own:
        return f"{_CATCH_UP_SAID[sub.catch_up]} is posted (chosen for this channel)"
    return f"{_CATCH_UP_SAID[configured]} is posted (as configured)"
