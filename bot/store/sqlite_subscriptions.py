"""The SQLite store's subscriptions (one per channel, with its progress and timing) and the
texts of the story revisions they follow."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

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
from bot.store.sqlite_base import SqliteBase, _by_channel, _delete_channel


class SqliteSubscriptions(SqliteBase):
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
        """Subscribe a channel. A finished subscription in the channel is replaced; an unfinished
        one raises ``SubscriptionExists``. ``catch_up_own``: an admin chose ``catch_up``."""
        check_policy(catch_up)
        async with self._transaction() as db:
            existing = await _by_channel(db, channel_id)
            if existing is not None:
                if not existing.completed:
                    raise SubscriptionExists(existing)
                await _delete_channel(db, channel_id)
            rows = await db.execute_fetchall(
                """
                INSERT INTO subscriptions (
                    guild_id, channel_id, slug, revision, next_part, position, schedule, timezone,
                    slot_due, next_due, catch_up, subscribed_by, created_at, updated_at,
                    thread_archive_minutes, part_count, catch_up_own
                ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                RETURNING *
                """,
                (
                    guild_id,
                    channel_id,
                    slug,
                    revision,
                    next_part,
                    position,
                    schedule,
                    timezone,
                    _ts(slot_due),
                    _ts(slot_due),
                    catch_up,
                    subscribed_by,
                    _ts(now),
                    _ts(now),
                    thread_archive_minutes,
                    part_count,
                    int(catch_up_own),
                ),
            )
        [created] = rows
        return _subscription(created)

    async def subscription(self, channel_id: int) -> Subscription | None:
        rows = await self._fetch("SELECT * FROM subscriptions WHERE channel_id = ?", (channel_id,))
        return _subscription(rows[0]) if rows else None

    async def guild_subscriptions(self, guild_id: int) -> list[Subscription]:
        rows = await self._fetch(
            "SELECT * FROM subscriptions WHERE guild_id = ? ORDER BY channel_id", (guild_id,)
        )
        return [_subscription(r) for r in rows]

    async def count_subscriptions(self) -> int:
        rows = await self._fetch("SELECT count(*) FROM subscriptions")
        return int(rows[0][0])

    async def delete_subscription(self, channel_id: int) -> Subscription | None:
        """Remove the channel's subscription with its deliveries and "next" requests."""
        async with self._transaction() as db:
            existing = await _by_channel(db, channel_id)
            if existing is not None:
                await _delete_channel(db, channel_id)
        return existing

    async def pause(
        self, channel_id: int, reason: str, now: datetime, *, cause: str | None = None
    ) -> Subscription | None:
        """Pause the channel; ``cause`` names a cause the bot can see go away by itself."""
        return await self._update_one(
            """
            UPDATE subscriptions SET paused = 1, pause_reason = ?, pause_cause = ?, updated_at = ?
            WHERE channel_id = ? RETURNING *
            """,
            (reason, cause, _ts(now), channel_id),
        )

    async def pause_guild(self, guild_id: int, reason: str, now: datetime) -> int:
        """Pause every unfinished, running subscription of a guild; returns how many."""
        return await self._write(
            """
            UPDATE subscriptions SET paused = 1, pause_reason = ?, pause_cause = NULL,
                updated_at = ?
            WHERE guild_id = ? AND paused = 0 AND completed_at IS NULL
            """,
            (reason, _ts(now), guild_id),
        )

    async def resume(
        self,
        channel_id: int,
        *,
        slot_due: datetime | None,
        next_due: datetime | None,
        now: datetime,
    ) -> Subscription | None:
        return await self._update_one(
            """
            UPDATE subscriptions
            SET paused = 0, pause_reason = NULL, pause_cause = NULL, retry_count = 0,
                slot_due = ?, next_due = ?, updated_at = ?
            WHERE channel_id = ? RETURNING *
            """,
            (_ts_or_none(slot_due), _ts_or_none(next_due), _ts(now), channel_id),
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
        return await self._update_one(
            """
            UPDATE subscriptions
            SET schedule = ?, timezone = ?, slot_due = ?, next_due = ?, updated_at = ?
            WHERE channel_id = ? RETURNING *
            """,
            (schedule, timezone, _ts(slot_due), _ts_or_none(next_due), _ts(now), channel_id),
        )

    async def set_catch_up(
        self, channel_id: int, catch_up: CatchUp | None, now: datetime
    ) -> Subscription | None:
        """The channel's own catch-up policy; ``None`` makes it follow the configuration."""
        check_policy(catch_up)
        return await self._update_one(
            """
            UPDATE subscriptions
            SET catch_up = coalesce(?, catch_up), catch_up_own = ?, updated_at = ?
            WHERE channel_id = ? RETURNING *
            """,
            (catch_up, int(catch_up is not None), _ts(now), channel_id),
        )

    async def set_due(
        self,
        subscription_id: int,
        *,
        slot_due: datetime | None,
        next_due: datetime | None,
        now: datetime,
    ) -> Subscription | None:
        """Move the timing of a subscription (catch-up after downtime)."""
        return await self._update_one(
            """
            UPDATE subscriptions SET slot_due = ?, next_due = ?, updated_at = ? WHERE id = ?
            RETURNING *
            """,
            (_ts_or_none(slot_due), _ts_or_none(next_due), _ts(now), subscription_id),
        )

    async def schedule_retry(
        self, subscription_id: int, *, retry_count: int, next_due: datetime, now: datetime
    ) -> Subscription | None:
        """A post failed for a passing reason: try again at ``next_due``; the slot stays."""
        return await self._update_one(
            """
            UPDATE subscriptions SET retry_count = ?, next_due = ?, updated_at = ?
            WHERE id = ? RETURNING *
            """,
            (retry_count, _ts(next_due), _ts(now), subscription_id),
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
        """Move a channel to another part (jump, restart): a new run, so parts that come again
        get new nonces; deliveries of the parts ahead are forgotten so they can be sent again.
        ``cuts`` are the channel's own parts to keep (``None``: the story's own parts)."""
        async with self._transaction() as db:
            existing = await _by_channel(db, channel_id)
            if existing is None:
                return None
            await db.execute(
                """
                DELETE FROM deliveries
                WHERE subscription_id = ? AND (part >= ? OR state = 'pending')
                """,
                (existing.id, next_part),
            )
            rows = await db.execute_fetchall(
                """
                UPDATE subscriptions
                SET next_part = ?, position = ?, revision = ?, slot_due = ?, next_due = ?,
                    completed_at = NULL, retry_count = 0, run = run + 1, updated_at = ?,
                    part_count = coalesce(?, part_count), cuts = ?
                WHERE id = ? RETURNING *
                """,
                (
                    next_part,
                    position,
                    revision,
                    _ts(slot_due),
                    _ts(next_due),
                    _ts(now),
                    part_count,
                    _cuts_json(cuts),
                    existing.id,
                ),
            )
        return _subscription(next(iter(rows)))

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
        """The story was edited: record its new revision, the channel's next part and, when
        given, its place in the new text and its own parts (``cuts``). Deliveries numbered at or
        after ``next_part`` belong to the old numbering; a part left pending keeps its nonce
        under its new number."""
        async with self._transaction() as db:
            await db.execute(
                """
                DELETE FROM deliveries
                WHERE subscription_id = ? AND part >= ? AND state = 'posted'
                """,
                (subscription_id, next_part),
            )
            await db.execute(
                "UPDATE deliveries SET part = ? WHERE subscription_id = ? AND state = 'pending'",
                (next_part, subscription_id),
            )
            rows = list(
                await db.execute_fetchall(
                    """
                    UPDATE subscriptions
                    SET revision = ?, next_part = ?, updated_at = ?,
                        part_count = coalesce(?, part_count), position = coalesce(?, position),
                        cuts = ?
                    WHERE id = ? RETURNING *
                    """,
                    (
                        revision,
                        next_part,
                        _ts(now),
                        part_count,
                        position,
                        _cuts_json(cuts),
                        subscription_id,
                    ),
                )
            )
        return _subscription(rows[0]) if rows else None

    async def unfinished(self, *, shards: ShardSet | None = None) -> list[Subscription]:
        """Every subscription that has not finished, paused or not (of ``shards``' servers)."""
        rows = await self._fetch(
            f"SELECT * FROM subscriptions WHERE completed_at IS NULL {_on_shards(shards)} "
            "ORDER BY id"
        )
        return [_subscription(r) for r in rows]

    # --- story texts ---------------------------------------------------------------------------

    async def save_text(self, slug: str, revision: str, text: str, now: datetime) -> bool:
        """Keep the text of a story revision; ``False`` when it was already kept."""
        packed = pack_text(text)
        saved = await self._write(
            """
            INSERT INTO story_texts (slug, revision, text, saved_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (slug, revision) DO NOTHING
            """,
            (slug, revision, packed, _ts(now)),
        )
        return saved == 1

    async def story_text(self, slug: str, revision: str) -> str | None:
        rows = await self._fetch(
            "SELECT text FROM story_texts WHERE slug = ? AND revision = ?", (slug, revision)
        )
        return unpack_text(rows[0]["text"]) if rows else None

    async def forget_texts(self) -> int:
        """Drop the texts of revisions no unfinished subscription follows; returns how many."""
        return await self._write(
            """
            DELETE FROM story_texts WHERE NOT EXISTS (
                SELECT 1 FROM subscriptions
                WHERE subscriptions.slug = story_texts.slug
                    AND subscriptions.revision = story_texts.revision
                    AND subscriptions.completed_at IS NULL
            )
            """
        )

    async def mark_completed(self, subscription_id: int, now: datetime) -> Subscription | None:
        return await self._update_one(
            """
            UPDATE subscriptions
            SET completed_at = ?, next_due = NULL, slot_due = NULL, retry_count = 0,
                updated_at = ?
            WHERE id = ? RETURNING *
            """,
            (_ts(now), _ts(now), subscription_id),
        )

    async def _update_one(self, sql: str, params: Sequence[Any]) -> Subscription | None:
        """An UPDATE of one subscription ``RETURNING *``: the row as it is now, in one trip."""
        rows = await self._write_returning(sql, params)
        return _subscription(rows[0]) if rows else None
