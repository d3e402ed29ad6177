"""What the store keeps, as both databases hand it out: subscriptions, deliveries and votes as
frozen dataclasses, and the dialect-neutral rules for turning rows into them and values into
what is stored (times as fixed-width UTC ISO 8601 text, which sorts as text; cut lists as JSON).
``bot.store`` (SQLite) and ``bot.pgstore`` (PostgreSQL) share all of it."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

from bot.shards import ShardSet

# A row as either driver gives it: by column name (sqlite3.Row, asyncpg.Record).
Row = Mapping[str, Any]

CatchUp = Literal["one", "skip", "all"]
DeliveryState = Literal["pending", "posted"]
Trigger = Literal["schedule", "request"]
VoteEnd = Literal["posted", "lapsed", "ended"]
VoteState = Literal["open", "posted", "lapsed", "ended"]
CATCH_UP_POLICIES: tuple[str, ...] = get_args(CatchUp)


class StoreError(Exception):
    """The database cannot be used (unreadable, not writable, or written by a newer serialbot)."""


class SubscriptionExists(StoreError):
    """The channel already follows a serial that has not finished."""

    def __init__(self, existing: Subscription) -> None:
        super().__init__(f"channel {existing.channel_id} already follows {existing.slug!r}")
        self.existing = existing


def not_pending(delivery_id: int) -> StoreError:
    return StoreError(f"delivery {delivery_id} is not pending")


def moved_on(subscription_id: int, part: int) -> StoreError:
    return StoreError(f"subscription {subscription_id} is no longer at part {part}")


def check_policy(catch_up: str | None) -> None:
    if catch_up is not None and catch_up not in CATCH_UP_POLICIES:
        raise ValueError(f"unknown catch-up policy {catch_up!r}")


def pack_text(text: str) -> bytes:
    """A story revision's text as kept (compressed)."""
    return zlib.compress(text.encode("utf-8"), 6)


def unpack_text(packed: bytes) -> str:
    return zlib.decompress(packed).decode("utf-8")


