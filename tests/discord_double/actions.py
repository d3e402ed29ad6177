"""What happens in Discord when something changes: the world is updated and the gateway tells the
sessions that should hear of it. REST handlers and test controls both go through here."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError
from .gateway import Gateway
from .limits import (
    HAS_THREAD_FLAG,
    NONCE_WINDOW_SECONDS,
    ChannelType,
    Intent,
    MessageType,
    Permission,
)
from .state import Channel, Guild, Message, Overwrite, World
from .validate import resolve_mentions

log = logging.getLogger(__name__)

Json = dict[str, Any]


@dataclass
class _NonceEntry:
    message_id: int
    at: float


class Actions:
    def __init__(self, world: World, gateway: Gateway) -> None:
        self.world = world
        self.gateway = gateway
        self._nonces: dict[tuple[int, str], _NonceEntry] = {}
        self.nonce_window = NONCE_WINDOW_SECONDS

    # messages

    def find_by_nonce(self, author_id: int, nonce: str) -> Message | None:
        """The message this author already created with this nonce inside the window, if any."""
        entry = self._nonces.get((author_id, nonce))
        if entry is None or self.world.now() - entry.at > self.nonce_window:
            return None
        return self.world.messages.get(entry.message_id)

    async def create_message(
        self,
        channel: Channel,
        author_id: int,
        body: Json,
        *,
        message_id: int | None = None,
        type: MessageType = MessageType.default,
        attachments: Iterable[Json] = (),
        ephemeral: bool = False,
        webhook_id: int | None = None,
        interaction: Json | None = None,
        flags: int | None = None,
        enforce_nonce: bool = False,
        reference: Json | None = None,
    ) -> Message:
        world = self.world
        content = body.get("content") or ""
        allowed = body.get("allowed_mentions")
        everyone, users, roles = resolve_mentions(
            world,
            guild_id=channel.guild_id,
            author_id=author_id,
            channel_id=channel.id,
            content=content,
            allowed=allowed,
        )
        nonce = body.get("nonce")
        message = Message(
            id=message_id or world.new_id(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author_id,
            content=content,
            created_at=world.now(),
            type=type,
            embeds=list(body.get("embeds") or []),
            attachments=list(attachments),
            components=list(body.get("components") or []),
            flags=int(body.get("flags") or 0) if flags is None else flags,
            tts=bool(body.get("tts")),
            nonce=str(nonce) if nonce is not None else None,
            allowed_mentions=allowed,
            mention_everyone=everyone,
            mentions=users,
            mention_roles=roles,
            webhook_id=webhook_id,
            application_id=world.application_id if webhook_id else None,
            interaction=interaction,
            message_reference=reference,
            ephemeral=ephemeral,
        )
        world.messages[message.id] = message
        if ephemeral:
            return message
        if enforce_nonce and message.nonce is not None:
            self._nonces[(author_id, message.nonce)] = _NonceEntry(message.id, world.now())
        if channel.is_thread:
            # discord.py reads ``position`` as the message's index in the thread
            message.position = channel.total_message_sent
            channel.message_count += 1
            channel.total_message_sent += 1
            if channel.archived and not channel.locked:
                channel.archived = False
                await self.thread_updated(channel)
        world.channel_messages[channel.id].append(message)
        channel.last_message_id = message.id
        await self.dispatch_message("MESSAGE_CREATE", message)
        return message

    async def dispatch_message(self, event: str, message: Message) -> None:
        channel = self.world.channels.get(message.channel_id)
        if channel is None or not self._bot_sees(channel):
            return
        data = self.world.message_payload(message, gateway=True)
        if not self._content_visible(message):
            data.update(content="", embeds=[], attachments=[], components=[])
        await self.gateway.dispatch(
            event, data, guild_id=message.guild_id, intent=Intent.guild_messages
        )

    def _content_visible(self, message: Message) -> bool:
        """Without the message-content intent a bot sees content only of its own messages and of
        messages that mention it (Discord's rules for the privileged intent)."""
        if self.gateway.approved_intents & Intent.message_content:
            return True
        return message.author_id == self.world.bot.id or self.world.bot.id in message.mentions

    def redact(self, message: Message, data: Json) -> Json:
        if not self._content_visible(message):
            data.update(content="", embeds=[], attachments=[], components=[])
        return data

    async def edit_message(
        self, message: Message, body: Json, *, mark_edited: bool = True
    ) -> Message:
        for key in ("content", "embeds", "components", "attachments"):
            if key in body and body[key] is not None:
                setattr(message, key, body[key] if key != "content" else body[key] or "")
        if "flags" in body and body["flags"] is not None:
            message.flags = int(body["flags"])
        if "allowed_mentions" in body:
            message.allowed_mentions = body["allowed_mentions"]
        everyone, users, roles = resolve_mentions(
            self.world,
            guild_id=message.guild_id,
            author_id=message.author_id,
            channel_id=message.channel_id,
            content=message.content,
            allowed=message.allowed_mentions,
        )
        message.mention_everyone, message.mentions, message.mention_roles = everyone, users, roles
        if mark_edited:
            message.edited_at = self.world.now()
        if not message.ephemeral:
            await self.dispatch_message("MESSAGE_UPDATE", message)
        return message

    async def delete_message(self, message: Message) -> None:
        self.world.messages.pop(message.id, None)
        listing = self.world.channel_messages.get(message.channel_id)
        if listing is not None and message in listing:
            listing.remove(message)
            channel = self.world.channels.get(message.channel_id)
            if channel is not None and channel.is_thread:
                channel.message_count = max(0, channel.message_count - 1)
        if message.ephemeral:
            return
        data = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        await self.gateway.dispatch(
            "MESSAGE_DELETE", data, guild_id=message.guild_id, intent=Intent.guild_messages
        )

    # threads

    async def create_thread(
        self,
        parent: Channel,
        *,
        name: str,
        type: ChannelType,
        auto_archive_duration: int,
        starter: Message | None = None,
        thread_id: int | None = None,
        applied_tags: Iterable[int] = (),
    ) -> Channel:
        world = self.world
        thread = world.add_thread(
            parent,
            thread_id=thread_id or (starter.id if starter else world.new_id()),
            name=name,
            type=type,
            owner_id=world.bot.id,
            auto_archive_duration=auto_archive_duration,
            applied_tags=applied_tags,
        )
        if starter is not None and starter.channel_id == parent.id:
            starter.thread_id = thread.id
            starter.flags |= HAS_THREAD_FLAG
        await self.gateway.dispatch(
            "THREAD_CREATE",
            world.thread_payload(thread, newly_created=True),
            guild_id=thread.guild_id,
        )
        if starter is not None and starter.channel_id == parent.id:
            await self.dispatch_message("MESSAGE_UPDATE", starter)
        return thread

    async def thread_updated(self, thread: Channel) -> None:
        await self.gateway.dispatch(
            "THREAD_UPDATE", self.world.thread_payload(thread), guild_id=thread.guild_id
        )

    # channels, roles, guilds

    async def channel_created(self, channel: Channel) -> None:
        await self.gateway.dispatch(
            "CHANNEL_CREATE", self.world.channel_payload(channel), guild_id=channel.guild_id
        )

    async def delete_channel(self, channel_id: int) -> None:
        channel = self.world.channel(channel_id)
        payload = self.world.channel_payload(channel)
        removed = self.world.remove_channel(channel_id)
        if channel.is_thread:
            await self.gateway.dispatch(
                "THREAD_DELETE",
                {
                    "id": str(channel.id),
                    "guild_id": str(channel.guild_id),
                    "parent_id": str(channel.parent_id),
                    "type": int(channel.type),
                },
                guild_id=channel.guild_id,
            )
            return
        await self.gateway.dispatch("CHANNEL_DELETE", payload, guild_id=channel.guild_id)
        log.debug("deleted channel %s and %s thread(s)", channel_id, len(removed) - 1)

    async def set_overwrite(self, channel: Channel, overwrite: Overwrite) -> None:
        if overwrite.allow == 0 and overwrite.deny == 0:
            channel.overwrites.pop(overwrite.id, None)
        else:
            channel.overwrites[overwrite.id] = overwrite
        await self.gateway.dispatch(
            "CHANNEL_UPDATE", self.world.channel_payload(channel), guild_id=channel.guild_id
        )

    async def role_updated(self, guild: Guild, role_id: int) -> None:
        await self.gateway.dispatch(
            "GUILD_ROLE_UPDATE",
            {"guild_id": str(guild.id), "role": guild.roles[role_id].to_dict()},
            guild_id=guild.id,
        )

    async def guild_joined(self, guild: Guild) -> None:
        guild.bot_present = True
        guild.joined_at = self.world.now()
        await self.gateway.guild_create(guild)

    async def remove_bot(self, guild: Guild) -> None:
        guild.bot_present = False
        await self.gateway.dispatch("GUILD_DELETE", {"id": str(guild.id)}, guild_id=guild.id)

    def _bot_sees(self, channel: Channel) -> bool:
        guild = self.world.guilds.get(channel.guild_id)
        if guild is None or not guild.bot_present:
            return False
        try:
            return bool(self.world.bot_permissions(channel.id) & Permission.view_channel)
        except ApiError:
            return False
