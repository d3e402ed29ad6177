"""Discord's numbers, in one place. The double enforces them and tests assert against them, so a
limit changes here and nowhere else. Sources: Discord's developer documentation and discord.py
2.7.1 (``http.py``, ``gateway.py``); see docs/discord-facts.md in the shared docs."""

from __future__ import annotations

from enum import IntEnum, IntFlag

API_VERSION = 10
DISCORD_EPOCH_MS = 1_420_070_400_000

# Messages
MESSAGE_CONTENT_MAX = 2000
NONCE_MAX = 25
# Discord says "within the past few minutes": take the short reading, so that nothing relies
# on more than Discord promises.
NONCE_WINDOW_SECONDS = 120.0
HISTORY_LIMIT_MAX = 100
HISTORY_LIMIT_DEFAULT = 50

# Embeds
EMBEDS_MAX = 10
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_TEXT_MAX = 2048
EMBED_AUTHOR_NAME_MAX = 256
EMBED_TOTAL_MAX = 6000

# Threads
THREAD_NAME_MIN = 1
THREAD_NAME_MAX = 100
AUTO_ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)
DEFAULT_AUTO_ARCHIVE_DURATION = 1440

# Guilds
GUILD_CHANNELS_MAX = 500

# Application commands
COMMAND_NAME_MAX = 32
COMMAND_DESCRIPTION_MAX = 100
COMMAND_OPTIONS_MAX = 25
COMMAND_CHOICES_MAX = 25
AUTOCOMPLETE_CHOICES_MAX = 25
CHOICE_NAME_MAX = 100
CHOICE_STRING_VALUE_MAX = 100
COMMAND_NAME_PATTERN = r"^[-_'\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$"

# Interactions
INTERACTION_DEADLINE_SECONDS = 3.0
INTERACTION_TOKEN_LIFETIME_SECONDS = 15 * 60.0
EPHEMERAL_FLAG = 1 << 6
LOADING_FLAG = 1 << 7
HAS_THREAD_FLAG = 1 << 5
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024

# Message components (buttons and selects in action rows)
CUSTOM_ID_MAX = 100
ACTION_ROWS_MAX = 5
ROW_COMPONENTS_MAX = 5
BUTTON_LABEL_MAX = 80
SELECT_OPTIONS_MAX = 25

# Rate limits
GLOBAL_RATE_LIMIT = 50
GLOBAL_RATE_PERIOD_SECONDS = 1.0
MESSAGE_CREATE_LIMIT = 5
MESSAGE_CREATE_PERIOD_SECONDS = 5.0
INVALID_REQUEST_LIMIT = 10_000
INVALID_REQUEST_PERIOD_SECONDS = 600.0

# Gateway
HEARTBEAT_INTERVAL_MS = 41_250
# A session (shard) may hold at most this many guilds, else IDENTIFY is closed with 4011;
# GET /gateway/bot recommends about one shard per this many guilds.
SHARD_GUILDS_MAX = 2500
GUILDS_PER_RECOMMENDED_SHARD = 1000


class ErrorCode(IntEnum):
    """Discord's JSON error codes (``code`` in an error body)."""

    GENERAL = 0
    UNKNOWN_CHANNEL = 10003
    UNKNOWN_GUILD = 10004
    UNKNOWN_MEMBER = 10007
    UNKNOWN_MESSAGE = 10008
    UNKNOWN_USER = 10013
    UNKNOWN_WEBHOOK = 10015
    UNKNOWN_APPLICATION_COMMAND = 10063
    UNKNOWN_INTERACTION = 10062
    MAX_GUILD_CHANNELS = 30013
    UNAUTHORIZED = 40001
    CANNOT_SEND_IN_FORUM = 40058
    INTERACTION_ALREADY_ACKNOWLEDGED = 40060
    FORUM_TAG_REQUIRED = 40067
    MISSING_ACCESS = 50001
    CANNOT_SEND_TO_USER = 50007
    CANNOT_EDIT_OTHERS_MESSAGE = 50005
    CANNOT_SEND_EMPTY_MESSAGE = 50006
    MISSING_PERMISSIONS = 50013
    INVALID_CHANNEL_TYPE = 50024
    INVALID_WEBHOOK_TOKEN = 50027
    INVALID_FORM_BODY = 50035
    THREAD_ARCHIVED = 50083
    THREAD_ALREADY_CREATED = 160004
    THREAD_LOCKED = 160005


