"""Interactions: what a test injects (``InvokedInteraction``), the INTERACTION_CREATE payload
Discord builds, and the routes the bot answers on (``/interactions/{id}/{token}/callback`` and the
``/webhooks/{application_id}/{token}`` follow-ups, see discord.py ``webhook/async_.py``)."""

# Test-facing waits take a ``timeout`` argument, as asyncio's own waits do.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import ApiError, FormErrors
from .limits import (
    ATTACHMENT_SIZE_LIMIT,
    EPHEMERAL_FLAG,
    INTERACTION_DEADLINE_SECONDS,
    INTERACTION_TOKEN_LIFETIME_SECONDS,
    LOADING_FLAG,
    CallbackType,
    ChannelType,
    ErrorCode,
    InteractionType,
    MessageType,
)
from .state import Message
from .validate import check_autocomplete_choices, check_message_body
from .wire import attachments_for, empty_response, json_response, query_flag, read_body

if TYPE_CHECKING:
    from .server import DiscordDouble

Json = dict[str, Any]

# Which answers Discord accepts for which kind of interaction.
_ALLOWED_CALLBACKS: dict[InteractionType, frozenset[CallbackType]] = {
    InteractionType.ping: frozenset({CallbackType.pong}),
    InteractionType.application_command: frozenset(
        {CallbackType.channel_message, CallbackType.deferred_channel_message, CallbackType.modal}
    ),
    InteractionType.component: frozenset(
        {
            CallbackType.channel_message,
            CallbackType.deferred_channel_message,
            CallbackType.deferred_update_message,
            CallbackType.update_message,
            CallbackType.modal,
        }
    ),
    InteractionType.autocomplete: frozenset({CallbackType.autocomplete_result}),
    InteractionType.modal_submit: frozenset(
        {
            CallbackType.channel_message,
            CallbackType.deferred_channel_message,
            CallbackType.deferred_update_message,
            CallbackType.update_message,
        }
    ),
}


class _Signal:
    """Wakes every waiter when something about an interaction changed."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], Any], timeout: float) -> Any:
        async with asyncio.timeout(timeout):
            while True:
                event = self._event
                result = predicate()
                if result:
                    return result
                await event.wait()


@dataclass(eq=False)
class InvokedInteraction:
    """One interaction a test injected, and everything the bot did with it."""

    id: int
    token: str
    type: InteractionType
    name: str
    guild_id: int | None
    channel_id: int
    user_id: int
    payload: Json
    created: float
    deadline: float
    message_id: int | None = None
    callback_type: CallbackType | None = None
    callback_data: Json | None = None
    acknowledged_at: float | None = None
    original: Message | None = None
    followups: list[Message] = field(default_factory=list)
    choices: list[Json] | None = None
    modal: Json | None = None
    rejected: list[tuple[int, int]] = field(default_factory=list)
    _signal: _Signal = field(default_factory=_Signal, repr=False)

    @property
    def acknowledged(self) -> bool:
        return self.callback_type is not None

    @property
    def deferred(self) -> bool:
        return self.callback_type == CallbackType.deferred_channel_message

    @property
    def ephemeral(self) -> bool:
        return self.original is not None and self.original.ephemeral

    @property
    def latency(self) -> float | None:
        """Seconds from injection to the first accepted answer."""
        return None if self.acknowledged_at is None else self.acknowledged_at - self.created

    @property
    def messages(self) -> list[Message]:
        """What the member sees: the original response (if any) and every follow-up."""
        shown = [self.original] if self.original else []
        # a follow-up that completed a deferral is the original message itself
        return shown + [m for m in self.followups if m is not self.original]

    def notify(self) -> None:
        self._signal.notify()

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        return await self._signal.wait_for(predicate, timeout)

    async def response(self, timeout: float = 5.0) -> CallbackType:
        """The type of the first accepted answer (4 reply, 5 deferred, 8 choices, ...)."""
        return await self.wait_for(lambda: self.callback_type, timeout)

    async def reply(self, timeout: float = 5.0) -> Message:
        """The original response once it has content: an immediate reply, or a deferred one
        after its edit or first follow-up."""

        def ready() -> Message | None:
            original = self.original
            if original is None or original.flags & LOADING_FLAG:
                return None
            return original

        return await self.wait_for(ready, timeout)

    async def followup(self, index: int = 0, timeout: float = 5.0) -> Message:
        return await self.wait_for(
            lambda: self.followups[index] if len(self.followups) > index else None, timeout
        )

    async def autocomplete_choices(self, timeout: float = 5.0) -> list[Json]:
        # An empty list is an answer too.
        await self.wait_for(lambda: self.choices is not None, timeout)
        return self.choices or []

    async def text(self, timeout: float = 5.0) -> str:
        """Everything the member was shown as one string: contents and embed text, in order."""
        await self.reply(timeout)
        parts: list[str] = []
        for message in self.messages:
            parts.append(message.content)
            for embed in message.embeds:
                parts.extend(str(embed.get(key) or "") for key in ("title", "description"))
                for embed_field in embed.get("fields") or []:
                    parts.extend((embed_field.get("name", ""), embed_field.get("value", "")))
                parts.append((embed.get("footer") or {}).get("text", ""))
        return "\n".join(p for p in parts if p)


@contextlib.asynccontextmanager
async def _refusals_recorded(record: InvokedInteraction) -> AsyncIterator[None]:
    """Keep every refused answer on the record, so a test sees why the bot's reply is missing."""
    try:
        yield
    except ApiError as error:
        record.rejected.append((error.status, error.code))
        record.notify()
        raise