@dataclass(frozen=True, slots=True)
class Subscription:
    """A channel's serial. ``next_part`` is 1-based; ``position`` is the offset in the story's
    text where ``next_part`` starts, so progress survives edits that renumber the parts.

    ``slot_due`` is the regular schedule slot the next part belongs to; ``next_due`` is when the
    scheduler acts next, which is earlier or later than the slot while catching up or retrying.
    ``run`` changes whenever the channel starts the story again, so repeated parts get new nonces.
    ``part_count`` is how many parts ``revision`` has (``None`` when not known).
    ``cuts``, after an edit, are where the parts the channel received begin in the current text
    and where the rest begins (``None``: the story's own parts). ``catch_up_own`` says an admin
    chose ``catch_up``; otherwise the configured policy applies. ``pause_cause`` is set when the
    bot paused the channel for a cause it can see go away (``"story"``: the file was missing).
    """

    id: int
    guild_id: int
    channel_id: int
    slug: str
    revision: str
    next_part: int
    position: int
    schedule: str
    timezone: str
    next_due: datetime | None
    paused: bool
    pause_reason: str | None
    catch_up: CatchUp
    subscribed_by: int
    created_at: datetime
    updated_at: datetime
    thread_archive_minutes: int | None
    completed_at: datetime | None
    retry_count: int
    slot_due: datetime | None = None
    run: int = 0
    part_count: int | None = None
    cuts: tuple[int, ...] | None = None
    catch_up_own: bool = False
    pause_cause: str | None = None

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One part sent (or being sent) to one channel. A "pending" delivery was recorded before the
    send and not yet confirmed; it is finished with the same ``nonce``. ``attempts`` counts the
    sends begun (1 on the first): from the second on, some of the part may already be posted.
    It does not take part in comparisons, which are about what was delivered."""

    id: int
    channel_id: int
    slug: str
    part: int
    state: DeliveryState
    nonce: str
    message_ids: tuple[int, ...]
    thread_id: int | None
    trigger: Trigger
    posted_at: datetime | None
    subscription_id: int = 0
    created_at: datetime | None = None
    attempts: int = field(default=1, compare=False)


@dataclass(frozen=True, slots=True)
class Vote:
    """A channel's public vote for the next part (``part``), open until ``closes_at``.
    ``message_id`` is the message showing it; ``reposted`` once it had to be posted again;
    ``asked`` how many members had asked when it ended."""

    id: int
    channel_id: int
    guild_id: int
    part: int
    opened_by: int
    opened_at: datetime
    closes_at: datetime
    state: VoteState
    message_id: int | None
    reposted: bool
    asked: int = 0


def _on_shards(shards: ShardSet | None) -> str:
    """An ``AND`` condition keeping the subscriptions of ``shards`` (nothing for all)."""
    return "" if shards is None or shards.everything else f"AND {shards.sql()}"


def _subscription(row: Row) -> Subscription:
    return Subscription(
        id=row["id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        slug=row["slug"],
        revision=row["revision"],
        next_part=row["next_part"],
        position=row["position"],
        schedule=row["schedule"],
        timezone=row["timezone"],
        next_due=_dt_or_none(row["next_due"]),
        paused=bool(row["paused"]),
        pause_reason=row["pause_reason"],
        catch_up=cast(CatchUp, row["catch_up"]),
        subscribed_by=row["subscribed_by"],
        created_at=_dt(row["created_at"]),
        updated_at=_dt(row["updated_at"]),
        thread_archive_minutes=row["thread_archive_minutes"],
        completed_at=_dt_or_none(row["completed_at"]),
        retry_count=row["retry_count"],
        slot_due=_dt_or_none(row["slot_due"]),
        run=row["run"],
        part_count=row["part_count"],
        cuts=_cuts(row["cuts"]),
        catch_up_own=bool(row["catch_up_own"]),
        pause_cause=row["pause_cause"],
    )


# A subscription's columns, in the order ``stored_subscription`` gives their values.
SUBSCRIPTION_COLUMNS: tuple[str, ...] = (
    "id",
    "guild_id",
    "channel_id",
    "slug",
    "revision",
    "next_part",
    "position",
    "schedule",
    "timezone",
    "slot_due",
    "next_due",
    "paused",
    "pause_reason",
    "catch_up",
    "subscribed_by",
    "created_at",
    "updated_at",
    "thread_archive_minutes",
    "completed_at",
    "retry_count",
    "run",
    "part_count",
    "cuts",
    "catch_up_own",
    "pause_cause",
)


def unchanged_condition(param: Callable[[int], str], same: str) -> str:
    """SQL saying "the row is still exactly this subscription", for ``stored_subscription``'s
    values bound from parameter ``param(0)`` on (``id`` first, for the lookup by key; ``same``
    is the dialect's null-safe equality)."""
    columns = (f"{column} {same} {param(i)}" for i, column in enumerate(SUBSCRIPTION_COLUMNS))
    first = next(columns).replace(f" {same} ", " = ")
    return " AND ".join([first, *columns])


def stored_subscription(sub: Subscription) -> tuple[Any, ...]:
    """The subscription's values as both databases keep them, in ``SUBSCRIPTION_COLUMNS``
    order: what a row must hold to be unchanged since ``sub`` was read from it."""
    return (
        sub.id,
        sub.guild_id,
        sub.channel_id,
        sub.slug,
        sub.revision,
        sub.next_part,
        sub.position,
        sub.schedule,
        sub.timezone,
        _ts_or_none(sub.slot_due),
        _ts_or_none(sub.next_due),
        int(sub.paused),
        sub.pause_reason,
        sub.catch_up,
        sub.subscribed_by,
        _ts(sub.created_at),
        _ts(sub.updated_at),
        sub.thread_archive_minutes,
        _ts_or_none(sub.completed_at),
        sub.retry_count,
        sub.run,
        sub.part_count,
        _cuts_json(sub.cuts),
        int(sub.catch_up_own),
        sub.pause_cause,
    )


def _cuts(text: str | None) -> tuple[int, ...] | None:
    return None if text is None else tuple(int(i) for i in json.loads(text))


def _cuts_json(cuts: Sequence[int] | None) -> str | None:
    return None if cuts is None else json.dumps([int(i) for i in cuts])


def _vote(row: Row) -> Vote:
    return Vote(
        id=row["id"],
        channel_id=row["channel_id"],
        guild_id=row["guild_id"],
        part=row["part"],
        opened_by=row["opened_by"],
        opened_at=_dt(row["opened_at"]),
        closes_at=_dt(row["closes_at"]),
        state=cast(VoteState, row["state"]),
        message_id=row["message_id"],
        reposted=bool(row["reposted"]),
        asked=row["asked"],
    )


def _delivery(row: Row) -> Delivery:
    return Delivery(
        id=row["id"],
        channel_id=row["channel_id"],
        slug=row["slug"],
        part=row["part"],
        state=cast(DeliveryState, row["state"]),
        nonce=row["nonce"],
        message_ids=tuple(int(i) for i in json.loads(row["message_ids"])),
        thread_id=row["thread_id"],
        trigger=cast(Trigger, row["triggered_by"]),
        posted_at=_dt_or_none(row["posted_at"]),
        subscription_id=row["subscription_id"],
        created_at=_dt_or_none(row["created_at"]),
        attempts=row["attempts"],
    )


def _ts(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("the store keeps timezone-aware datetimes only")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _ts_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else _ts(moment)


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _dt_or_none(text: str | None) -> datetime | None:
    return None if text is None else _dt(text)
