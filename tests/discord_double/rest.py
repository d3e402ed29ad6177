"""REST routes under ``/api/v10``: users, gateway discovery, channels, messages, threads, forum
posts, guild reads and application commands, behind one middleware that logs every request, applies
pauses, authentication, rate limits and injected failures (discord.py ``http.py`` is the client)."""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import ApiError, FormErrors
from .limits import (
    API_VERSION,
    AUTO_ARCHIVE_DURATIONS,
    HISTORY_LIMIT_DEFAULT,
    HISTORY_LIMIT_MAX,
    THREAD_NAME_MAX,
    THREAD_NAME_MIN,
    ChannelType,
    ErrorCode,
    MessageType,
    Permission,
)
from .state import Channel, Guild, Message, World
from .validate import check_message_body
from .wire import Body, attachments_for, empty_response, error_response, json_response, read_body

if TYPE_CHECKING:
    from .server import DiscordDouble

log = logging.getLogger(__name__)

Json = dict[str, Any]

API_PREFIX = f"/api/v{API_VERSION}"
# Forum channel flag: posts must carry a tag.
_REQUIRE_TAG = 1 << 4
# routes authorised by an interaction token, outside the bot's global limit
TOKEN_ROUTES = ("/interactions/", "/webhooks/")
# the parsed request body, kept for the request log
BODY: web.RequestKey[Any] = web.RequestKey("body", object)


@dataclass
class RequestRecord:
    """One request as the double saw it; ``path`` is relative to ``/api/v10``."""

    method: str
    path: str
    query: dict[str, str]
    at: float
    route: str = ""
    status: int = 0
    code: int | None = None
    duration: float = 0.0
    body: Json | None = None
    is_global: bool = False
    banned: bool = False


@dataclass
class FailureRule:
    method: str
    pattern: re.Pattern[str]
    remaining: int
    status: int
    code: int | None
    commit: bool
    hits: int = 0
    retry_after: float | None = None
    is_global: bool = False


@dataclass
class FailureBook:
    rules: list[FailureRule] = field(default_factory=list)

    def take(self, method: str, path: str) -> FailureRule | None:
        for rule in self.rules:
            if rule.remaining > 0 and rule.method in (method, "*") and rule.pattern.search(path):
                rule.remaining -= 1
                rule.hits += 1
                return rule
        return None


def _reason(status: int) -> str:
    return {
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
        524: "A timeout occurred",
    }.get(status, "Error")


