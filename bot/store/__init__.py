"""Everything the bot keeps between runs, in one SQLite file: subscriptions (one per channel, with
its progress and timing), deliveries (one row per part sent to a channel) and "next" requests.

All SQL lives in this package (and in ``bot.pgstore`` for PostgreSQL). Callers get frozen
dataclasses and call named methods; every change that touches more than one row is made whole or
not at all. One module per job: ``records`` (the dataclasses and the rules both dialects share),
``sqlite_schema`` (numbered migrations tracked in ``PRAGMA user_version``; a database written by
a newer serialbot is refused), ``sqlite_base`` (connections, and how a call reaches them), then
the methods: ``sqlite_subscriptions``, ``sqlite_deliveries``, ``sqlite_together``.

Times are stored as ISO 8601 text in UTC with a fixed width, so they sort as text and the due
index can answer "what is due now" without looking at anything else.
"""

from __future__ import annotations

from bot.store.records import (
    CATCH_UP_POLICIES,
    SUBSCRIPTION_COLUMNS,
    CatchUp,
    Delivery,
    DeliveryState,
    StoreError,
    Subscription,
    SubscriptionExists,
    Trigger,
    Vote,
    VoteEnd,
    VoteState,
    stored_subscription,
)
from bot.store.sqlite_base import FILE_MODE, FOLDER_MODE
from bot.store.sqlite_schema import SCHEMA_VERSION, newer_schema_message
from bot.store.sqlite_together import SqliteTogether

__all__ = [
    "CATCH_UP_POLICIES",
    "FILE_MODE",
    "FOLDER_MODE",
    "SCHEMA_VERSION",
    "SUBSCRIPTION_COLUMNS",
    "CatchUp",
    "Delivery",
    "DeliveryState",
    "Store",
    "StoreError",
    "Subscription",
    "SubscriptionExists",
    "Trigger",
    "Vote",
    "VoteEnd",
    "VoteState",
    "newer_schema_message",
    "stored_subscription",
]


class Store(SqliteTogether):
    """The bot's SQLite database. Open with ``await Store.open(path)``."""
