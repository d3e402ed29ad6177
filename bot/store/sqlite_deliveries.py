"""The SQLite store's due work and deliveries (one row per part sent to a channel): what is due,
recording the intent to send a part and then the part posted."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime

from bot.shards import ShardSet
from bot.store.records import (
    Delivery,
    Subscription,
    Trigger,
    _delivery,
    _dt_or_none,
    _on_shards,
    _subscription,
    _ts,
    _ts_or_none,
    moved_on,
    not_pending,
    stored_subscription,
    unchanged_condition,
)
from bot.store.sqlite_subscriptions import SqliteSubscriptions

_UNCHANGED = unchanged_condition(lambda _: "?", "IS")


class SqliteDeliveries(SqliteSubscriptions):
    async def due(
        self,
        now: datetime,
        limit: int,
        *,
        after: tuple[datetime, int] | None = None,
        shards: ShardSet | None = None,
    ) -> list[Subscription]:
        """Running subscriptions with ``next_due <= now``, earliest first. ``after`` is the
        (next_due, id) of the last row of the previous page; ``shards`` keeps only the servers
        of those shards."""
        on_shards = _on_shards(shards)
        if after is None:
            rows = await self._fetch(
                f"""
                SELECT * FROM subscriptions
                WHERE paused = 0 AND completed_at IS NULL AND next_due <= ? {on_shards}
                ORDER BY next_due, id LIMIT ?
                """,
                (_ts(now), limit),
            )
        else:
            rows = await self._fetch(
                f"""
                SELECT * FROM subscriptions
                WHERE paused = 0 AND completed_at IS NULL AND next_due <= ? {on_shards}
                    AND (next_due > ? OR (next_due = ? AND id > ?))
                ORDER BY next_due, id LIMIT ?
                """,
                (_ts(now), _ts(after[0]), _ts(after[0]), after[1], limit),
            )
        return [_subscription(r) for r in rows]

    async def next_due_after(
        self, now: datetime, *, shards: ShardSet | None = None
    ) -> datetime | None:
        """The earliest ``next_due`` of a running subscription strictly after ``now``."""
        rows = await self._fetch(
            f"""
            SELECT min(next_due) FROM subscriptions
            WHERE paused = 0 AND completed_at IS NULL AND next_due > ? {_on_shards(shards)}
            """,
            (_ts(now),),
        )
        return _dt_or_none(rows[0][0])

    async def explain_due(self, now: datetime) -> list[str]:
        """SQLite's plan for the due query (for tests that check it stays indexed)."""
        rows = await self._fetch(
            """
            EXPLAIN QUERY PLAN SELECT * FROM subscriptions
            WHERE paused = 0 AND completed_at IS NULL AND next_due <= ?
            ORDER BY next_due, id LIMIT ?
            """,
            (_ts(now), 10),
        )
        return [str(r["detail"]) for r in rows]

    # --- deliveries ----------------------------------------------------------------------------

    async def begin_delivery(
        self,
        subscription: Subscription,
        *,
        part: int,
        nonce: str,
        trigger: Trigger,
        now: datetime,
    ) -> Delivery | None:
        """Record the intent to send ``part`` before sending it, if the subscription is still
        exactly ``subscription`` as the caller read it: ``None``, and nothing recorded, when it
        changed since (whoever read it decides again on what it is now). If the part is already
        pending (a retry, or a send interrupted by a crash), that row is returned with its nonce
        and one more attempt counted; a part already recorded posted is returned as it is."""
        rows = await self._write_returning(
            f"""
            INSERT INTO deliveries (
                subscription_id, channel_id, slug, part, state, nonce, triggered_by, created_at
            )
            SELECT id, channel_id, slug, ?, 'pending', ?, ?, ? FROM subscriptions
            WHERE {_UNCHANGED}
            ON CONFLICT (channel_id, slug, part) DO UPDATE SET attempts = attempts + 1
            WHERE state = 'pending'
            RETURNING *
            """,
            (part, nonce, trigger, _ts(now), *stored_subscription(subscription)),
        )
        if rows:
            return _delivery(rows[0])
        if await self.subscription(subscription.channel_id) != subscription:
            return None
        return await self._delivery_of(subscription.channel_id, subscription.slug, part)

    async def complete_delivery(
        self,
        delivery_id: int,
        *,
        subscription_id: int,
        part: int,
        message_ids: Iterable[int],
        thread_id: int | None,
        posted_at: datetime,
        next_part: int,
        position: int,
        slot_due: datetime | None,
        next_due: datetime | None,
    ) -> Subscription:
        """Together: mark the delivery posted and move the subscription past it."""
        values = (
            delivery_id,
            json.dumps(list(message_ids)),
            thread_id,
            _ts(posted_at),
            subscription_id,
            part,
            next_part,
            position,
            _ts_or_none(slot_due),
            _ts_or_none(next_due),
        )
        async with self._lock:
            try:
                await self._db.execute(
                    """
                    INSERT INTO part_posted (
                        delivery_id, message_ids, thread_id, posted_at, subscription_id, part,
                        next_part, position, slot_due, next_due
                    ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    values,
                )
            except sqlite3.IntegrityError as exc:
                if "not pending" in str(exc):
                    raise not_pending(delivery_id) from exc
                if "moved" in str(exc):
                    raise moved_on(subscription_id, part) from exc
                raise
            except sqlite3.Error as exc:
                self._note_write_failure(exc)
                raise
            self._written()
            rows = list(
                await self._db.execute_fetchall(
                    "SELECT * FROM subscriptions WHERE id = ?", (subscription_id,)
                )
            )
        return _subscription(rows[0])

    async def _delivery_of(self, channel_id: int, slug: str, part: int) -> Delivery | None:
        rows = await self._fetch(
            "SELECT * FROM deliveries WHERE channel_id = ? AND slug = ? AND part = ?",
            (channel_id, slug, part),
        )
        return _delivery(rows[0]) if rows else None

    async def pending_deliveries(self, *, shards: ShardSet | None = None) -> list[Delivery]:
        if shards is None or shards.everything:
            rows = await self._fetch("SELECT * FROM deliveries WHERE state = 'pending' ORDER BY id")
        else:
            rows = await self._fetch(
                f"""
                SELECT deliveries.* FROM deliveries
                JOIN subscriptions ON subscriptions.id = deliveries.subscription_id
                WHERE deliveries.state = 'pending' AND {shards.sql("subscriptions.guild_id")}
                ORDER BY deliveries.id
                """
            )
        return [_delivery(r) for r in rows]

    async def delivery(self, channel_id: int, part: int) -> Delivery | None:
        """The channel's delivery of ``part`` of the serial it follows now, in any state."""
        rows = await self._fetch(
            "SELECT * FROM deliveries WHERE channel_id = ? AND part = ?", (channel_id, part)
        )
        return _delivery(rows[0]) if rows else None

    async def deliveries(self, channel_id: int) -> list[Delivery]:
        rows = await self._fetch(
            "SELECT * FROM deliveries WHERE channel_id = ? ORDER BY part", (channel_id,)
        )
        return [_delivery(r) for r in rows]

    async def last_request_post(self, channel_id: int) -> datetime | None:
        """When a part was last posted to the channel because readers asked for it."""
        rows = await self._fetch(
            """
            SELECT max(posted_at) FROM deliveries
            WHERE channel_id = ? AND triggered_by = 'request' AND state = 'posted'
            """,
            (channel_id,),
        )
        return _dt_or_none(rows[0][0])
