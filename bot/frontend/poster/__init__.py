"""Posting installments to Discord: the ``Poster`` the scheduler calls.

A text or announcement channel gets the part's header and text as plain messages, then a public
thread on the header for discussion, so talk about part 3 never sits under part 4. A forum channel
gets one post per part (the header opens it, the text follows inside).

Every message carries a nonce derived from the part's nonce; discord.py then sends
``enforce_nonce``, and Discord answers a repeat (after a crash, say) with the message it already
has instead of a second copy. Discord keeps nonces for a few minutes only, so a part attempted
again after longer (``resume_part``) is first looked for in the channel's recent history: the
bot's own messages since its last installment that read as the start of this part are kept, and
only the rest is sent. The closing message is always looked for first.

Failures are translated into the typed errors of ``bot.poster`` by Discord's error codes, not
the status alone: a refusal (a locked thread, a forum requiring tags, invalid content, a missing
permission) pauses the serial; an unknown channel means it is gone; any other 404, a 5xx or the
network is a passing failure; a 429 or a ban only delays the post (the pacer in
``bot.frontend.pacing`` holds every request meanwhile). Nothing is retried here, and 429s are
left to discord.py. A post that takes longer than ``post_timeout`` (Discord hanging) is given up
as a passing failure; the retry's nonces and history check keep it from doubling.

The package's modules, by job: ``_poster`` (``DiscordPoster``), ``_earlier`` (what an earlier
attempt posted) and ``_failures`` (Discord's failures as typed errors).
"""

from bot.frontend.poster._earlier import is_installment_start
from bot.frontend.poster._poster import DiscordPoster, archive_duration, message_nonce

__all__ = ["DiscordPoster", "archive_duration", "is_installment_start", "message_nonce"]
