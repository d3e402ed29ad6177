"""Posts what is due: one supervised task sleeps until the earliest due subscription, wakes early
when something changes, and hands each due channel to a bounded pool of posts.

Delivery is recorded so that a part reaches a channel once:

1. Before sending, a "pending" delivery is stored with a nonce derived from the channel, story,
   revision and part (Discord returns the first message when the same nonce comes again).
2. The poster sends the part with that nonce.
3. In one transaction the delivery becomes "posted" and the subscription moves past the part.

A crash between 1 and 3 leaves the delivery pending; ``start`` sends it again with the same nonce
before anything else. Every attempt after the first is counted, and a poster that can
(``ResumingPoster``) is asked to resume the part: to look for what an earlier attempt already
posted, for when Discord no longer remembers the nonce. ``stop`` lets every post under way finish
and be recorded, so only a hard kill leaves a delivery pending. Passing failures are retried with
backoff, keeping the regular schedule; a missing channel or permission pauses the subscription
and says so once, never retrying in a loop.

Timing per subscription: ``slot_due`` is the regular slot the next part belongs to, ``next_due``
when the scheduler acts next (equal to the slot, except while retrying or catching up).

The modules, one job each: ``_commands`` (the ``Scheduler``: its lifecycle and what admins
ask of a channel), ``_reading`` (what readers ask: the next part now, status), ``_loop`` (the
supervised task), ``_delivery`` (posting one part, once), ``_sending`` (sending it, and what a
failure means), ``_following`` (following the library), ``_timing`` (slots, catch-up and part
numbering across revisions), ``_answers`` (results and their wording), ``_errors`` (requests
that cannot be done) and ``_settings``.
"""

from bot.schedule import ScheduleError
from bot.scheduler._answers import ChannelStatus, NextOutcome, unwritable_status
from bot.scheduler._commands import THREAD_ARCHIVE_MINUTES, Scheduler
from bot.scheduler._delivery import PartPosted
from bot.scheduler._errors import (
    AlreadySubscribed,
    NotSubscribed,
    PartOutOfRange,
    SerialError,
    UnknownStory,
)
from bot.scheduler._sending import delivery_nonce
from bot.scheduler._settings import SchedulerSettings, SerialSource

__all__ = [
    "THREAD_ARCHIVE_MINUTES",
    "AlreadySubscribed",
    "ChannelStatus",
    "NextOutcome",
    "NotSubscribed",
    "PartOutOfRange",
    "PartPosted",
    "ScheduleError",
    "Scheduler",
    "SchedulerSettings",
    "SerialError",
    "SerialSource",
    "UnknownStory",
    "delivery_nonce",
    "unwritable_status",
]
