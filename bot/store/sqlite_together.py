"""The SQLite store's reading together: "next" requests, the public votes, read receipts, the
messages opening parts' threads, and members' DM reminders."""

from __future__ import annotations

from datetime import datetime

from bot.store.records import (
    Delivery,
    Vote,
    VoteEnd,
    _delivery,
    _ts,
    _vote,
)
from bot.store.sqlite_deliveries import SqliteDeliveries


class SqliteTogether(SqliteDeliveries):
    # "Next" requests.

    async def add_vote(
        self, channel_id: int, member_id: int, *, now: datetime, since: datetime
    ) -> int:
        """Record that ``member_id`` asked for the next part; returns how many distinct members
        asked after ``since`` (older requests are dropped)."""
        async with self._transaction() as db:
            await db.execute(
                "DELETE FROM next_requests WHERE channel_id = ? AND requested_at <= ?",
                (channel_id, _ts(since)),
            )
            await db.execute(
                """
                INSERT INTO next_requests (channel_id, member_id, requested_at) VALUES (?, ?, ?)
                ON CONFLICT (channel_id, member_id)
                DO UPDATE SET requested_at = excluded.requested_at
                """,
                (channel_id, member_id, _ts(now)),
            )
            rows = list(
                await db.execute_fetchall(
                    "SELECT count(*) FROM next_requests WHERE channel_id = ?", (channel_id,)
                )
            )
        return int(rows[0][0]) if rows else 0

    async def count_votes(self, channel_id: int, *, since: datetime) -> int:
        rows = await self._fetch(
            "SELECT count(*) FROM next_requests WHERE channel_id = ? AND requested_at > ?",
            (channel_id, _ts(since)),
        )
        return int(rows[0][0])

    async def clear_votes(self, channel_id: int) -> None:
        await self._write("DELETE FROM next_requests WHERE channel_id = ?", (channel_id,))

    async def has_asked(self, channel_id: int, member_id: int, *, since: datetime) -> bool:
        rows = await self._fetch(
            """
            SELECT 1 FROM next_requests
            WHERE channel_id = ? AND member_id = ? AND requested_at > ?
            """,
            (channel_id, member_id, _ts(since)),
        )
        return bool(rows)

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
        """The channel's open vote, opened now if there is none; ``True`` when it is new."""
        async with self._transaction() as db:
            cursor = await db.execute(
                """
                INSERT OR IGNORE INTO votes (
                    channel_id, guild_id, part, opened_by, opened_at, closes_at
                ) VALUES (?, ?, ?, ?, ?, ?)
                """,
                (channel_id, guild_id, part, opened_by, _ts(now), _ts(closes_at)),
            )
            created = cursor.rowcount == 1
            rows = list(
                await db.execute_fetchall(
                    "SELECT * FROM votes WHERE channel_id = ? AND state = 'open'", (channel_id,)
                )
            )
        return _vote(rows[0]), created

    async def vote(self, vote_id: int) -> Vote | None:
        rows = await self._fetch("SELECT * FROM votes WHERE id = ?", (vote_id,))
        return _vote(rows[0]) if rows else None

    async def open_vote_of(self, channel_id: int) -> Vote | None:
        rows = await self._fetch(
            "SELECT * FROM votes WHERE channel_id = ? AND state = 'open'", (channel_id,)
        )
        return _vote(rows[0]) if rows else None

    async def open_votes(self) -> list[Vote]:
        rows = await self._fetch("SELECT * FROM votes WHERE state = 'open' ORDER BY closes_at")
        return [_vote(r) for r in rows]

    async def set_vote_message(
        self, vote_id: int, message_id: int, *, reposted: bool = False
    ) -> None:
        await self._write(
            "UPDATE votes SET message_id = ?, reposted = reposted | ? WHERE id = ?",
            (message_id, int(reposted), vote_id),
        )

    async def close_vote(
        self, vote_id: int, state: VoteEnd, *, asked: int | None = None
    ) -> Vote | None:
        """End an open vote (``None`` if it had already ended), keeping how many had asked
        (``asked``, or the requests counted now). Its requests are forgotten, so the next
        request opens a new vote."""
        async with self._transaction() as db:
            rows = list(
                await db.execute_fetchall(
                    """
                    UPDATE votes SET state = ?, asked = coalesce(
                        ?,
                        (SELECT count(*) FROM next_requests r WHERE r.channel_id = votes.channel_id)
                    )
                    WHERE id = ? AND state = 'open' RETURNING *
                    """,
                    (state, asked, vote_id),
                )
            )
            if not rows:
                return None
            await db.execute(
                "DELETE FROM next_requests WHERE channel_id = ?", (rows[0]["channel_id"],)
            )
        return _vote(rows[0])

    # --- read receipts -----------------------------------------------------------------------

    async def posted_delivery_by_nonce(self, nonce: str) -> Delivery | None:
        rows = await self._fetch(
            "SELECT * FROM deliveries WHERE nonce = ? AND state = 'posted'", (nonce,)
        )
        return _delivery(rows[0]) if rows else None

    async def add_receipt(self, delivery_id: int, member_id: int, now: datetime) -> bool:
        """Record that a member read a part; ``False`` when they had already said so."""
        added = await self._write(
            """
            INSERT OR IGNORE INTO read_receipts (delivery_id, member_id, read_at)
            VALUES (?, ?, ?)
            """,
            (delivery_id, member_id, _ts(now)),
        )
        return added == 1

    async def read_counts(self, channel_id: int) -> dict[int, int]:
        """Part number -> members who marked it read, for the parts posted to the channel."""
        rows = await self._fetch(
            """
            SELECT d.part, count(r.member_id) FROM deliveries d
            LEFT JOIN read_receipts r ON r.delivery_id = d.id
            WHERE d.channel_id = ? AND d.state = 'posted'
            GROUP BY d.part
            """,
            (channel_id,),
        )
        return {int(r[0]): int(r[1]) for r in rows}

    async def unread(self, channel_id: int, member_id: int) -> list[Delivery]:
        """The parts posted to the channel that the member has not marked read, in order."""
        rows = await self._fetch(
            """
            SELECT d.* FROM deliveries d
            WHERE d.channel_id = ? AND d.state = 'posted' AND NOT EXISTS (
                SELECT 1 FROM read_receipts r WHERE r.delivery_id = d.id AND r.member_id = ?
            )
            ORDER BY d.part
            """,
            (channel_id, member_id),
        )
        return [_delivery(r) for r in rows]

    async def mark_read_through(
        self, channel_id: int, member_id: int, part: int, now: datetime
    ) -> int:
        """Mark every part posted to the channel up to ``part`` read; returns how many were new."""
        added = await self._write(
            """
            INSERT OR IGNORE INTO read_receipts (delivery_id, member_id, read_at)
            SELECT id, ?, ? FROM deliveries
            WHERE channel_id = ? AND state = 'posted' AND part <= ?
            """,
            (member_id, _ts(now), channel_id, part),
        )
        return max(added, 0)

    async def set_thread_opener(self, nonce: str, thread_id: int, message_id: int) -> None:
        await self._write(
            """
            INSERT OR REPLACE INTO thread_openers (delivery_id, thread_id, message_id)
            SELECT id, ?, ? FROM deliveries WHERE nonce = ?
            """,
            (thread_id, message_id, nonce),
        )

    async def thread_opener(self, delivery_id: int) -> tuple[int, int] | None:
        """(thread id, message id) of the message opening the delivery's thread."""
        rows = await self._fetch(
            "SELECT thread_id, message_id FROM thread_openers WHERE delivery_id = ?",
            (delivery_id,),
        )
        return (int(rows[0][0]), int(rows[0][1])) if rows else None

    # --- reminders ---------------------------------------------------------------------------

    async def set_reminder(
        self, *, channel_id: int, guild_id: int, member_id: int, on: bool, now: datetime
    ) -> bool:
        """Turn a member's DM reminders for a channel on (again, after a failed DM) or off;
        returns whether they were on before."""
        async with self._transaction() as db:
            rows = list(
                await db.execute_fetchall(
                    "SELECT failed_at FROM reminders WHERE channel_id = ? AND member_id = ?",
                    (channel_id, member_id),
                )
            )
            was_on = bool(rows) and rows[0][0] is None
            if on:
                await db.execute(
                    """
                    INSERT INTO reminders (channel_id, member_id, guild_id, since)
                    VALUES (?, ?, ?, ?)
                    ON CONFLICT (channel_id, member_id)
                    DO UPDATE SET failed_at = NULL, told = 0
                    """,
                    (channel_id, member_id, guild_id, _ts(now)),
                )
            else:
                await db.execute(
                    "DELETE FROM reminders WHERE channel_id = ? AND member_id = ?",
                    (channel_id, member_id),
                )
        return was_on

    async def claim_reminders(self, channel_id: int, nonce: str) -> list[int]:
        """The members to remind of the delivery with ``nonce``, each claimed once: a second
        call for the same delivery returns nobody."""
        rows = await self._write_returning(
            """
            UPDATE reminders SET last_nonce = ?
            WHERE channel_id = ? AND failed_at IS NULL
                AND (last_nonce IS NULL OR last_nonce <> ?)
            RETURNING member_id
            """,
            (nonce, channel_id, nonce),
        )
        return sorted(int(r[0]) for r in rows)

    async def reminder_failed(self, channel_id: int, member_id: int, now: datetime) -> None:
        await self._write(
            "UPDATE reminders SET failed_at = ? WHERE channel_id = ? AND member_id = ?",
            (_ts(now), channel_id, member_id),
        )

    async def remove_member_reminders(self, guild_id: int, member_id: int) -> int:
        return await self._write(
            "DELETE FROM reminders WHERE guild_id = ? AND member_id = ?", (guild_id, member_id)
        )

    async def take_failed_reminders(self, member_id: int) -> list[int]:
        """Channels whose DM reminder to the member failed and who has not been told yet; they
        count as told from now on."""
        rows = await self._write_returning(
            """
            UPDATE reminders SET told = 1
            WHERE member_id = ? AND failed_at IS NOT NULL AND told = 0
            RETURNING channel_id
            """,
            (member_id,),
        )
        return sorted(int(r[0]) for r in rows)

    async def members_to_tell(self) -> set[int]:
        """Members whose DM reminder failed and who have not been told yet."""
        rows = await self._fetch(
            "SELECT DISTINCT member_id FROM reminders WHERE failed_at IS NOT NULL AND told = 0"
        )
        return {int(r[0]) for r in rows}

    async def reminders_on(self, channel_id: int) -> list[int]:
        rows = await self._fetch(
            """
            SELECT member_id FROM reminders WHERE channel_id = ? AND failed_at IS NULL
            ORDER BY member_id
            """,
            (channel_id,),
        )
        return [int(r[0]) for r in rows]
