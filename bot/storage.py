"""What the scheduler and the Discord layer need of a store, and opening the configured one: the
SQLite file (one process, the default) or a PostgreSQL server (``database: postgresql://…``,
several processes sharing the work). Both implement ``SerialStore`` and pass the same tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.store import StoreError

if TYPE_CHECKING:
    from bot.config import Config
    from bot.shards import ShardSet
    from bot.store import CatchUp, Delivery, Subscription, Trigger
    from bot.uploads_pg import PostgresUploads
    from bot.uploads_sqlite import SqliteUploads

    Uploads = SqliteUploads | PostgresUploads

__all__ = ["SerialStore", "StoreUnavailable", "describe_database", "open_store"]


class StoreUnavailable(StoreError):
    """The database server cannot be reached just now; trying again later may work."""


class SerialStore(Protocol):
    """The store's methods the rest of the bot calls (``bot.store.Store`` and
    ``bot.pgstore.PostgresStore``)."""

    write_problem: str | None

    async def close(self) -> None: ...
    async def schema_version(self) -> int: ...
    def uploads(self) -> Uploads: ...

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
    ) -> Subscription: ...
    async def subscription(self, channel_id: int) -> Subscription | None: ...
    async def delete_subscription(self, channel_id: int) -> Subscription | None: ...
    async def pause(
        self, channel_id: int, reason: str, now: datetime, *, cause: str | None = None
    ) -> Subscription | None: ...
    async def pause_guild(self, guild_id: int, reason: str, now: datetime) -> int: ...
    async def resume(
        self,
        channel_id: int,
        *,
        slot_due: datetime | None,
        next_due: datetime | None,
        now: datetime,
    ) -> Subscription | None: ...
    async def set_schedule(
        self,
        channel_id: int,
        *,
        schedule: str,
        timezone: str,
        slot_due: datetime,
        next_due: datetime | None,
        now: datetime,
    ) -> Subscription | None: ...
    async def set_catch_up(
        self, channel_id: int, catch_up: CatchUp | None, now: datetime
    ) -> Subscription | None: ...
    async def set_due(
        self,
        subscription_id: int,
        *,
        slot_due: datetime | None,
        next_due: datetime | None,
        now: datetime,
    ) -> Subscription | None: ...
    async def schedule_retry(
        self, subscription_id: int, *, retry_count: int, next_due: datetime, now: datetime
    ) -> Subscription | None: ...
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
    ) -> Subscription | None: ...
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
    ) -> Subscription | None: ...
    async def unfinished(self, *, shards: ShardSet | None = None) -> list[Subscription]: ...
    async def save_text(self, slug: str, revision: str, text: str, now: datetime) -> bool: ...
    async def story_text(self, slug: str, revision: str) -> str | None: ...
    async def forget_texts(self) -> int: ...
    async def mark_completed(self, subscription_id: int, now: datetime) -> Subscription | None: ...

    async def due(
        self,
        now: datetime,
        limit: int,
        *,
        after: tuple[datetime, int] | None = None,
        shards: ShardSet | None = None,
    ) -> list[Subscription]: ...
    async def next_due_after(
        self, now: datetime, *, shards: ShardSet | None = None
    ) -> datetime | None: ...

    async def begin_delivery(
        self,
        subscription: Subscription,
        *,
        part: int,
        nonce: str,
        trigger: Trigger,
        now: datetime,
    ) -> Delivery | None: ...
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
    ) -> Subscription: ...
    async def pending_deliveries(self, *, shards: ShardSet | None = None) -> list[Delivery]: ...
    async def delivery(self, channel_id: int, part: int) -> Delivery | None: ...
    async def last_request_post(self, channel_id: int) -> datetime | None: ...

    async def add_vote(
        self, channel_id: int, member_id: int, *, now: datetime, since: datetime
    ) -> int: ...
    async def clear_votes(self, channel_id: int) -> None: ...


async def open_store(config: Config) -> SerialStore:
    """The configured database, opened and migrated. Raises ``StoreError`` saying why not."""
    if config.database_url is not None:
        from bot.pgstore import PostgresStore

        return await PostgresStore.open(config.database_url)
    from bot.store import Store

    return await Store.open(config.database)


def describe_database(config: Config) -> str:
    """Where the data is, for messages (a PostgreSQL URL without its password)."""
    if config.database_url is not None:
        from bot.pgstore import redact

        return redact(config.database_url)
    return str(config.database)
