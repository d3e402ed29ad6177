"""The PostgreSQL store's reading together: "next" requests, the public votes, read receipts,
the messages opening parts' threads, and members' DM reminders."""

from __future__ import annotations

from datetime import datetime

from bot.pgstore.base import _rowcount
from bot.pgstore.deliveries import PostgresDeliveries
from bot.store.records import Delivery, Vote, VoteEnd, _delivery, _ts, _vote


class PostgresTogether(PostgresDeliveries):
    # "Next" requests.

    async def add_vote(
        self, channel_id: int, member_id: int, *, now: datetime, since: datetime
    ) -> int:
        async with self._transaction() as db:
            await db.execute(
                "DELETE FROM next_requests WHERE channel_id = $1 AND requested_at <= $2",
                channel_id,
                _ts(since),
            )
            await db.execute(
                """
                INSERT INTO next_requests (channel_id, member_id, requested_at)
                VALUES ($1, $2, $3)
                ON CONFLICT (channel_id, member_id)
                DO UPDATE SET requested_at = excluded.requested_at
                """,
                channel_id,
                member_id,
                _ts(now),
            )
            count = await db.fetchval(
                "SELECT count(*) FROM next_requests WHERE channel_id = $1", channel_id
            )
        return int(count)

    async def count_votes(self, channel_id: int, *, since: datetime) -> int:
        return int(
            await self._value(
                "SELECT count(*) FROM next_requests WHERE channel_id = $1 AND requested_at > $2",
                channel_id,
                _ts(since),
            )
        )

    async def clear_votes(self, channel_id: int) -> None:
        async with self._connection() as db:
            await db.execute("DELETE FROM next_requests WHERE channel_id = $1", channel_id)

    async def has_asked(self, channel_id: int, member_id: int, *, since: datetime) -> bool:
        value = await self._value(
            """
            SELECT 1 FROM next_requests
            WHERE channel_id = $1 AND member_id = $2 AND requested_at > $3
            """,
            channel_id,
            member_id,
            _ts(since),
        )
        return value is not None

    # --- votes (the public "next part now" message) ------------------------------------------

    async def open_vote(
        self,
        *,
        channel_id: int,
        guild_id: int,
        part: int,
        opened_by: int,
        now: datetime,
        closes_at: datetime,
    ) -> tuple[Vote, bool]:
        async with self._transaction() as db:
            status = await db.execute(
                """
                INSERT INTO votes (channel_id, guild_id, part, opened_by, opened_at, closes_at)
                VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING
                """,
                channel_id,
                guild_id,
                part,
                opened_by,
                _ts(now),
                _ts(closes_at),
            )
            row = await db.fetchrow(
                "SELECT * FROM votes WHERE channel_id = $1 AND state = 'open'", channel_id
            )
        assert row is not None
        return _vote(row), _rowcount(status) == 1

    async def vote(self, vote_id: int) -> Vote | None:
        rows = await self._fetch("SELECT * FROM votes WHERE id = $1", vote_id)
        return _vote(rows[0]) if rows else None

    async def open_vote_of(self, channel_id: int) -> Vote | None:
        rows = await self._fetch(
            "SELECT * FROM votes WHERE channel_id = $1 AND state = 'open'", channel_id
        )
        return _vote(rows[0]) if rows else None

    async def open_votes(self) -> list[Vote]:
        rows = await self._fetch("SELECT * FROM votes WHERE state = 'open' ORDER BY closes_at")
        return [_vote(r) for r in rows]

    async def set_vote_message(
        self, vote_id: int, message_id: int, *, reposted: bool = False
    ) -> None:
        async with self._connection() as db:
            await db.execute(
                "UPDATE votes SET message_id = $1, reposted = GREATEST(reposted, $2) WHERE id = $3",
                message_id,
                int(reposted),
                vote_id,
            )

    async def close_vote(
        self, vote_id: int, state: VoteEnd, *, asked: int | None = None
    ) -> Vote | None:
        async with self._transaction() as db:
            row = await db.fetchrow(
                """
                UPDATE votes SET state = $1, asked = coalesce(
                    $2::BIGINT,
                    (SELECT count(*) FROM next_requests r WHERE r.channel_id = votes.channel_id)
                )
                WHERE id = $3 AND state = 'open'
                RETURNING *
                """,
                state,
                asked,
                vote_id,
            )
            if row is None:
                return None
            await db.execute("DELETE FROM next_requests WHERE channel_id = $1", row["channel_id"])
        return _vote(row)

    # --- read receipts -----------------------------------------------------------------------

    async def posted_delivery_by_nonce(self, nonce: str) -> Delivery | None:
        rows = await self._fetch(
            "SELECT * FROM deliveries WHERE nonce = $1 AND state = 'posted'", nonce
        )
        return _delivery(rows[0]) if rows else None

    async def add_receipt(self, delivery_id: int, member_id: int, now: datetime) -> bool:
        async with self._connection() as db:
            status = await db.execute(
                """
                INSERT INTO read_receipts (delivery_id, member_id, read_at) VALUES ($1, $2, $3)
                ON CONFLICT DO NOTHING
                """,
                delivery_id,
                member_id,
                _ts(now),
            )
        return _rowcount(status) == 1

    async def read_counts(self, channel_id: int) -> dict[int, int]:
        rows = await self._fetch(
            """
            SELECT d.part, count(r.member_id) FROM deliveries d
            LEFT JOIN read_receipts r ON r.delivery_id = d.id
            WHERE d.channel_id = $1 AND d.state = 'posted'
            GROUP BY d.part
            """,
            channel_id,
        )
        return {int(r[0]): int(r[1]) for r in rows}

    async def unread(self, channel_id: int, member_id: int) -> list[Delivery]:
        rows = await self._fetch(
            """
            SELECT d.* FROM deliveries d
            WHERE d.channel_id = $1 AND d.state = 'posted' AND NOT EXISTS (
                SELECT 1 FROM read_receipts r WHERE r.delivery_id = d.id AND r.member_id = $2
            )
            ORDER BY d.part
            """,
            channel_id,
            member_id,
        )
        return [_delivery(r) for r in rows]

    async def mark_read_through(
        self, channel_id: int, member_id: int, part: int, now: datetime
    ) -> int:
        async with self._connection() as db:
            status = await db.execute(
                """
                INSERT INTO read_receipts (delivery_id, member_id, read_at)
                SELECT id, $1, $2 FROM deliveries
                WHERE channel_id = $3 AND state = 'posted' AND part <= $4
                ON CONFLICT DO NOTHING
                """,
                member_id,
                _ts(now),
                channel_id,
                part,
            )
        return _rowcount(status)

    async def set_thread_opener(self, nonce: str, thread_id: int, message_id: int) -> None:
        async with self._connection() as db:
            await db.execute(
                """
                INSERT INTO thread_openers (delivery_id, thread_id, message_id)
                SELECT id, $1, $2 FROM deliveries WHERE nonce = $3
                ON CONFLICT (delivery_id)
                DO UPDATE SET thread_id = excluded.thread_id, message_id = excluded.message_id
                """,
                thread_id,
                message_id,
                nonce,
            )

    async def thread_opener(self, delivery_id: int) -> tuple[int, int] | None:
        rows = await self._fetch(
            "SELECT thread_id, message_id FROM thread_openers WHERE delivery_id = $1",
            delivery_id,
        )
        return (int(rows[0][0]), int(rows[0][1])) if rows else None

    # --- reminders ---------------------------------------------------------------------------

    async def set_reminder(
        self, *, channel_id: int, guild_id: int, member_id: int, on: bool, now: datetime
    ) -> bool:
        async with self._transaction() as db:
            row = await db.fetchrow(
                "SELECT failed_at FROM reminders WHERE channel_id = $1 AND member_id = $2",
                channel_id,
                member_id,
            )
            was_on = row is not None and row[0] is None
            if on:
                await db.execute(
                    """
                    INSERT INTO reminders (channel_id, member_id, guild_id, since)
                    VALUES ($1, $2, $3, $4)
                    ON CONFLICT (channel_id, member_id)
                    DO UPDATE SET failed_at = NULL, told = 0
                    """,
                    channel_id,
                    member_id,
                    guild_id,
                    _ts(now),
                )
            else:
                await db.execute(
                    "DELETE FROM reminders WHERE channel_id = $1 AND member_id = $2",
                    channel_id,
                    member_id,
                )
        return was_on

    async def claim_reminders(self, channel_id: int, nonce: str) -> list[int]:
        rows = await self._fetch(
            """
            UPDATE reminders SET last_nonce = $1
            WHERE channel_id = $2 AND failed_at IS NULL
                AND (last_nonce IS NULL OR last_nonce <> $1)
            RETURNING member_id
            """,
            nonce,
            channel_id,
        )
        return sorted(int(r[0]) for r in rows)

    async def reminder_failed(self, channel_id: int, member_id: int, now: datetime) -> None:
        async with self._connection() as db:
            await db.execute(
                "UPDATE reminders SET failed_at = $1 WHERE channel_id = $2 AND member_id = $3",
                _ts(now),
                channel_id,
                member_id,
            )

    async def remove_member_reminders(self, guild_id: int, member_id: int) -> int:
        async with self._connection() as db:
            status = await db.execute(
                "DELETE FROM reminders WHERE guild_id = $1 AND member_id = $2",
                guild_id,
                member_id,
            )
        return _rowcount(status)

    async def take_failed_reminders(self, member_id: int) -> list[int]:
        rows = await self._fetch(
            """
            UPDATE reminders SET told = 1
            WHERE member_id = $1 AND failed_at IS NOT NULL AND told = 0
            RETURNING channel_id
            """,
            member_id,
        )
        return sorted(int(r[0]) for r in rows)

    async def members_to_tell(self) -> set[int]:
        rows = await self._fetch(
            "SELECT DISTINCT member_id FROM reminders WHERE failed_at IS NOT NULL AND told = 0"
        )
        return {int(r[0]) for r in rows}

    async def reminders_on(self, channel_id: int) -> list[int]:
        rows = await self._fetch(
            """
            SELECT member_id FROM reminders WHERE channel_id = $1 AND failed_at IS NULL
            ORDER BY member_id
            """,
            channel_id,
        )
        return [int(r[0]) for r in rows]