class Permission(IntFlag):
    """Permission bits; member names match ``discord.Permissions`` attribute names."""

    create_instant_invite = 1 << 0
    kick_members = 1 << 1
    ban_members = 1 << 2
    administrator = 1 << 3
    manage_channels = 1 << 4
    manage_guild = 1 << 5
    add_reactions = 1 << 6
    view_audit_log = 1 << 7
    view_channel = 1 << 10
    send_messages = 1 << 11
    send_tts_messages = 1 << 12
    manage_messages = 1 << 13
    embed_links = 1 << 14
    attach_files = 1 << 15
    read_message_history = 1 << 16
    mention_everyone = 1 << 17
    use_external_emojis = 1 << 18
    change_nickname = 1 << 26
    manage_roles = 1 << 28
    manage_webhooks = 1 << 29
    use_application_commands = 1 << 31
    manage_threads = 1 << 34
    create_public_threads = 1 << 35
    create_private_threads = 1 << 36
    send_messages_in_threads = 1 << 38


ALL_PERMISSIONS = (1 << 53) - 1

# What a serial bot needs in a channel, and no more (docs/discord-facts.md).
BOT_PERMISSIONS = (
    Permission.view_channel
    | Permission.send_messages
    | Permission.embed_links
    | Permission.read_message_history
    | Permission.create_public_threads
    | Permission.send_messages_in_threads
)

# What @everyone may do in the default world: read, talk, start threads, use commands; no pings
# of everyone. The bot's effective permissions are then BOT_PERMISSIONS plus using commands.
EVERYONE_PERMISSIONS = BOT_PERMISSIONS | Permission.use_application_commands


class ChannelType(IntEnum):
    text = 0
    dm = 1
    category = 4
    news = 5
    news_thread = 10
    public_thread = 11
    private_thread = 12
    forum = 15


THREAD_TYPES = frozenset(
    {ChannelType.news_thread, ChannelType.public_thread, ChannelType.private_thread}
)


class MessageType(IntEnum):
    default = 0
    thread_created = 18
    chat_input_command = 20
    thread_starter_message = 21


class Intent(IntFlag):
    guilds = 1 << 0
    members = 1 << 1
    guild_messages = 1 << 9
    presences = 1 << 8
    message_content = 1 << 15


PRIVILEGED_INTENTS = Intent.members | Intent.presences | Intent.message_content


class InteractionType(IntEnum):
    ping = 1
    application_command = 2
    component = 3
    autocomplete = 4
    modal_submit = 5


class CallbackType(IntEnum):
    pong = 1
    channel_message = 4
    deferred_channel_message = 5
    deferred_update_message = 6
    update_message = 7
    autocomplete_result = 8
    modal = 9


class OptionType(IntEnum):
    sub_command = 1
    sub_command_group = 2
    string = 3
    integer = 4
    boolean = 5
    user = 6
    channel = 7
    role = 8
    mentionable = 9
    number = 10
    attachment = 11


class GatewayOp(IntEnum):
    dispatch = 0
    heartbeat = 1
    identify = 2
    presence = 3
    voice_state = 4
    resume = 6
    reconnect = 7
    request_members = 8
    invalid_session = 9
    hello = 10
    heartbeat_ack = 11


class CloseCode(IntEnum):
    unknown_error = 4000
    not_authenticated = 4003
    authentication_failed = 4004
    already_authenticated = 4005
    invalid_seq = 4007
    invalid_shard = 4010
    sharding_required = 4011
    disallowed_intents = 4014