class InteractionRoutes:
    """Callback and follow-up endpoints; records every interaction by id and token."""

    def __init__(self, double: DiscordDouble) -> None:
        self.double = double
        self.by_id: dict[int, InvokedInteraction] = {}
        self.by_token: dict[str, InvokedInteraction] = {}
        self.deadline = INTERACTION_DEADLINE_SECONDS
        self.token_lifetime = INTERACTION_TOKEN_LIFETIME_SECONDS

    def routes(self) -> list[web.RouteDef]:
        base = "/interactions/{interaction_id}/{token}/callback"
        hook = "/webhooks/{application_id}/{token}"
        return [
            web.post(base, self.callback),
            web.post(hook, self.execute),
            web.get(hook + "/messages/{message_id}", self.get_message),
            web.patch(hook + "/messages/{message_id}", self.edit_message),
            web.delete(hook + "/messages/{message_id}", self.delete_message),
        ]

    # building what Discord sends

    def create(
        self,
        *,
        type: InteractionType,
        name: str,
        data: Json,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        member_permissions: int | None,
        message: Message | None = None,
    ) -> InvokedInteraction:
        world = self.double.world
        interaction_id = world.new_id()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        channel = world.channels.get(channel_id)
        payload: Json = {
            "id": str(interaction_id),
            "application_id": str(world.application_id),
            "type": int(type),
            "data": data,
            "token": token,
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        user = world.users[user_id]
        if guild_id is not None and channel is not None:
            guild = world.guild(guild_id)
            perms = (
                world.permissions(user_id, channel_id)
                if member_permissions is None
                else member_permissions
            )
            member = world.member_payload(guild.members[user_id]) | {"permissions": str(perms)}
            payload.update(
                guild_id=str(guild_id),
                guild={"id": str(guild_id), "locale": "en-US", "features": []},
                guild_locale="en-US",
                channel_id=str(channel_id),
                channel=world.channel_payload(channel),
                member=member,
                app_permissions=str(world.bot_permissions(channel_id)),
                authorizing_integration_owners={"0": str(guild_id)},
                context=0,
            )
        else:
            payload.update(
                channel_id=str(channel_id),
                channel={
                    "id": str(channel_id),
                    "type": int(ChannelType.dm),
                    "recipients": [user.to_dict()],
                },
                user=user.to_dict(),
                app_permissions="0",
                authorizing_integration_owners={"0": str(world.application_id)},
                context=1,
            )
        if message is not None:
            payload["message"] = world.message_payload(message)
        now = time.monotonic()
        record = InvokedInteraction(
            id=interaction_id,
            token=token,
            type=type,
            name=name,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            payload=payload,
            created=now,
            deadline=now + self.deadline,
            message_id=message.id if message else None,
        )
        self.by_id[interaction_id] = record
        self.by_token[token] = record
        return record

    def _metadata(self, record: InvokedInteraction) -> Json:
        owners = {"0": str(record.guild_id or self.double.world.application_id)}
        return {
            "id": str(record.id),
            "type": int(record.type),
            "name": record.name,
            "user": self.double.world.users[record.user_id].to_dict(),
            "authorizing_integration_owners": owners,
        }

    async def _new_message(
        self,
        record: InvokedInteraction,
        body: Json,
        *,
        loading: bool = False,
        attachments: list[Json] | None = None,
    ) -> Message:
        double = self.double
        channel = double.world.channels.get(record.channel_id)
        if channel is None:
            raise ApiError(ErrorCode.UNKNOWN_CHANNEL)
        flags = int(body.get("flags") or 0)
        if loading:
            flags |= LOADING_FLAG
        ephemeral = bool(flags & EPHEMERAL_FLAG)
        return await double.actions.create_message(
            channel,
            double.world.bot.id,
            body,
            type=MessageType.chat_input_command,
            attachments=attachments or [],
            ephemeral=ephemeral,
            webhook_id=double.world.application_id,
            interaction=self._metadata(record),
            flags=flags,
        )

    # the callback

    async def callback(self, request: web.Request) -> web.StreamResponse:
        record = self.by_id.get(int(request.match_info["interaction_id"]))
        if record is None or record.token != request.match_info["token"]:
            raise ApiError(ErrorCode.UNKNOWN_INTERACTION)
        async with _refusals_recorded(record):
            return await self._callback(record, request)

    async def _callback(
        self, record: InvokedInteraction, request: web.Request
    ) -> web.StreamResponse:
        if record.callback_type is not None:
            raise ApiError(ErrorCode.INTERACTION_ALREADY_ACKNOWLEDGED)
        if time.monotonic() > record.deadline:
            raise ApiError(ErrorCode.UNKNOWN_INTERACTION)
        body = await read_body(request)
        try:
            kind = CallbackType(int(body.payload.get("type", 0)))
        except ValueError:
            kind = None
        if kind is None or kind not in _ALLOWED_CALLBACKS[record.type]:
            errors = FormErrors()
            errors.add(
                "type", "INTERACTION_CALLBACK_TYPE_INVALID", "Invalid interaction callback type"
            )
            errors.raise_if_any()
        assert kind is not None
        data: Json = body.payload.get("data") or {}
        message: Message | None = None
        if kind == CallbackType.channel_message:
            check_message_body(data, files=len(body.files), prefix="data.")
            message = await self._new_message(
                record, data, attachments=attachments_for(body, self.double.world.new_id)
            )
            record.original = message
        elif kind == CallbackType.deferred_channel_message:
            message = await self._new_message(record, {"flags": data.get("flags", 0)}, loading=True)
            record.original = message
        elif kind == CallbackType.update_message:
            check_message_body(data, files=len(body.files), prefix="data.")
            message = self._component_message(record)
            await self.double.actions.edit_message(message, data)
            record.original = message
        elif kind == CallbackType.deferred_update_message:
            record.original = self._component_message(record)
        elif kind == CallbackType.autocomplete_result:
            check_autocomplete_choices(data)
            record.choices = list(data.get("choices") or [])
        elif kind == CallbackType.modal:
            record.modal = data
        record.callback_type = kind
        record.callback_data = data
        record.acknowledged_at = time.monotonic()
        record.notify()
        if not query_flag(request, "with_response"):
            return empty_response()
        answer: Json = {"interaction": {"id": str(record.id), "type": int(record.type)}}
        resource: Json = {"type": int(kind)}
        if message is not None:
            answer["interaction"].update(
                response_message_id=str(message.id),
                response_message_loading=bool(message.flags & LOADING_FLAG),
                response_message_ephemeral=message.ephemeral,
            )
            resource["message"] = self.double.world.message_payload(message)
        answer["resource"] = resource
        return json_response(answer)

    def _component_message(self, record: InvokedInteraction) -> Message:
        message = self.double.world.messages.get(record.message_id or 0)
        if message is None:
            raise ApiError(ErrorCode.UNKNOWN_MESSAGE)
        return message

    # follow-ups

    def _by_token(self, request: web.Request) -> InvokedInteraction:
        record = self.by_token.get(request.match_info["token"])
        application_id = request.match_info["application_id"]
        if record is None or application_id != str(self.double.world.application_id):
            raise ApiError(ErrorCode.UNKNOWN_WEBHOOK)
        if time.monotonic() > record.created + self.token_lifetime:
            raise ApiError(ErrorCode.INVALID_WEBHOOK_TOKEN)
        return record

    def _message(self, record: InvokedInteraction, message_id: str) -> Message:
        if message_id == "@original":
            if record.original is None:
                raise ApiError(ErrorCode.UNKNOWN_MESSAGE)
            return record.original
        for message in record.messages:
            if str(message.id) == message_id:
                return message
        raise ApiError(ErrorCode.UNKNOWN_MESSAGE)

    async def execute(self, request: web.Request) -> web.StreamResponse:
        record = self._by_token(request)
        async with _refusals_recorded(record):
            return await self._execute(record, request)

    async def _execute(
        self, record: InvokedInteraction, request: web.Request
    ) -> web.StreamResponse:
        if not record.acknowledged:
            # a follow-up needs an answered interaction: the webhook exists only from then on
            raise ApiError(ErrorCode.UNKNOWN_WEBHOOK)
        body = await read_body(request)
        check_message_body(body.payload, files=len(body.files))
        attachments = attachments_for(body, self.double.world.new_id)
        original = record.original
        if (
            original is not None
            and original.flags & LOADING_FLAG
            and not record.followups
            and record.deferred
        ):
            # the first follow-up after a deferral replaces the "thinking..." message
            update = dict(body.payload)
            if attachments:
                update["attachments"] = attachments
            message = await self._resolve_loading(original, update)
        else:
            message = await self._new_message(record, body.payload, attachments=attachments)
        record.followups.append(message)
        record.notify()
        if not query_flag(request, "wait"):
            return empty_response()
        return json_response(self.double.world.message_payload(message))

    async def _resolve_loading(self, message: Message, body: Json) -> Message:
        message.flags &= ~LOADING_FLAG
        body.pop("flags", None)
        await self.double.actions.edit_message(message, body, mark_edited=False)
        return message

    async def get_message(self, request: web.Request) -> web.StreamResponse:
        record = self._by_token(request)
        async with _refusals_recorded(record):
            return await self._get_message(record, request)

    async def _get_message(
        self, record: InvokedInteraction, request: web.Request
    ) -> web.StreamResponse:
        message = self._message(record, request.match_info["message_id"])
        return json_response(self.double.world.message_payload(message))

    async def edit_message(self, request: web.Request) -> web.StreamResponse:
        record = self._by_token(request)
        async with _refusals_recorded(record):
            return await self._edit_message(record, request)

    async def _edit_message(
        self, record: InvokedInteraction, request: web.Request
    ) -> web.StreamResponse:
        message = self._message(record, request.match_info["message_id"])
        body = await read_body(request)
        check_message_body(body.payload, files=len(body.files), edit=True)
        update = dict(body.payload)
        attachments = attachments_for(body, self.double.world.new_id)
        if attachments:
            update["attachments"] = attachments
        update.pop("flags", None)
        if message.flags & LOADING_FLAG:
            await self._resolve_loading(message, update)
        else:
            await self.double.actions.edit_message(message, update)
        record.notify()
        return json_response(self.double.world.message_payload(message))

    async def delete_message(self, request: web.Request) -> web.StreamResponse:
        record = self._by_token(request)
        async with _refusals_recorded(record):
            return await self._delete_message(record, request)

    async def _delete_message(
        self, record: InvokedInteraction, request: web.Request
    ) -> web.StreamResponse:
        message = self._message(record, request.match_info["message_id"])
        await self.double.actions.delete_message(message)
        if message is record.original:
            record.original = None
        elif message in record.followups:
            record.followups.remove(message)
        record.notify()
        return empty_response()
