"""The PostgreSQL store's subscriptions and the texts of the story revisions they follow."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.pgstore.base import PostgresBase, _by_channel, _delete_channel, _rowcount
from bot.shards import ShardSet
from bot.store.records import (
    CatchUp,
    Subscription,
    SubscriptionExists,
    _cuts_json,
    _on_shards,
    _subscription,
    _ts,
    _ts_or_none,
    check_policy,
    pack_text,
    unpack_text,
)


class PostgresSubscriptions(PostgresBase):
    async def create_subscription(
        self,
        *,
        guild_id: int,
        channel_id: int,
        slug: str,
        revision: str,
        next_part: int,
        position: int,
        schedule: str,
        timezone: str,
        slot_due: datetime,
        catch_up: CatchUp,
        subscribed_by: int,
        thread_archive_minutes: int | None,
        now: datetime,
        part_count: int | None = None,
        catch_up_own: bool = False,
    ) -> Subscription:
        check_policy(catch_up)
        async with self._transaction() as db:
            existing = await _by_channel(db, channel_id, lock=True)
            if existing is not None:
                if not existing.completed:
                    raise SubscriptionExists(existing)
                await _delete_channel(db, channel_id)
            row = await db.fetchrow(
                """
                INSERT INTO subscriptions (
                    guild_id, channel_id, slug, revision, next_part, position, schedule, timezone,
                    slot_due, next_due, catch_up, subscribed_by, created_at, updated_at,
                    thread_archive_minutes, part_count, catch_up_own
                ) VALUES (
                    $1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $12, $13, $14, $15
                )
                RETURNING *
                """,
                guild_id,
                channel_id,
                slug,
                revision,
                next_part,
                position,
                schedule,
                timezone,
                _ts(slot_due),
                catch_up,
                subscribed_by,
                _ts(now),
                thread_archive_minutes,
                part_count,
                int(catch_up_own),
            )
        return _subscription(row)

    async def subscription(self, channel_id: int) -> Subscription | None:
        rows = await self._fetch("SELECT * FROM subscriptions WHERE channel_id = $1", channel_id)
        return _subscription(rows[0]) if rows else None

    async def guild_subscriptions(self, guild_id: int) -> list[Subscription]:
        rows = await self._fetch(
            "SELECT * FROM subscriptions WHERE guild_id = $1 ORDER BY channel_id", guild_id
        )
        return [_subscription(r) for r in rows]

    async def count_subscriptions(self) -> int:
        return int(await self._value("SELECT count(*) FROM subscriptions"))

    async def delete_subscription(self, channel_id: int) -> Subscription | None:
        async with self._transaction() as db:
            existing = await _by_channel(db, channel_id, lock=True)
            if existing is not None:
                await _delete_channel(db, channel_id)
        return existing

    async def pause(
        self, channel_id: int, reason: str, now: datetime, *, cause: str | None = None
    ) -> Subscription | None:
        return await self._update_returning(
            """
            UPDATE subscriptions SET paused = 1, pause_reason = $1, pause_cause = $2,
                updated_at = $3
            WHERE channel_id = $4 RETURNING *
            """,
            reason,
            cause,
            _ts(now),
            channel_id,
        )

    async def pause_guild(self, guild_id: int, reason: str, now: datetime) -> int:
        async with self._connection() as db:
            status = await db.execute(
                """
                UPDATE subscriptions SET paused = 1, pause_reason = $1, pause_cause = NULL,
                    updated_at = $2
                WHERE guild_id = $3 AND paused = 0 AND completed_at IS NULL
                """,
                reason,
                _ts(now),
                guild_id,
            )
        return _rowcount(status)

    async def resume(
        self,
        channel_id: int,
        *,
        slot_due: datetime | None,
        next_due: datetime | None,
        now: datetime,
    ) -> Subscription | None:
        return await self._update_returning(
            """
            UPDATE subscriptions
            SET paused = 0, pause_reason = NULL, pause_cause = NULL, retry_count = 0,
                slot_due = $1, next_due = $2, updated_at = $3
            WHERE channel_id = $4 RETURNING *
            """,
            _ts_or_none(slot_due),
            _ts_or_none(next_due),
            _ts(now),
            channel_id,
        )

    async def set_schedule(
        self,
        channel_id: int,
        *,
        schedule: str,
        timezone: str,
        slot_due: datetime,
        next_due: datetime | None,
        now: datetime,
    ) -> Subscription | None:
        return await self._update_returning(
            """
            UPDATE subscriptions
            SET schedule = $1, timezone = $2, slot_due = $3, next_due = $4, updated_at = $5
            WHERE channel_id = $6 RETURNING *
            """,
            schedule,
            timezone,
            _ts(slot_due),
            _ts_or_none(next_due),
            _ts(now),
            channel_id,
        )

    async def set_catch_up(
        self, channel_id: int, catch_up: CatchUp | None, now: datetime
    ) -> Subscription | None:
        check_policy(catch_up)
        return await self._update_returning(
            """
            UPDATE subscriptions
            SET catch_up = coalesce($1, catch_up), catch_up_own = $2, updated_at = $3
            WHERE channel_id = $4 RETURNING *
            """,
            catch_up,
            int(catch_up is not None),
            _ts(now),
            channel_id,
        )

    async def set_due(
        self,
        subscription_id: int,
        *,
        slot_due: datetime | None,
        next_due: datetime | None,
        now: datetime,
    ) -> Subscription | None:
        return await self._update_returning(
            "UPDATE subscriptions SET slot_due = $1, next_due = $2, updated_at = $3 WHERE id = $4 "
            "RETURNING *",
            _ts_or_none(slot_due),
            _ts_or_none(next_due),
            _ts(now),
            subscription_id,
        )

    async def schedule_retry(
        self, subscription_id: int, *, retry_count: int, next_due: datetime, now: datetime
    ) -> Subscription | None:
        return await self._update_returning(
            """
            UPDATE subscriptions SET retry_count = $1, next_due = $2, updated_at = $3
            WHERE id = $4 RETURNING *
            """,
            retry_count,
            _ts(next_due),
            _ts(now),
            subscription_id,
        )

    async def reset_progress(
        self,
        channel_id: int,
        *,
        next_part: int,
        position: int,
        revision: str,
        slot_due: datetime,
        next_due: datetime,
        now: datetime,
        part_count: int | None = None,
        cuts: Sequence[int] | None = None,
    ) -> Subscription | None:
        async with self._transaction() as db:
            existing = await _by_channel(db, channel_id, lock=True)
            if existing is None:
                return None
            await db.execute(
                """
                DELETE FROM deliveries
                WHERE subscription_id = $1 AND (part >= $2 OR state = 'pending')
                """,
                existing.id,
                next_part,
            )
            row = await db.fetchrow(
                """
                UPDATE subscriptions
                SET next_part = $1, position = $2, revision = $3, slot_due = $4, next_due = $5,
                    completed_at = NULL, retry_count = 0, run = run + 1, updated_at = $6,
                    part_count = coalesce($7, part_count), cuts = $8
                WHERE id = $9 RETURNING *
                """,
                next_part,
                position,
                revision,
                _ts(slot_due),
                _ts(next_due),
                _ts(now),
                part_count,
                _cuts_json(cuts),
                existing.id,
            )
        return _subscription(row) if row else None

    async def remap_revision(
        self,
        subscription_id: int,
        *,
        revision: str,
        next_part: int,
        now: datetime,
        part_count: int | None = None,
        position: int | None = None,
        cuts: Sequence[int] | None = None,
    ) -> Subscription | None:
        async with self._transaction() as db:
            await db.execute(
                """
                DELETE FROM deliveries
                WHERE subscription_id = $1 AND part >= $2 AND state = 'posted'
                """,
                subscription_id,
                next_part,
            )
            await db.execute(
                "UPDATE deliveries SET part = $1 WHERE subscription_id = $2 AND state = 'pending'",
                next_part,
                subscription_id,
            )
            row = await db.fetchrow(
                """
                UPDATE subscriptions
                SET revision = $1, next_part = $2, updated_at = $3,
                    part_count = coalesce($4, part_count), position = coalesce($5, position),
                    cuts = $6
                WHERE id = $7 RETURNING *
                """,
                revision,
                next_part,
                _ts(now),
                part_count,
                position,
                _cuts_json(cuts),
                subscription_id,
            )
        return _subscription(row) if row else None

    async def unfinished(self, *, shards: ShardSet | None = None) -> list[Subscription]:
        rows = await self._fetch(
            f"SELECT * FROM subscriptions WHERE completed_at IS NULL {_on_shards(shards)} "
            "ORDER BY id"
        )
        return [_subscription(r) for r in rows]

    # --- story texts ---------------------------------------------------------------------------

    async def save_text(self, slug: str, revision: str, text: str, now: datetime) -> bool:
        packed = pack_text(text)
        async with self._connection() as db:
            status = await db.execute(
                """
                INSERT INTO story_texts (slug, revision, text, saved_at) VALUES ($1, $2, $3, $4)
                ON CONFLICT (slug, revision) DO NOTHING
                """,
                slug,
                revision,
                packed,
                _ts(now),
            )
        return _rowcount(status) == 1

    async def story_text(self, slug: str, revision: str) -> str | None:
        packed = await self._value(
            "SELECT text FROM story_texts WHERE slug = $1 AND revision = $2", slug, revision
        )
        return None if packed is None else unpack_text(packed)

    async def forget_texts(self) -> int:
        async with self._connection() as db:
            status = await db.execute(
                """
                DELETE FROM story_texts WHERE NOT EXISTS (
                    SELECT 1 FROM subscriptions
                    WHERE subscriptions.slug = story_texts.slug
                        AND subscriptions.revision = story_texts.revision
                        AND subscriptions.completed_at IS NULL
                )
                """
            )
        return _rowcount(status)

    async def mark_completed(self, subscription_id: int, now: datetime) -> Subscription | None:
        return await self._update_returning(
            """
            UPDATE subscriptions
            SET completed_at = $1, next_due = NULL, slot_due = NULL, retry_count = 0,
                updated_at = $1
            WHERE id = $2 RETURNING *
            """,
            _ts(now),
            subscription_id,
        )

    async def _update_returning(self, sql: str, *params: Any) -> Subscription | None:
        async with self._connection() as db:
            row = await db.fetchrow(sql, *params)
        return _subscription(row) if row else None
