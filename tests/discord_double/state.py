"""The double's world: users, guilds, roles, members, channels, threads and messages, Discord's
permission arithmetic, and the JSON shapes discord.py reads (``types/*.py`` in discord.py)."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import ApiError
from .limits import (
    ALL_PERMISSIONS,
    BOT_PERMISSIONS,
    DEFAULT_AUTO_ARCHIVE_DURATION,
    DISCORD_EPOCH_MS,
    EVERYONE_PERMISSIONS,
    GUILD_CHANNELS_MAX,
    THREAD_TYPES,
    ChannelType,
    ErrorCode,
    MessageType,
    Permission,
)

Json = dict[str, Any]

# Sending is the gate for these: without Send Messages they are implicitly denied (Discord's
# permission docs; discord.py's GuildChannel.permissions_for does the same).
_NEEDS_SEND = (
    Permission.send_tts_messages
    | Permission.mention_everyone
    | Permission.embed_links
    | Permission.attach_files
)


# What either side may do in a DM.
_DM_PERMISSIONS = int(
    Permission.view_channel
    | Permission.send_messages
    | Permission.embed_links
    | Permission.attach_files
    | Permission.read_message_history
    | Permission.add_reactions
)


def _id(snowflake: int | None) -> str | None:
    return str(snowflake) if snowflake else None


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def snowflake_time(snowflake: int) -> float:
    return ((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000.0


def permission_bits(value: int | str | Permission | Any) -> int:
    """An int, a ``Permission``, a name (``"send_messages"``) or a ``discord.Permissions``."""
    if isinstance(value, str):
        return int(Permission[value])
    if isinstance(value, int):
        return int(value)
    return int(value.value)


@dataclass
class User:
    id: int
    username: str
    bot: bool = False

    def to_dict(self) -> Json:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": None if self.bot else self.username.title(),
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
        }


@dataclass
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    mentionable: bool = False
    bot_id: int | None = None

    def to_dict(self) -> Json:
        data: Json = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class Overwrite:
    id: int
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0

    def to_dict(self) -> Json:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass
class Member:
    user_id: int
    guild_id: int
    roles: list[int]
    joined_at: float
    nick: str | None = None


@dataclass
class Channel:
    """A guild channel or a thread (``type`` in THREAD_TYPES; then ``parent_id`` is its channel)."""

    id: int
    guild_id: int | None  # None for a DM channel
    type: ChannelType
    name: str
    position: int = 0
    parent_id: int | None = None
    nsfw: bool = False
    topic: str | None = None
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    default_auto_archive_duration: int = DEFAULT_AUTO_ARCHIVE_DURATION
    flags: int = 0
    available_tags: list[Json] = field(default_factory=list)
    last_message_id: int | None = None
    # thread fields
    owner_id: int | None = None
    auto_archive_duration: int = DEFAULT_AUTO_ARCHIVE_DURATION
    archived: bool = False
    locked: bool = False
    created_at: float = 0.0
    archive_timestamp: float = 0.0
    message_count: int = 0
    total_message_sent: int = 0
    applied_tags: list[int] = field(default_factory=list)
    starter_message_id: int | None = None

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES


@dataclass
class Message:
    """A message as the double stored it; tests read these through ``DiscordDouble.messages``."""

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str
    created_at: float
    type: MessageType = MessageType.default
    embeds: list[Json] = field(default_factory=list)
    attachments: list[Json] = field(default_factory=list)
    components: list[Json] = field(default_factory=list)
    flags: int = 0
    tts: bool = False
    nonce: str | None = None
    allowed_mentions: Json | None = None
    mention_everyone: bool = False
    mentions: list[int] = field(default_factory=list)
    mention_roles: list[int] = field(default_factory=list)
    edited_at: float | None = None
    position: int | None = None
    thread_id: int | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    interaction: Json | None = None
    message_reference: Json | None = None
    ephemeral: bool = False

    @property
    def would_ping(self) -> bool:
        """True when Discord would notify someone: @everyone/@here, a user or a role."""
        return self.mention_everyone or bool(self.mentions) or bool(self.mention_roles)


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    joined_at: float
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    system_channel_id: int | None = None
    bot_present: bool = True

    @property
    def everyone_role(self) -> Role:
        return self.roles[self.id]


def fake_token(bot_id: int) -> str:
    """Shaped like a real bot token: the first part is the base64 of the bot's user id."""
    head = base64.b64encode(str(bot_id).encode()).decode().rstrip("=")
    return f"{head}.double.not-a-secret"


