"""Sending a part or the closing message through the poster, and what a failure means: try again
with backoff, wait when the platform asks the whole bot to, or pause the channel and say so
once. Part of the courier, which brings the store, the poster and the clock."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from bot import metrics
from bot.clock import Clock
from bot.limits import NONCE_LIMIT
from bot.poster import (
    ChannelGone,
    Delivered,
    Destination,
    PostDelayed,
    Poster,
    PostError,
    PostForbidden,
    PostRefused,
    ResumingPoster,
)
from bot.scheduler._answers import UNWRITABLE_NOTICE, DeliveryResult, paused_notice
from bot.scheduler._settings import SchedulerSettings
from bot.store import Delivery, Store, Subscription
from bot.story import Part, Serial
from bot.uploads import shown_slug

log = logging.getLogger(__name__)

NONCE_LENGTH = NONCE_LIMIT


def delivery_nonce(
    channel_id: int,
    slug: str,
    revision: str,
    part: int,
    *,
    subscription_id: int = 0,
    run: int = 0,
) -> str:
    """The nonce a part is posted with: the same inputs always give the same 25 characters.
    ``part`` 0 stands for the closing message. ``subscription_id`` and ``run`` tell apart readings
    of the same story in the same channel (a new subscription, a restart)."""
    key = f"{channel_id}\x1f{slug}\x1f{revision}\x1f{part}\x1f{subscription_id}\x1f{run}"
    digest = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
    return ("s" + digest)[:NONCE_LENGTH]


def destination(sub: Subscription) -> Destination:
    return Destination(
        sub.guild_id, sub.channel_id, sub.thread_archive_minutes, admin_id=sub.subscribed_by
    )


class Sending:
    """The courier's part that sends and meets failures; ``Courier`` provides what is declared."""

    _store: Store
    _poster: Poster
    _clock: Clock
    _settings: SchedulerSettings
    _held_until: datetime | None
    _told_unwritable: set[int]

    async def _send(
        self, sub: Subscription, serial: Serial, part: Part, delivery: Delivery
    ) -> Delivered | DeliveryResult:
        poster = self._poster
        to = destination(sub)
        try:
            if delivery.attempts > 1 and isinstance(poster, ResumingPoster):
                # An earlier attempt may have posted some of the part, longer ago than the
                # nonce still protects: let the poster look before it sends.
                return await poster.resume_part(to, serial, part, nonce=delivery.nonce)
            return await poster.post_part(to, serial, part, nonce=delivery.nonce)
        except (PostRefused, ChannelGone) as exc:
            metrics.part_failed(_failure_kind(exc))
            return await self.pause(sub, serial, exc.reason)
        except PostDelayed as exc:
            return self._delay(sub, exc)
        except PostError as exc:  # PostTransient, or a kind we do not know: back off and retry
            metrics.part_delayed("transient")
            return await self._retry(sub, f"part {delivery.part}", exc.reason)
        except Exception as exc:
            metrics.part_delayed("unexpected")
            log.exception(
                "The poster failed on part %s for channel %s", delivery.part, sub.channel_id
            )
            return await self._retry(sub, f"part {delivery.part}", repr(exc))

    async def _close(self, sub: Subscription, serial: Serial) -> DeliveryResult:
        """Post the closing message, then mark the serial complete."""
        nonce = delivery_nonce(
            sub.channel_id, sub.slug, sub.revision, 0, subscription_id=sub.id, run=sub.run
        )
        try:
            await self._poster.post_end(destination(sub), serial, nonce=nonce)
        except (PostRefused, ChannelGone) as exc:
            metrics.part_failed(_failure_kind(exc))
            return await self.pause(sub, serial, exc.reason)
        except PostDelayed as exc:
            return self._delay(sub, exc)
        except PostError as exc:
            return await self._retry(sub, "the closing message", exc.reason)
        except Exception as exc:
            log.exception("The poster failed on the closing message for channel %s", sub.channel_id)
            return await self._retry(sub, "the closing message", repr(exc))
        done = await self._store.mark_completed(sub.id, self._clock.now())
        log.info("Channel %s finished %s", sub.channel_id, sub.slug)
        return DeliveryResult("finished", done)

    def _delay(self, sub: Subscription, delayed: PostDelayed) -> DeliveryResult:
        """The platform asked the bot to wait: every post waits (this one keeps its place and
        its attempt count), none is refused."""
        until = self._clock.now() + timedelta(seconds=max(delayed.retry_after, 1.0))
        if self._held_until is None or until > self._held_until:
            log.debug("Posting waits until %s: %s", until.isoformat(), delayed.reason)
            self._held_until = until
        metrics.part_delayed("rate_limited")
        return DeliveryResult("delayed", sub, reason=delayed.reason, retry_at=until)

    async def _retry(self, sub: Subscription, what: str, reason: str) -> DeliveryResult:
        now = self._clock.now()
        attempt = sub.retry_count + 1
        when = now + self._settings.backoff(attempt)
        updated = await self._store.schedule_retry(
            sub.id, retry_count=attempt, next_due=when, now=now
        )
        log.warning(
            "Could not post %s to channel %s (%s); retry %s at %s",
            what,
            sub.channel_id,
            reason,
            attempt,
            when.isoformat(),
        )
        return DeliveryResult("retry", updated, reason=reason, retry_at=when)

    async def pause(self, sub: Subscription, serial: Serial | None, reason: str) -> DeliveryResult:
        """Pause and say so once. Called with the channel's lock held."""
        paused = await self._store.pause(sub.channel_id, reason, self._clock.now())
        log.warning("Paused channel %s: %s", sub.channel_id, reason)
        title = serial.story.title if serial is not None else shown_slug(sub.slug)
        await self._notify(paused or sub, paused_notice(title, reason))
        return DeliveryResult("paused", paused, reason=reason)

    async def tell_unwritable(self, channel_id: int) -> None:
        """The database stopped taking writes: each server waiting on it is told once."""
        sub = await self._store.subscription(channel_id)
        if sub is None or sub.guild_id in self._told_unwritable:
            return
        self._told_unwritable.add(sub.guild_id)
        await self._notify(sub, UNWRITABLE_NOTICE)

    def writable_again(self) -> None:
        self._told_unwritable.clear()

    async def _notify(self, sub: Subscription, text: str) -> None:
        """Best effort: a notice that cannot be posted is logged, never a reason to stop."""
        try:
            await self._poster.post_notice(destination(sub), text)
        except PostError as exc:
            log.info("Could not tell channel %s: %s", sub.channel_id, exc.reason)
        except Exception:
            log.exception("Could not tell channel %s", sub.channel_id)


def _failure_kind(error: PostError) -> str:
    if isinstance(error, ChannelGone):
        return "gone"
    if isinstance(error, PostForbidden):
        return "forbidden"
    return "refused"
