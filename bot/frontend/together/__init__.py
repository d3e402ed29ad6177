"""Reading together on Discord: the public vote message, the buttons' answers, each part's thread
opening message and hand-off, and DM reminders. The decisions are ``bot.together``'s; this
module shows them.

Every press is answered within Discord's 3 seconds: a vote press is acknowledged (a deferred
update) before the request is weighed, since weighing may post a part; a read press needs only
a few reads and one write. Messages that change with presses (the vote, a thread's read count)
are edited through ``EditCoalescer``: at most once a second each, with the newest state.

The package's modules, by job: ``_room`` (``ReadingRoom``, the face the rest of the bot talks
to), ``_votes`` (the vote message), ``_threads`` (each part's thread messages), ``_reading``
(read receipts, catch-up and paging), ``_reminders`` (DM reminders) and ``_replies`` (what
their answers share).
"""

from bot.frontend.together._replies import (
    STALE_BUTTON,
    UNKNOWN_BUTTON,
    Interaction,
    home_channel_id,
    message_link,
    send_alone,
)
from bot.frontend.together._room import STOP_GRACE_SECONDS, ReadingRoom

__all__ = [
    "STALE_BUTTON",
    "STOP_GRACE_SECONDS",
    "UNKNOWN_BUTTON",
    "Interaction",
    "ReadingRoom",
    "home_channel_id",
    "message_link",
    "send_alone",
]