class World:
    """Everything the double knows. Only the double's own code mutates it."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._last_id = 0
        self._increment = itertools.count()
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.channel_messages: dict[int, list[Message]] = {}
        self.deleted_channels: set[int] = set()
        self.bot = self.add_user("serialbot", bot=True)
        self.application_id = self.bot.id
        self.token = fake_token(self.bot.id)

    # ids and time

    def now(self) -> float:
        return self.clock()

    def new_id(self, *, own_millisecond: bool = False) -> int:
        """A snowflake after every earlier one. ``own_millisecond`` gives it a timestamp no
        earlier id has: guilds made in one burst then fall on consecutive shards, as guilds made
        at different times do on Discord, rather than all on one."""
        ms = int(self.now() * 1000) - DISCORD_EPOCH_MS
        if own_millisecond:
            ms = max(ms, (self._last_id >> 22) + 1)
        candidate = (ms << 22) | (1 << 17) | (next(self._increment) & 0xFFF)
        self._last_id = max(candidate, self._last_id + 1)
        return self._last_id

    # building the world

    def add_user(self, username: str, *, bot: bool = False) -> User:
        user = User(id=self.new_id(), username=username, bot=bot)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str, *, owner_name: str = "owner") -> Guild:
        owner = self.add_user(f"{owner_name}-{len(self.guilds) + 1}")
        guild = Guild(
            id=self.new_id(own_millisecond=True), name=name, owner_id=owner.id, joined_at=self.now()
        )
        self.guilds[guild.id] = guild
        guild.roles[guild.id] = Role(guild.id, guild.id, "@everyone", int(EVERYONE_PERMISSIONS))
        bot_role = Role(
            self.new_id(),
            guild.id,
            self.bot.username,
            int(BOT_PERMISSIONS),
            position=1,
            managed=True,
            bot_id=self.bot.id,
        )
        guild.roles[bot_role.id] = bot_role
        self.add_member(guild.id, owner.id)
        self.add_member(guild.id, self.bot.id, roles=[bot_role.id])
        return guild

    def add_role(
        self, guild_id: int, name: str, permissions: int, *, mentionable: bool = False
    ) -> Role:
        guild = self.guild(guild_id)
        role = Role(
            self.new_id(),
            guild_id,
            name,
            int(permissions),
            position=len(guild.roles),
            mentionable=mentionable,
        )
        guild.roles[role.id] = role
        return role

    def add_member(self, guild_id: int, user_id: int, *, roles: Iterable[int] = ()) -> Member:
        guild = self.guild(guild_id)
        member = Member(user_id, guild_id, list(roles), joined_at=self.now())
        guild.members[user_id] = member
        return member

    def add_channel(
        self,
        guild_id: int,
        name: str,
        type: ChannelType = ChannelType.text,
        *,
        nsfw: bool = False,
        topic: str | None = None,
        parent_id: int | None = None,
        overwrites: Iterable[Overwrite] = (),
        flags: int = 0,
        available_tags: Iterable[str] = (),
    ) -> Channel:
        guild = self.guild(guild_id)
        if len(guild.channel_ids) >= GUILD_CHANNELS_MAX:
            raise ApiError(ErrorCode.MAX_GUILD_CHANNELS)
        channel = Channel(
            id=self.new_id(),
            guild_id=guild_id,
            type=ChannelType(type),
            name=name,
            position=len(guild.channel_ids),
            parent_id=parent_id,
            nsfw=nsfw,
            topic=topic,
            overwrites={o.id: o for o in overwrites},
            flags=flags,
            created_at=self.now(),
        )
        channel.available_tags = [
            {
                "id": str(self.new_id()),
                "name": tag,
                "moderated": False,
                "emoji_id": None,
                "emoji_name": None,
            }
            for tag in available_tags
        ]
        self.channels[channel.id] = channel
        self.channel_messages[channel.id] = []
        guild.channel_ids.append(channel.id)
        return channel

    def add_thread(
        self,
        parent: Channel,
        *,
        thread_id: int,
        name: str,
        type: ChannelType,
        owner_id: int,
        auto_archive_duration: int,
        applied_tags: Iterable[int] = (),
    ) -> Channel:
        thread = Channel(
            id=thread_id,
            guild_id=parent.guild_id,
            type=type,
            name=name,
            parent_id=parent.id,
            owner_id=owner_id,
            auto_archive_duration=auto_archive_duration,
            created_at=self.now(),
            archive_timestamp=self.now(),
            applied_tags=list(applied_tags),
        )
        self.channels[thread.id] = thread
        self.channel_messages[thread.id] = []
        return thread

    def dm_channel(self, user_id: int) -> Channel:
        """The bot's DM channel with a user, opened on first use."""
        for channel in self.channels.values():
            if channel.type == ChannelType.dm and channel.owner_id == user_id:
                return channel
        channel = Channel(
            id=self.new_id(), guild_id=None, type=ChannelType.dm, name="", owner_id=user_id
        )
        self.channels[channel.id] = channel
        self.channel_messages[channel.id] = []
        return channel

    def remove_channel(self, channel_id: int) -> list[Channel]:
        """Remove a channel and its threads; returns what was removed, the channel first."""
        channel = self.channels.pop(channel_id)
        removed = [channel]
        self.deleted_channels.add(channel_id)
        guild = self.guilds.get(channel.guild_id)
        if guild is not None and channel_id in guild.channel_ids:
            guild.channel_ids.remove(channel_id)
        for thread in [c for c in self.channels.values() if c.parent_id == channel_id]:
            removed.extend(self.remove_channel(thread.id))
        return removed

    # lookups that answer as Discord does

    def guild(self, guild_id: int) -> Guild:
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise ApiError(ErrorCode.UNKNOWN_GUILD) from None

    def channel(self, channel_id: int) -> Channel:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise ApiError(ErrorCode.UNKNOWN_CHANNEL) from None

    def message(self, channel_id: int, message_id: int) -> Message:
        message = self.messages.get(message_id)
        if message is None or message.channel_id != channel_id or message.ephemeral:
            raise ApiError(ErrorCode.UNKNOWN_MESSAGE)
        return message

    def threads_of(self, parent_id: int) -> list[Channel]:
        return [c for c in self.channels.values() if c.parent_id == parent_id and c.is_thread]

    # permissions (Discord's documented algorithm)

    def base_permissions(self, guild: Guild, user_id: int) -> int:
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        member = guild.members.get(user_id)
        if member is None:
            return 0
        perms = guild.everyone_role.permissions
        for role_id in member.roles:
            role = guild.roles.get(role_id)
            if role is not None:
                perms |= role.permissions
        if perms & Permission.administrator:
            return ALL_PERMISSIONS
        return perms

    def permissions(self, user_id: int, channel_id: int) -> int:
        """The user's permissions in a channel or thread, overwrites and implicit rules applied."""
        channel = self.channel(channel_id)
        if channel.is_thread and channel.parent_id is not None:
            channel = self.channel(channel.parent_id)
        if channel.guild_id is None:
            return _DM_PERMISSIONS
        guild = self.guild(channel.guild_id)
        base = self.base_permissions(guild, user_id)
        if base & Permission.administrator or base == ALL_PERMISSIONS:
            return ALL_PERMISSIONS
        perms = base
        everyone = channel.overwrites.get(guild.id)
        if everyone is not None:
            perms = (perms & ~everyone.deny) | everyone.allow
        member = guild.members.get(user_id)
        roles = member.roles if member else []
        allow = deny = 0
        for role_id in roles:
            overwrite = channel.overwrites.get(role_id)
            if overwrite is not None and overwrite.type == 0:
                allow |= overwrite.allow
                deny |= overwrite.deny
        perms = (perms & ~deny) | allow
        own = channel.overwrites.get(user_id)
        if own is not None and own.type == 1:
            perms = (perms & ~own.deny) | own.allow
        if not perms & Permission.view_channel:
            return 0
        if not perms & Permission.send_messages:
            perms &= ~_NEEDS_SEND
        return perms

    def bot_permissions(self, channel_id: int) -> int:
        return self.permissions(self.bot.id, channel_id)

    def require_access(self, channel: Channel) -> None:
        """403 50001 unless the bot is in the guild and can see the channel."""
        if channel.guild_id is None:
            return
        guild = self.guilds.get(channel.guild_id)
        if guild is None or not guild.bot_present:
            raise ApiError(ErrorCode.MISSING_ACCESS)
        if not self.bot_permissions(channel.id) & Permission.view_channel:
            raise ApiError(ErrorCode.MISSING_ACCESS)

    def require(self, channel: Channel, *needed: int) -> None:
        self.require_access(channel)
        perms = self.bot_permissions(channel.id)
        for bits in needed:
            if perms & bits != bits:
                raise ApiError(ErrorCode.MISSING_PERMISSIONS)

    # JSON shapes

    def role_payload(self, role: Role) -> Json:
        return role.to_dict()

    def member_payload(self, member: Member, *, with_user: bool = True) -> Json:
        data: Json = {
            "roles": [str(r) for r in member.roles],
            "nick": member.nick,
            "avatar": None,
            "banner": None,
            "joined_at": iso(member.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.users[member.user_id].to_dict()
        return data

    def channel_payload(self, channel: Channel) -> Json:
        if channel.is_thread:
            return self.thread_payload(channel)
        if channel.guild_id is None:
            recipient = self.users[channel.owner_id or 0]
            return {
                "id": str(channel.id),
                "type": int(ChannelType.dm),
                "last_message_id": _id(channel.last_message_id),
                "recipients": [recipient.to_dict()],
                "flags": 0,
            }
        data: Json = {
            "id": str(channel.id),
            "guild_id": str(channel.guild_id),
            "type": int(channel.type),
            "name": channel.name,
            "position": channel.position,
            "parent_id": _id(channel.parent_id),
            "permission_overwrites": [o.to_dict() for o in channel.overwrites.values()],
            "nsfw": channel.nsfw,
            "flags": channel.flags,
        }
        if channel.type != ChannelType.category:
            data.update(
                topic=channel.topic,
                rate_limit_per_user=0,
                last_message_id=_id(channel.last_message_id),
                default_auto_archive_duration=channel.default_auto_archive_duration,
                default_thread_rate_limit_per_user=0,
            )
        if channel.type == ChannelType.forum:
            data.update(
                available_tags=channel.available_tags,
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
            )
        return data

    def thread_payload(self, thread: Channel, *, newly_created: bool = False) -> Json:
        data: Json = {
            "id": str(thread.id),
            "guild_id": str(thread.guild_id),
            "parent_id": str(thread.parent_id),
            "owner_id": str(thread.owner_id),
            "name": thread.name,
            "type": int(thread.type),
            "last_message_id": _id(thread.last_message_id),
            "message_count": thread.message_count,
            "member_count": 1,
            "total_message_sent": thread.total_message_sent,
            "rate_limit_per_user": 0,
            "flags": 0,
            "applied_tags": [str(t) for t in thread.applied_tags],
            "thread_metadata": {
                "archived": thread.archived,
                "auto_archive_duration": thread.auto_archive_duration,
                "archive_timestamp": iso(thread.archive_timestamp),
                "locked": thread.locked,
                "create_timestamp": iso(thread.created_at),
            },
        }
        if thread.owner_id == self.bot.id:
            data["member"] = {
                "id": str(thread.id),
                "user_id": str(self.bot.id),
                "join_timestamp": iso(thread.created_at),
                "flags": 0,
            }
        if newly_created:
            data["newly_created"] = True
        return data

    def guild_payload(self, guild: Guild, *, all_members: bool = False) -> Json:
        members = [m for m in guild.members.values() if all_members or m.user_id == self.bot.id]
        visible_threads = [
            c
            for c in self.channels.values()
            if c.guild_id == guild.id
            and c.is_thread
            and not c.archived
            and c.parent_id in self.channels
            and self.bot_permissions(c.id) & Permission.view_channel
        ]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "roles": [r.to_dict() for r in guild.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": _id(guild.system_channel_id),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "joined_at": iso(guild.joined_at),
            "large": False,
            "lazy": True,
            "member_count": len(guild.members),
            "voice_states": [],
            "members": [self.member_payload(m) for m in members],
            "channels": [self.channel_payload(self.channels[c]) for c in guild.channel_ids],
            "threads": [self.thread_payload(t) for t in visible_threads],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def message_payload(self, message: Message, *, gateway: bool = False) -> Json:
        author = self.users[message.author_id]
        data: Json = {
            "id": str(message.id),
            "channel_id": str(message.channel_id),
            "author": author.to_dict(),
            "content": message.content,
            "timestamp": iso(message.created_at),
            "edited_timestamp": iso(message.edited_at) if message.edited_at else None,
            "tts": message.tts,
            "mention_everyone": message.mention_everyone,
            "mentions": [self.users[u].to_dict() for u in message.mentions if u in self.users],
            "mention_roles": [str(r) for r in message.mention_roles],
            "attachments": message.attachments,
            "embeds": message.embeds,
            "pinned": False,
            "type": int(message.type),
            "flags": message.flags,
            "components": message.components,
        }
        if message.nonce is not None:
            data["nonce"] = message.nonce
        if message.position is not None:
            data["position"] = message.position
        if message.webhook_id is not None:
            data["webhook_id"] = str(message.webhook_id)
        if message.application_id is not None:
            data["application_id"] = str(message.application_id)
        if message.interaction is not None:
            data["interaction_metadata"] = message.interaction
        if message.message_reference is not None:
            data["message_reference"] = message.message_reference
        if message.thread_id is not None and message.thread_id in self.channels:
            data["thread"] = self.thread_payload(self.channels[message.thread_id])
        if gateway and message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
            guild = self.guilds.get(message.guild_id)
            member = guild.members.get(message.author_id) if guild else None
            if member is not None and message.webhook_id is None:
                data["member"] = self.member_payload(member, with_user=False)
        return data