def _snowflake(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        errors = FormErrors()
        errors.add("id", "NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')
        errors.raise_if_any()
        raise AssertionError("unreachable") from None


def _check_thread_fields(payload: Json, default_duration: int, prefix: str = "") -> tuple[str, int]:
    errors = FormErrors()
    name = payload.get("name")
    errors.bad_length(
        f"{prefix}name", name if isinstance(name, str) else None, THREAD_NAME_MIN, THREAD_NAME_MAX
    )
    duration = payload.get("auto_archive_duration")
    if duration is None:
        duration = default_duration
    if duration not in AUTO_ARCHIVE_DURATIONS:
        errors.add(
            f"{prefix}auto_archive_duration",
            "BASE_TYPE_CHOICES",
            f"Value must be one of {set(AUTO_ARCHIVE_DURATIONS)}.",
        )
    errors.raise_if_any()
    return str(name), int(duration)


class RestApi:
    def __init__(self, double: DiscordDouble) -> None:
        self.double = double
        self.failures = FailureBook()

    @property
    def world(self) -> World:
        return self.double.world

    # plumbing

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        path = request.path
        if not path.startswith(API_PREFIX):
            return await handler(request)
        double = self.double
        record = RequestRecord(
            request.method, path[len(API_PREFIX) :], dict(request.query), time.monotonic()
        )
        double.requests.append(record)
        ban = double.ban_gate.current()
        if ban is not None:
            # An IP ban answers everything, interaction callbacks included.
            response: web.StreamResponse = double.ban_gate.response(ban)
            record.banned = True
        else:
            response = await self._process(request, handler, record)
        record.status = response.status
        record.duration = time.monotonic() - record.at
        record.body = request.get(BODY)
        # what Discord counts towards its invalid-request ban (shared-scope 429s excepted)
        shared = response.headers.get("X-RateLimit-Scope") == "shared"
        if response.status in (401, 403, 429) and not shared:
            double.invalid_requests.append(record.at)
            if not record.banned:
                double.ban_gate.note_invalid(record.at)
        return response

    async def _process(
        self, request: web.Request, handler: Any, record: RequestRecord
    ) -> web.StreamResponse:
        double = self.double
        while (delay := double.paused_until - time.monotonic()) > 0:
            await asyncio.sleep(delay)

        resource = request.match_info.route.resource
        template = resource.canonical[len(API_PREFIX) :] if resource else record.path
        record.route = f"{request.method} {template}"
        info = request.match_info
        token_route = record.path.startswith(TOKEN_ROUTES)

        if not token_route and request.headers.get("Authorization") != f"Bot {double.world.token}":
            record.code = 0
            return json_response({"message": "401: Unauthorized", "code": 0}, status=401)

        headers: dict[str, str] = {}
        if not token_route:
            major = info.get("channel_id") or info.get("guild_id") or ""
            verdict = double.limiter.check(record.route, major)
            headers = verdict.headers
            if not verdict.allowed:
                record.is_global = verdict.is_global
                body = {
                    "message": "You are being rate limited.",
                    "retry_after": round(verdict.retry_after, 3),
                    "global": verdict.is_global,
                }
                return json_response(body, status=429, headers=headers)

        rule = self.failures.take(request.method, record.path)
        if rule is not None and not rule.commit:
            return self._failure(rule, record, headers)
        try:
            response = await handler(request)
        except ApiError as error:
            record.code = error.code
            return error_response(error, headers=headers)
        except ConnectionResetError:
            # the client went away (a bot killed while its request waited): aiohttp drops it
            raise
        except Exception as error:
            # a bug in the double must not pass for a Discord 500 that discord.py quietly retries
            log.exception("the double failed on %s %s", request.method, record.path)
            double.internal_errors.append(error)
            body = {"message": f"double failed: {error!r}", "code": 0}
            return json_response(body, status=400, headers=headers)
        if rule is not None:
            return self._failure(rule, record, headers)
        response.headers.update(headers)
        return response

    def _failure(
        self, rule: FailureRule, record: RequestRecord, headers: dict[str, str]
    ) -> web.Response:
        code = rule.code if rule.code is not None else 0
        record.code = code
        body: Json = {"message": f"{rule.status}: {_reason(rule.status)}", "code": code}
        if rule.status == 429:
            # Discord's own 429: what discord.py needs to wait and try again.
            retry = rule.retry_after if rule.retry_after is not None else 1.0
            body = {"message": "You are being rate limited.", "retry_after": retry}
            body["global"] = rule.is_global
            record.is_global = rule.is_global
            headers = headers | {
                "Retry-After": str(max(1, math.ceil(retry))),
                "X-RateLimit-Scope": "global" if rule.is_global else "user",
            }
            if rule.is_global:
                headers["X-RateLimit-Global"] = "true"
        return json_response(body, status=rule.status, headers=headers)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/users/@me", self.get_me),
            web.get("/users/{user_id}", self.get_user),
            web.delete("/users/@me/guilds/{guild_id}", self.leave_guild),
            web.get("/oauth2/applications/@me", self.get_application),
            web.get("/applications/@me", self.get_application),
            web.get("/gateway", self.get_gateway),
            web.get("/gateway/bot", self.get_gateway_bot),
            web.get("/channels/{channel_id}", self.get_channel),
            web.get("/channels/{channel_id}/messages", self.get_messages),
            web.post("/channels/{channel_id}/messages", self.create_message),
            web.get("/channels/{channel_id}/messages/{message_id}", self.get_message),
            web.patch("/channels/{channel_id}/messages/{message_id}", self.edit_message),
            web.delete("/channels/{channel_id}/messages/{message_id}", self.delete_message),
            web.post(
                "/channels/{channel_id}/messages/{message_id}/threads", self.thread_from_message
            ),
            web.post("/channels/{channel_id}/threads", self.create_thread),
            web.post("/channels/{channel_id}/typing", self.typing),
            web.put("/channels/{channel_id}/thread-members/@me", self.join_thread),
            web.get("/guilds/{guild_id}", self.get_guild),
            web.get("/guilds/{guild_id}/channels", self.get_guild_channels),
            web.get("/guilds/{guild_id}/roles", self.get_roles),
            web.get("/guilds/{guild_id}/members/{user_id}", self.get_member),
            web.get("/guilds/{guild_id}/threads/active", self.get_active_threads),
            web.get("/applications/{application_id}/commands", self.get_commands),
            web.put("/applications/{application_id}/commands", self.put_commands),
            web.get("/applications/{application_id}/guilds/{guild_id}/commands", self.get_commands),
            web.put("/applications/{application_id}/guilds/{guild_id}/commands", self.put_commands),
        ]

    async def not_found(self, request: web.Request) -> web.StreamResponse:
        return json_response({"message": "404: Not Found", "code": 0}, status=404)

    async def _body(self, request: web.Request) -> Body:
        body = await read_body(request)
        request[BODY] = body.payload
        return body

    def _channel(self, request: web.Request) -> Channel:
        channel = self.world.channel(_snowflake(request.match_info["channel_id"]))
        self.world.require_access(channel)
        return channel

    def _guild(self, request: web.Request) -> Guild:
        guild = self.world.guild(_snowflake(request.match_info["guild_id"]))
        if not guild.bot_present:
            raise ApiError(ErrorCode.MISSING_ACCESS)
        return guild

    # users, application, gateway

    async def get_me(self, request: web.Request) -> web.StreamResponse:
        user = self.world.bot.to_dict() | {
            "verified": True,
            "mfa_enabled": False,
            "locale": "en-US",
        }
        return json_response(user)

    async def get_user(self, request: web.Request) -> web.StreamResponse:
        user = self.world.users.get(_snowflake(request.match_info["user_id"]))
        if user is None:
            raise ApiError(ErrorCode.UNKNOWN_USER)
        return json_response(user.to_dict())

    async def leave_guild(self, request: web.Request) -> web.StreamResponse:
        guild = self._guild(request)
        await self.double.actions.remove_bot(guild)
        return empty_response()

    async def get_application(self, request: web.Request) -> web.StreamResponse:
        world = self.world
        # the application belongs to whoever owns the first guild (or to itself in an empty world)
        first = next(iter(world.guilds.values()), None)
        owner = world.users[first.owner_id] if first else world.bot
        return json_response(
            {
                "id": str(world.application_id),
                "name": world.bot.username,
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": owner.to_dict(),
                "verify_key": "0" * 64,
                "team": None,
                "flags": 0,
                "summary": "",
                "bot": world.bot.to_dict(),
                "approximate_guild_count": sum(g.bot_present for g in world.guilds.values()),
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "tags": [],
            }
        )

    async def get_gateway(self, request: web.Request) -> web.StreamResponse:
        return json_response({"url": str(self.double.gateway_url)})

    async def get_gateway_bot(self, request: web.Request) -> web.StreamResponse:
        return json_response(
            {
                "url": str(self.double.gateway_url),
                "shards": self.double.shard_recommendation,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000 - self.double.gateway.identifies,
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    # channels and messages

    async def get_channel(self, request: web.Request) -> web.StreamResponse:
        return json_response(self.world.channel_payload(self._channel(request)))

    def _require_send(self, channel: Channel, payload: Json, files: int) -> None:
        world = self.world
        if channel.type == ChannelType.dm:
            self.double.direct.require_deliverable(channel)
            return
        if channel.type == ChannelType.forum:
            raise ApiError(ErrorCode.CANNOT_SEND_IN_FORUM)
        if channel.type not in (ChannelType.text, ChannelType.news) and not channel.is_thread:
            raise ApiError(50008, "Cannot send messages in a non-text channel")
        if channel.is_thread:
            world.require(channel, Permission.send_messages_in_threads)
            moderator = bool(world.bot_permissions(channel.id) & Permission.manage_threads)
            if channel.locked and not moderator:
                # an archived thread reopens on send, unless it is also locked
                raise ApiError(
                    ErrorCode.THREAD_ARCHIVED if channel.archived else ErrorCode.THREAD_LOCKED
                )
        else:
            world.require(channel, Permission.send_messages)
        if payload.get("embeds"):
            world.require(channel, Permission.embed_links)
        if files:
            world.require(channel, Permission.attach_files)

    async def create_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        body = await self._body(request)
        payload = body.payload
        self._require_send(channel, payload, len(body.files))
        check_message_body(payload, files=len(body.files))
        actions = self.double.actions
        nonce = payload.get("nonce")
        enforce = bool(payload.get("enforce_nonce")) and nonce is not None
        if enforce:
            existing = actions.find_by_nonce(self.world.bot.id, str(nonce))
            if existing is not None:
                self.double.nonce_hits += 1
                return json_response(self.world.message_payload(existing))
        reference = payload.get("message_reference")
        if reference is not None and reference.get("message_id"):
            target = self.world.messages.get(int(reference["message_id"]))
            if target is None and reference.get("fail_if_not_exists", True):
                errors = FormErrors()
                errors.add(
                    "message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                )
                errors.raise_if_any()
        message = await actions.create_message(
            channel,
            self.world.bot.id,
            payload,
            attachments=attachments_for(body, self.world.new_id),
            enforce_nonce=enforce,
            reference=reference,
        )
        return json_response(self.world.message_payload(message))

    async def get_messages(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        query = request.query
        try:
            limit = int(query.get("limit", HISTORY_LIMIT_DEFAULT))
        except ValueError:
            limit = -1
        if not 1 <= limit <= HISTORY_LIMIT_MAX:
            errors = FormErrors()
            errors.add(
                "limit",
                "NUMBER_TYPE_MAX",
                f"int value should be between 1 and {HISTORY_LIMIT_MAX}.",
            )
            errors.raise_if_any()
        if not self.world.bot_permissions(channel.id) & Permission.read_message_history:
            return json_response([])
        listing = self.world.channel_messages.get(channel.id, [])
        if "around" in query:
            pivot = int(query["around"])
            older = [m for m in listing if m.id < pivot][-(limit // 2) :] if limit > 1 else []
            newer = [m for m in listing if m.id >= pivot][: limit - len(older)]
            chosen = older + newer
        elif "after" in query:
            after = int(query["after"])
            chosen = [m for m in listing if m.id > after][:limit]
        else:
            before = int(query["before"]) if "before" in query else None
            eligible = [m for m in listing if before is None or m.id < before]
            chosen = eligible[-limit:]
        actions = self.double.actions
        return json_response(
            [actions.redact(m, self.world.message_payload(m)) for m in reversed(chosen)]
        )

    def _message(self, request: web.Request, channel: Channel) -> Message:
        return self.world.message(channel.id, _snowflake(request.match_info["message_id"]))

    async def get_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        self.world.require(channel, Permission.read_message_history)
        message = self._message(request, channel)
        return json_response(
            self.double.actions.redact(message, self.world.message_payload(message))
        )

    async def edit_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        message = self._message(request, channel)
        if message.author_id != self.world.bot.id:
            raise ApiError(ErrorCode.CANNOT_EDIT_OTHERS_MESSAGE)
        body = await self._body(request)
        check_message_body(body.payload, files=len(body.files), edit=True)
        if body.payload.get("embeds"):
            self.world.require(channel, Permission.embed_links)
        await self.double.actions.edit_message(message, body.payload)
        return json_response(self.world.message_payload(message))

    async def delete_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        message = self._message(request, channel)
        if message.author_id != self.world.bot.id:
            self.world.require(channel, Permission.manage_messages)
        await self.double.actions.delete_message(message)
        return empty_response()

    async def typing(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        needed = (
            Permission.send_messages_in_threads if channel.is_thread else Permission.send_messages
        )
        self.world.require(channel, needed)
        return empty_response()

    # threads and forum posts

    async def thread_from_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        if channel.type not in (ChannelType.text, ChannelType.news):
            raise ApiError(ErrorCode.INVALID_CHANNEL_TYPE)
        message = self._message(request, channel)
        body = await self._body(request)
        name, duration = _check_thread_fields(body.payload, channel.default_auto_archive_duration)
        self.world.require(channel, Permission.create_public_threads)
        if message.thread_id is not None and message.thread_id in self.world.channels:
            raise ApiError(ErrorCode.THREAD_ALREADY_CREATED)
        kind = (
            ChannelType.news_thread
            if channel.type == ChannelType.news
            else ChannelType.public_thread
        )
        thread = await self.double.actions.create_thread(
            channel, name=name, type=kind, auto_archive_duration=duration, starter=message
        )
        return json_response(self.world.thread_payload(thread))

    async def create_thread(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        body = await self._body(request)
        if channel.type == ChannelType.forum:
            return await self._forum_post(channel, body)
        if channel.type not in (ChannelType.text, ChannelType.news):
            raise ApiError(ErrorCode.INVALID_CHANNEL_TYPE)
        payload = body.payload
        name, duration = _check_thread_fields(payload, channel.default_auto_archive_duration)
        default = (
            ChannelType.news_thread
            if channel.type == ChannelType.news
            else ChannelType.private_thread
        )
        try:
            kind = ChannelType(int(payload.get("type", default)))
        except ValueError:
            kind = None
        allowed = (
            {ChannelType.news_thread}
            if channel.type == ChannelType.news
            else {ChannelType.public_thread, ChannelType.private_thread}
        )
        if kind not in allowed:
            errors = FormErrors()
            errors.add(
                "type", "BASE_TYPE_CHOICES", "Value must be a valid thread type for this channel."
            )
            errors.raise_if_any()
        assert kind is not None
        needed = (
            Permission.create_private_threads
            if kind == ChannelType.private_thread
            else Permission.create_public_threads
        )
        self.world.require(channel, needed)
        actions = self.double.actions
        thread = await actions.create_thread(
            channel, name=name, type=kind, auto_archive_duration=duration
        )
        if kind != ChannelType.private_thread:
            # Discord announces a public thread without a starter message in its channel
            await actions.create_message(
                channel,
                self.world.bot.id,
                {"content": name},
                type=MessageType.thread_created,
                reference={"channel_id": str(thread.id), "guild_id": str(channel.guild_id)},
            )
        return json_response(self.world.thread_payload(thread))

    async def _forum_post(self, forum: Channel, body: Body) -> web.StreamResponse:
        payload = body.payload
        name, duration = _check_thread_fields(payload, forum.default_auto_archive_duration)
        message_body: Json = payload.get("message") or {}
        self.world.require(forum, Permission.send_messages)
        check_message_body(message_body, files=len(body.files), prefix="message.")
        if message_body.get("embeds"):
            self.world.require(forum, Permission.embed_links)
        if body.files:
            self.world.require(forum, Permission.attach_files)
        tags = [int(t) for t in payload.get("applied_tags") or []]
        known_tags = {int(t["id"]) for t in forum.available_tags}
        if forum.flags & _REQUIRE_TAG and not tags:
            raise ApiError(ErrorCode.FORUM_TAG_REQUIRED)
        if any(t not in known_tags for t in tags):
            errors = FormErrors()
            errors.add("applied_tags", "BASE_TYPE_CHOICES", "Unknown tag")
            errors.raise_if_any()
        actions = self.double.actions
        # a forum post's first message has the post's (thread's) id
        post_id = self.world.new_id()
        thread = await actions.create_thread(
            forum,
            name=name,
            type=ChannelType.public_thread,
            auto_archive_duration=duration,
            thread_id=post_id,
            applied_tags=tags,
        )
        message = await actions.create_message(
            thread,
            self.world.bot.id,
            message_body,
            message_id=post_id,
            attachments=attachments_for(body, self.world.new_id),
        )
        forum.last_message_id = thread.id
        data = self.world.thread_payload(thread)
        data["message"] = self.world.message_payload(message)
        return json_response(data)

    async def join_thread(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        if not channel.is_thread:
            raise ApiError(ErrorCode.INVALID_CHANNEL_TYPE)
        return empty_response()

    # guilds

    async def get_guild(self, request: web.Request) -> web.StreamResponse:
        guild = self._guild(request)
        data = self.world.guild_payload(guild)
        for key in (
            "members",
            "channels",
            "threads",
            "voice_states",
            "presences",
            "joined_at",
            "large",
            "member_count",
            "lazy",
        ):
            data.pop(key, None)
        return json_response(data)

    async def get_guild_channels(self, request: web.Request) -> web.StreamResponse:
        guild = self._guild(request)
        return json_response(
            [self.world.channel_payload(self.world.channels[c]) for c in guild.channel_ids]
        )

    async def get_roles(self, request: web.Request) -> web.StreamResponse:
        guild = self._guild(request)
        return json_response([r.to_dict() for r in guild.roles.values()])

    async def get_member(self, request: web.Request) -> web.StreamResponse:
        guild = self._guild(request)
        member = guild.members.get(_snowflake(request.match_info["user_id"]))
        if member is None:
            raise ApiError(ErrorCode.UNKNOWN_MEMBER)
        return json_response(self.world.member_payload(member))

    async def get_active_threads(self, request: web.Request) -> web.StreamResponse:
        guild = self._guild(request)
        world = self.world
        threads = [
            world.thread_payload(c)
            for c in world.channels.values()
            if c.guild_id == guild.id
            and c.is_thread
            and not c.archived
            and world.bot_permissions(c.id) & Permission.view_channel
        ]
        return json_response({"threads": threads, "members": [], "has_more": False})

    # application commands

    def _command_scope(self, request: web.Request) -> int | None:
        if request.match_info["application_id"] != str(self.world.application_id):
            raise ApiError(ErrorCode.MISSING_ACCESS)
        if "guild_id" not in request.match_info:
            return None
        return self._guild(request).id

    async def get_commands(self, request: web.Request) -> web.StreamResponse:
        scope = self._command_scope(request)
        return json_response(list(self.double.commands.scope(scope).values()))

    async def put_commands(self, request: web.Request) -> web.StreamResponse:
        scope = self._command_scope(request)
        body = await read_body(request, allow_list=True)
        raw: Any = body.payload
        request[BODY] = raw
        if not isinstance(raw, list):
            errors = FormErrors()
            errors.add("_root", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
            errors.raise_if_any()
        return json_response(self.double.commands.overwrite(scope, raw))
