"""The PostgreSQL store's due work and deliveries, and what the processes of a cluster share:
claims on channels (one process at a time posts to a channel) and the bot's request budget."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from bot.pgstore.base import _by_channel, _rowcount
from bot.pgstore.subscriptions import PostgresSubscriptions
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

# After the four values of the delivery ($1 to $4), ``stored_subscription``'s from $5.
_UNCHANGED = unchanged_condition(lambda i: f"${i + 5}", "IS NOT DISTINCT FROM")


class PostgresDeliveries(PostgresSubscriptions):
    async def due(
        self,
        now: datetime,
        limit: int,
        *,
        after: tuple[datetime, int] | None = None,
        shards: ShardSet | None = None,
    ) -> list[Subscription]:
        on_shards = _on_shards(shards)
        if after is None:
            rows = await self._fetch(
                f"""
                SELECT * FROM subscriptions
                WHERE paused = 0 AND completed_at IS NULL AND next_due <= $1 {on_shards}
                ORDER BY next_due, id LIMIT $2
                """,
                _ts(now),
                limit,
            )
        else:
            rows = await self._fetch(
                f"""
                SELECT * FROM subscriptions
                WHERE paused = 0 AND completed_at IS NULL AND next_due <= $1 {on_shards}
                    AND (next_due > $2 OR (next_due = $2 AND id > $3))
                ORDER BY next_due, id LIMIT $4
                """,
                _ts(now),
                _ts(after[0]),
                after[1],
                limit,
            )
        return [_subscription(r) for r in rows]

    async def next_due_after(
        self, now: datetime, *, shards: ShardSet | None = None
    ) -> datetime | None:
        value = await self._value(
            f"""
            SELECT min(next_due) FROM subscriptions
            WHERE paused = 0 AND completed_at IS NULL AND next_due > $1 {_on_shards(shards)}
            """,
            _ts(now),
        )
        return _dt_or_none(value)

    async def explain_due(self, now: datetime) -> list[str]:
        """PostgreSQL's plan for the due query (for tests that check it stays indexed)."""
        async with self._transaction() as db:
            # A handful of rows makes a sequential scan the cheaper plan; ask for the index's.
            await db.execute("SET LOCAL enable_seqscan = off")
            rows = await db.fetch(
                """
                EXPLAIN SELECT * FROM subscriptions
                WHERE paused = 0 AND completed_at IS NULL AND next_due <= $1
                ORDER BY next_due, id LIMIT $2
                """,
                _ts(now),
                10,
            )
        return [str(r[0]) for r in rows]

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
        """As ``Store.begin_delivery``, in one statement: ``None``, and nothing recorded, when
        the subscription is no longer exactly ``subscription``."""
        async with self._connection() as db:
            row = await db.fetchrow(
                f"""
                INSERT INTO deliveries (
                    subscription_id, channel_id, slug, part, state, nonce, triggered_by,
                    created_at
                )
                SELECT id, channel_id, slug, $1, 'pending', $2, $3, $4 FROM subscriptions
                WHERE {_UNCHANGED} FOR UPDATE
                ON CONFLICT (channel_id, slug, part)
                DO UPDATE SET attempts = deliveries.attempts + 1
                WHERE deliveries.state = 'pending'
                RETURNING *
                """,
                part,
                nonce,
                trigger,
                _ts(now),
                *stored_subscription(subscription),
            )
            if row is not None:
                return _delivery(row)
            # Nothing recorded: the subscription changed, or the part is recorded posted.
            current = await _by_channel(db, subscription.channel_id)
            if current != subscription:
                return None
            row = await db.fetchrow(
                "SELECT * FROM deliveries WHERE channel_id = $1 AND slug = $2 AND part = $3",
                subscription.channel_id,
                subscription.slug,
                part,
            )
        return _delivery(row) if row else None

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
        """As ``Store.complete_delivery``, in one statement: the subscription moves only if
        the delivery is pending, and the delivery is marked posted only if it moved."""
        async with self._connection() as db:
            row = await db.fetchrow(
                """
                WITH pending AS (
                    SELECT id FROM deliveries WHERE id = $1 AND state = 'pending' FOR UPDATE
                ), moved AS (
                    UPDATE subscriptions
                    SET next_part = $2, position = $3, slot_due = $4, next_due = $5,
                        retry_count = 0, updated_at = $6
                    WHERE id = $7 AND next_part = $8 AND EXISTS (SELECT 1 FROM pending)
                    RETURNING *
                ), posted AS (
                    UPDATE deliveries SET state = 'posted', message_ids = $9, thread_id = $10,
                        posted_at = $6
                    WHERE id IN (SELECT id FROM pending) AND EXISTS (SELECT 1 FROM moved)
                    RETURNING id
                )
                SELECT (SELECT count(*) FROM pending) AS was_pending, moved.*
                FROM (SELECT 1) AS one LEFT JOIN moved ON true
                """,
                delivery_id,
                next_part,
                position,
                _ts_or_none(slot_due),
                _ts_or_none(next_due),
                _ts(posted_at),
                subscription_id,
                part,
                json.dumps(list(message_ids)),
                thread_id,
            )
        assert row is not None
        if not row["was_pending"]:
            raise not_pending(delivery_id)
        if row["id"] is None:
            raise moved_on(subscription_id, part)
        return _subscription(row)

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
        rows = await self._fetch(
            "SELECT * FROM deliveries WHERE channel_id = $1 AND part = $2", channel_id, part
        )
        return _delivery(rows[0]) if rows else None

    async def deliveries(self, channel_id: int) -> list[Delivery]:
        rows = await self._fetch(
            "SELECT * FROM deliveries WHERE channel_id = $1 ORDER BY part", channel_id
        )
        return [_delivery(r) for r in rows]

    async def last_request_post(self, channel_id: int) -> datetime | None:
        value = await self._value(
            """
            SELECT max(posted_at) FROM deliveries
            WHERE channel_id = $1 AND triggered_by = 'request' AND state = 'posted'
            """,
            channel_id,
        )
        return _dt_or_none(value)

    # --- claims: one process at a time posts to a channel ---------------------------------------

    async def claim(self, channel_id: int, owner: str, *, now: float, until: float) -> bool:
        """Claim the channel for ``owner`` until ``until`` (epoch seconds): granted when no
        one holds it, ``owner`` already does, or the holder's claim ran out (it stopped, or was
        killed). A claim another process is taking at this very moment is skipped (``SKIP
        LOCKED``), never waited for."""
        async with self._transaction() as db:
            await db.execute(
                """
                INSERT INTO serialbot_claims (channel_id, owner, until) VALUES ($1, '', 0)
                ON CONFLICT (channel_id) DO NOTHING
                """,
                channel_id,
            )
            held = await db.fetchrow(
                """
                SELECT owner, until FROM serialbot_claims WHERE channel_id = $1
                FOR UPDATE SKIP LOCKED
                """,
                channel_id,
            )
            if held is None or (held["owner"] not in ("", owner) and held["until"] > now):
                return False
            await db.execute(
                "UPDATE serialbot_claims SET owner = $2, until = $3 WHERE channel_id = $1",
                channel_id,
                owner,
                until,
            )
        return True

    async def renew_claim(self, channel_id: int, owner: str, *, until: float) -> bool:
        """Hold the channel longer; ``False`` when ``owner`` no longer holds it."""
        async with self._connection() as db:
            status = await db.execute(
                "UPDATE serialbot_claims SET until = $3 WHERE channel_id = $1 AND owner = $2",
                channel_id,
                owner,
                until,
            )
        return _rowcount(status) == 1

    async def release_claim(self, channel_id: int, owner: str) -> None:
        async with self._connection() as db:
            await db.execute(
                "DELETE FROM serialbot_claims WHERE channel_id = $1 AND owner = $2",
                channel_id,
                owner,
            )

    async def claim_holder(self, channel_id: int, *, now: float) -> str | None:
        """Who holds the channel now, if anyone (for tests and status)."""
        return await self._value(
            "SELECT owner FROM serialbot_claims WHERE channel_id = $1 AND until > $2 "
            "AND owner <> ''",
            channel_id,
            now,
        )

    # --- the bot's request budget, shared by every process -------------------------------------

    async def reserve_request(self, interval: float, *, now: float | None = None) -> float:
        """Reserve the bot's next request slot, ``interval`` seconds after the last one any
        process reserved and never before now (idle time builds up no burst). Returns the
        seconds to wait for it. The time is the server's (``now`` stands in for it in tests),
        so processes on machines whose clocks differ still share one grid."""
        async with self._connection() as db:
            row = await db.fetchrow(
                """
                WITH moment AS (
                    SELECT coalesce($2::float8, extract(epoch FROM clock_timestamp()))::float8
                        AS now
                )
                UPDATE serialbot_rate SET next_slot = greatest(next_slot, moment.now) + $1
                FROM moment WHERE id = 1
                RETURNING next_slot - $1 - moment.now AS wait
                """,
                interval,
                now,
            )
        return max(0.0, float(row["wait"]))
