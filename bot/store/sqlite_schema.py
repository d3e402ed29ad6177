"""The SQLite schema: numbered migrations tracked in ``PRAGMA user_version`` (a database
written by a newer serialbot is refused), and the temporary objects each connection makes."""

from __future__ import annotations

from bot.uploads_db import SQLITE_MIGRATION

# Entry N takes the schema from version N to N + 1 and ends by recording N + 1 (PRAGMA takes no
# parameters, hence the literal).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            guild_id INTEGER NOT NULL,
            channel_id INTEGER NOT NULL UNIQUE,
            slug TEXT NOT NULL,
            revision TEXT NOT NULL,
            next_part INTEGER NOT NULL CHECK (next_part >= 1),
            position INTEGER NOT NULL CHECK (position >= 0),
            schedule TEXT NOT NULL,
            timezone TEXT NOT NULL,
            slot_due TEXT,
            next_due TEXT,
            paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
            pause_reason TEXT,
            catch_up TEXT NOT NULL CHECK (catch_up IN ('one', 'skip', 'all')),
            subscribed_by INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            thread_archive_minutes INTEGER,
            completed_at TEXT,
            retry_count INTEGER NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
            run INTEGER NOT NULL DEFAULT 0
        )
        """,
        # Only subscriptions that can come due are indexed, so the due query reads due rows only.
        """
        CREATE INDEX subscriptions_due ON subscriptions (next_due, id)
        WHERE paused = 0 AND completed_at IS NULL
        """,
        "CREATE INDEX subscriptions_guild ON subscriptions (guild_id)",
        """
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
            channel_id INTEGER NOT NULL,
            slug TEXT NOT NULL,
            part INTEGER NOT NULL CHECK (part >= 1),
            state TEXT NOT NULL CHECK (state IN ('pending', 'posted')),
            nonce TEXT NOT NULL,
            message_ids TEXT NOT NULL DEFAULT '[]',
            thread_id INTEGER,
            triggered_by TEXT NOT NULL CHECK (triggered_by IN ('schedule', 'request')),
            created_at TEXT NOT NULL,
            posted_at TEXT,
            UNIQUE (channel_id, slug, part)
        )
        """,
        "CREATE INDEX deliveries_subscription ON deliveries (subscription_id)",
        "CREATE INDEX deliveries_pending ON deliveries (id) WHERE state = 'pending'",
        """
        CREATE INDEX deliveries_requested ON deliveries (channel_id, posted_at)
        WHERE triggered_by = 'request' AND state = 'posted'
        """,
        """
        CREATE TABLE next_requests (
            channel_id INTEGER NOT NULL,
            member_id INTEGER NOT NULL,
            requested_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, member_id)
        ) WITHOUT ROWID
        """,
        "PRAGMA user_version = 1",
    ),
    (
        # How many times a part was attempted: a second attempt may find the first one's
        # messages already in the channel. Rows from before count as one attempt made.
        "ALTER TABLE deliveries ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1",
        # The part count of the revision the channel follows, to tell admins when an edit
        # changes it. NULL for subscriptions made before it was kept.
        "ALTER TABLE subscriptions ADD COLUMN part_count INTEGER",
        "PRAGMA user_version = 2",
    ),
    (
        # The text of each story revision a channel follows, so that after an edit the old text
        # can be aligned with the new one. Kept compressed; dropped once no channel follows it.
        """
        CREATE TABLE story_texts (
            slug TEXT NOT NULL,
            revision TEXT NOT NULL,
            text BLOB NOT NULL,
            saved_at TEXT NOT NULL,
            PRIMARY KEY (slug, revision)
        )
        """,
        # After an edit: where the parts the channel received begin in the current text, then
        # where the rest (cut anew) begins, as a JSON list. NULL: the story's own parts.
        "ALTER TABLE subscriptions ADD COLUMN cuts TEXT",
        # 1 when an admin chose the channel's catch-up policy; 0 follows the configuration.
        # Channels from before only ever had the configured value copied in: they follow it.
        "ALTER TABLE subscriptions ADD COLUMN catch_up_own INTEGER NOT NULL DEFAULT 0",
        # Why the bot itself paused the channel, when it can tell the cause has gone ('story':
        # the story file was missing). NULL for a pause only an admin can end.
        "ALTER TABLE subscriptions ADD COLUMN pause_cause TEXT",
        "PRAGMA user_version = 3",
    ),
    (
        # Reading together. A vote is the public "next part now" message of a channel; the
        # requests themselves stay in next_requests. At most one vote per channel is open.
        """
        CREATE TABLE votes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            channel_id INTEGER NOT NULL,
            guild_id INTEGER NOT NULL,
            part INTEGER NOT NULL,
            opened_by INTEGER NOT NULL,
            opened_at TEXT NOT NULL,
            closes_at TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'open'
                CHECK (state IN ('open', 'posted', 'lapsed', 'ended')),
            message_id INTEGER,
            reposted INTEGER NOT NULL DEFAULT 0 CHECK (reposted IN (0, 1)),
            asked INTEGER NOT NULL DEFAULT 0
        )
        """,
        "CREATE UNIQUE INDEX votes_open ON votes (channel_id) WHERE state = 'open'",
        # Buttons name a delivery by its nonce: a receipt belongs to that delivery and goes with
        # it (a jump, a restart or an unsubscribe forgets the delivery).
        "CREATE INDEX deliveries_nonce ON deliveries (nonce)",
        """
        CREATE TABLE read_receipts (
            delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
            member_id INTEGER NOT NULL,
            read_at TEXT NOT NULL,
            PRIMARY KEY (delivery_id, member_id)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX read_receipts_member ON read_receipts (member_id)",
        # The message that opens a part's discussion thread, edited as members read the part.
        """
        CREATE TABLE thread_openers (
            delivery_id INTEGER PRIMARY KEY REFERENCES deliveries (id) ON DELETE CASCADE,
            thread_id INTEGER NOT NULL,
            message_id INTEGER NOT NULL
        )
        """,
        # A member's DM reminders for a channel. ``last_nonce`` is the delivery last reminded
        # of (once per part); ``failed_at`` stops reminders after Discord refused a DM, and
        # ``told`` records that the member heard about it.
        """
        CREATE TABLE reminders (
            channel_id INTEGER NOT NULL,
            member_id INTEGER NOT NULL,
            guild_id INTEGER NOT NULL,
            since TEXT NOT NULL,
            last_nonce TEXT,
            failed_at TEXT,
            told INTEGER NOT NULL DEFAULT 0 CHECK (told IN (0, 1)),
            PRIMARY KEY (channel_id, member_id)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX reminders_member ON reminders (member_id)",
        "PRAGMA user_version = 4",
    ),
    # The servers' own uploaded stories (bot/uploads_db.py).
    SQLITE_MIGRATION,
)
SCHEMA_VERSION = len(MIGRATIONS)

# Recording a part posted changes two tables together. As a transaction that is four trips to
# the database thread (BEGIN, two statements, COMMIT); as one INSERT into this view, whose
# trigger makes both changes or neither (a statement is atomic), it is one. Temporary objects
# belong to the connection, not to the file: they are made at each opening, no migration.
PART_POSTED = (
    """
    CREATE TEMP VIEW part_posted (
        delivery_id, message_ids, thread_id, posted_at, subscription_id, part, next_part,
        position, slot_due, next_due
    ) AS SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL WHERE 0
    """,
    """
    CREATE TEMP TRIGGER part_posted_insert INSTEAD OF INSERT ON part_posted
    BEGIN
        SELECT raise(ABORT, 'delivery not pending') WHERE NOT EXISTS (
            SELECT 1 FROM deliveries WHERE id = NEW.delivery_id AND state = 'pending'
        );
        SELECT raise(ABORT, 'subscription moved') WHERE NOT EXISTS (
            SELECT 1 FROM subscriptions WHERE id = NEW.subscription_id AND next_part = NEW.part
        );
        UPDATE deliveries SET state = 'posted', message_ids = NEW.message_ids,
            thread_id = NEW.thread_id, posted_at = NEW.posted_at
        WHERE id = NEW.delivery_id;
        UPDATE subscriptions SET next_part = NEW.next_part, position = NEW.position,
            slot_due = NEW.slot_due, next_due = NEW.next_due, retry_count = 0,
            updated_at = NEW.posted_at
        WHERE id = NEW.subscription_id;
    END
    """,
)


def newer_schema_message(where: object, version: int, latest: int) -> str:
    """What is said of a database written by a newer serialbot (never touched by this one)."""
    return (
        f"{where} has schema version {version}, but this serialbot understands versions up to "
        f"{latest}. Upgrade serialbot, or point it at another database file."
    )
