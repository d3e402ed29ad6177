"""``DiscordDouble``: the loopback Discord that real discord.py talks to, with its default world and
the controls tests use (inject interactions, read posts, break things on purpose)."""

# Test-facing waits take a ``timeout`` argument, as asyncio's own waits do.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import math
import re
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import yarl
from aiohttp import web

from .actions import Actions
from .attachments import AttachmentHost, HostedFile, Serve
from .ban import BAN_SECONDS, Ban, BanGate, BanKind
from .commands import CommandRegistry, build_options, split_path
from .components import DirectMessages, pressable
from .control import invoke_route
from .errors import ApiError
from .gateway import Gateway
from .interactions import InteractionRoutes, InvokedInteraction
from .limits import (
    GLOBAL_RATE_LIMIT,
    GLOBAL_RATE_PERIOD_SECONDS,
    GUILD_CHANNELS_MAX,
    GUILDS_PER_RECOMMENDED_SHARD,
    INTERACTION_DEADLINE_SECONDS,
    INVALID_REQUEST_LIMIT,
    INVALID_REQUEST_PERIOD_SECONDS,
    ChannelType,
    Intent,
    InteractionType,
    MessageType,
    Permission,
)
from .ratelimit import RateLimiter, WindowModel
from .report import DOUBLE, log_route, progress_route
from .rest import API_PREFIX, TOKEN_ROUTES, FailureRule, RequestRecord, RestApi
from .state import Channel, Message, Overwrite, World, permission_bits

Json = dict[str, Any]

_FORUM_REQUIRE_TAG = 1 << 4

ADMIN_PERMISSIONS = (
    Permission.manage_channels
    | Permission.manage_guild
    | Permission.manage_messages
    | Permission.manage_threads
    | Permission.mention_everyone
    | Permission.kick_members
)

# name -> (type, nsfw)
DEFAULT_CHANNELS: dict[str, tuple[ChannelType, bool]] = {
    "general": (ChannelType.text, False),
    "announcements": (ChannelType.news, False),
    "forum": (ChannelType.forum, False),
    "mature": (ChannelType.text, True),
    "system": (ChannelType.text, False),
}


# requests that put a new post in a channel: a message, or a forum post / thread
_POST_ROUTES = frozenset(
    {"POST /channels/{channel_id}/messages", "POST /channels/{channel_id}/threads"}
)


def _rate(records: list[RequestRecord]) -> float:
    if len(records) < 2:
        return 0.0
    span = records[-1].at - records[0].at
    return (len(records) - 1) / span if span > 0 else 0.0


def _channel_type(value: ChannelType | str | int) -> ChannelType:
    if isinstance(value, str):
        return {
            "text": ChannelType.text,
            "news": ChannelType.news,
            "announcement": ChannelType.news,
            "forum": ChannelType.forum,
            "category": ChannelType.category,
        }[value]
    return ChannelType(value)


class DiscordDouble:
    """A Discord API double on 127.0.0.1: REST under ``/api/v10`` and the gateway websocket.

    ``rate_limits`` switches Discord's limits on (global 50/s, message create 5 per 5 s per
    channel); ``time_scale`` shortens their windows for fast tests; ``window`` is the shape of
    the global window (``"fixed"`` or ``"sliding"``). ``ban_after`` invalid requests within
    ``ban_window`` seconds (Discord: 10,000 in 10 minutes; None: never) ban the client for
    ``ban_seconds`` (Cloudflare's HTML 429, "error code: 1015"). ``clock`` (epoch seconds)
    drives message timestamps, snowflakes and the nonce window; ``advance_clock`` moves it.
    ``approved_intents`` are the privileged intents the application may use. Without
    ``default_world`` there are no default ids (``guild_id``, ``channels``, ``reader_id``...), so
    pass explicit ids to the controls. ``recommended_shards`` fixes what ``GET /gateway/bot``
    recommends; by default it is one shard per 1,000 guilds, as Discord does.
    """

    def __init__(
        self,
        *,
        rate_limits: bool = False,
        time_scale: float = 1.0,
        window: WindowModel = "fixed",
        ban_after: int | None = INVALID_REQUEST_LIMIT,
        ban_window: float = INVALID_REQUEST_PERIOD_SECONDS,
        ban_seconds: float = BAN_SECONDS,
        interaction_deadline: float = INTERACTION_DEADLINE_SECONDS,
        clock: Callable[[], float] = time.time,
        approved_intents: int = 0,
        recommended_shards: int | None = None,
        default_world: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._base_clock = clock
        self._clock_offset = 0.0
        # exceptions raised inside the double's own handlers (its bugs, not Discord's answers)
        self.internal_errors: list[BaseException] = []
        self.world = World(self._now)
        self.gateway = Gateway(
            self.world,
            resume_url=lambda: str(self.resume_gateway_url),
            approved_intents=approved_intents,
            errors=self.internal_errors,
        )
        self.actions = Actions(self.world, self.gateway)
        self.limiter = RateLimiter(enabled=rate_limits, time_scale=time_scale, window=window)
        self.ban_gate = BanGate(threshold=ban_after, window=ban_window, seconds=ban_seconds)
        self.commands = CommandRegistry(self.world)
        self.rest = RestApi(self)
        self.interaction_routes = InteractionRoutes(self)
        self.direct = DirectMessages(self)
        self.attachments = AttachmentHost(self.world, lambda: self.url)
        self.interaction_routes.deadline = interaction_deadline
        self.recommended_shards = recommended_shards
        self.requests: list[RequestRecord] = []
        self.invalid_requests: list[float] = []
        self.paused_until = 0.0
        self.nonce_hits = 0
        self.host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.channels: dict[str, int] = {}
        if default_world:
            self._build_default_world()

    # the default world

    def _build_default_world(self) -> None:
        world = self.world
        guild = world.add_guild("Serial Readers")
        self.guild_id = guild.id
        self.owner_id = guild.owner_id
        self.everyone_role_id = guild.id
        self.bot_role_id = next(r.id for r in guild.roles.values() if r.bot_id == world.bot.id)
        self.admin_role_id = world.add_role(guild.id, "Admin", ADMIN_PERMISSIONS).id
        self.admin_id = world.add_user("admin").id
        world.add_member(guild.id, self.admin_id, roles=[self.admin_role_id])
        self.reader_id = world.add_user("reader").id
        world.add_member(guild.id, self.reader_id)
        for name, (kind, nsfw) in DEFAULT_CHANNELS.items():
            self.channels[name] = world.add_channel(guild.id, name, kind, nsfw=nsfw).id
        guild.system_channel_id = self.channels["system"]
        self.system_channel_id = guild.system_channel_id

    @property
    def interaction_deadline(self) -> float:
        """Seconds an interaction waits for its first answer before 404 10062."""
        return self.interaction_routes.deadline

    @interaction_deadline.setter
    def interaction_deadline(self, seconds: float) -> None:
        self.interaction_routes.deadline = seconds

    @property
    def bot_id(self) -> int:
        return self.world.bot.id

    @property
    def application_id(self) -> int:
        return self.world.application_id

    @property
    def token(self) -> str:
        """The fake bot token the double accepts (first part: base64 of the bot's id)."""
        return self.world.token

    # lifecycle and addresses

    def _now(self) -> float:
        return self._base_clock() + self._clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Move the double's clock (timestamps, snowflakes, the nonce window) forward."""
        self._clock_offset += seconds

    @property
    def port(self) -> int:
        if self._runner is None:
            raise RuntimeError("the double is not running")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def origin(self) -> str:
        """Where it serves attachments from, as ``uploads.extra_attachment_origins`` names it;
        known before it starts when it was given a port."""
        if self._runner is None and not self._port:
            raise RuntimeError("the double is not running and was given no port")
        return f"http://{self.host}:{self._port}"

    @property
    def api_base(self) -> str:
        """The value for ``discord.http.Route.BASE``."""
        return self.url + API_PREFIX

    @property
    def gateway_url(self) -> yarl.URL:
        """The value for ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``."""
        return yarl.URL(f"ws://{self.host}:{self.port}/gateway/")

    @property
    def resume_gateway_url(self) -> yarl.URL:
        return yarl.URL(f"ws://{self.host}:{self.port}/gateway-resume/")

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self.rest.middleware], client_max_size=64 * 1024 * 1024)
        routes = [*self.rest.routes(), *self.interaction_routes.routes(), *self.direct.routes()]
        for route in routes:
            app.router.add_route(route.method, API_PREFIX + route.path, route.handler)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self.rest.not_found)
        for route in self.attachments.routes():
            app.router.add_route(route.method, route.path, route.handler)
        app.router.add_get("/gateway/", self.gateway.handle)
        app.router.add_get("/gateway-resume/", self.gateway.handle)
        app.router.add_get("/_double/world", self._world_info)
        app.router.add_get("/_double/summary", self._summary_route)
        app.router.add_get("/_double/log", log_route)
        app.router.add_get("/_double/progress", progress_route)
        app.router.add_post("/_double/invoke", invoke_route)
        app[DOUBLE] = self
        return app

    async def start(self) -> DiscordDouble:
        if self._runner is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._port))
        self._port = sock.getsockname()[1]
        runner = web.AppRunner(
            self._app(), access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await runner.setup()
        await web.SockSite(runner, sock).start()
        self._runner = runner
        return self

    async def stop(self) -> None:
        if self._runner is None:
            return
        self.paused_until = 0.0
        await self.gateway.close()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> DiscordDouble:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def shard_recommendation(self) -> int:
        """The shard count ``GET /gateway/bot`` answers."""
        if self.recommended_shards is not None:
            return self.recommended_shards
        guilds = sum(g.bot_present for g in self.world.guilds.values())
        return max(1, math.ceil(guilds / GUILDS_PER_RECOMMENDED_SHARD))

    # building more world

    async def add_guild(
        self, name: str = "Another Guild", *, channels: Iterable[str] = ("general",)
    ) -> int:
        guild = self.world.add_guild(name)
        for channel_name in channels:
            self.world.add_channel(guild.id, channel_name)
        if self._runner is not None:
            await self.actions.guild_joined(guild)
        return guild.id

    async def add_channel(
        self,
        name: str,
        type: ChannelType | str | int = ChannelType.text,
        *,
        guild_id: int | None = None,
        nsfw: bool = False,
        topic: str | None = None,
        overwrites: Mapping[int, tuple[int, int]] | None = None,
        require_tag: bool = False,
        tags: Iterable[str] = (),
    ) -> int:
        """A new channel; ``overwrites`` maps a role or user id to (allow, deny) bits."""
        guild_id = guild_id or self.guild_id
        guild = self.world.guild(guild_id)
        prepared = [
            Overwrite(target, 0 if target in guild.roles else 1, allow, deny)
            for target, (allow, deny) in (overwrites or {}).items()
        ]
        channel = self.world.add_channel(
            guild_id,
            name,
            _channel_type(type),
            nsfw=nsfw,
            topic=topic,
            overwrites=prepared,
            flags=_FORUM_REQUIRE_TAG if require_tag else 0,
            available_tags=tags,
        )
        await self.actions.channel_created(channel)
        return channel.id

    async def add_member(
        self, name: str, *, guild_id: int | None = None, roles: Iterable[int] = ()
    ) -> int:
        user = self.world.add_user(name)
        self.world.add_member(guild_id or self.guild_id, user.id, roles=roles)
        return user.id

    async def add_role(
        self,
        name: str,
        permissions: int | str = 0,
        *,
        guild_id: int | None = None,
        mentionable: bool = False,
    ) -> int:
        guild_id = guild_id or self.guild_id
        role = self.world.add_role(
            guild_id, name, permission_bits(permissions), mentionable=mentionable
        )
        await self.gateway.dispatch(
            "GUILD_ROLE_CREATE",
            {"guild_id": str(guild_id), "role": role.to_dict()},
            guild_id=guild_id,
        )
        return role.id

    async def populate(self, channels: int, *, per_guild: int = GUILD_CHANNELS_MAX) -> list[int]:
        """``channels`` text channels spread over new guilds of at most ``per_guild`` each (Discord
        caps a guild at 500 channels); returns their ids."""
        ids: list[int] = []
        while len(ids) < channels:
            guild = self.world.add_guild(f"Bench Guild {len(self.world.guilds)}")
            for _ in range(min(per_guild, channels - len(ids))):
                ids.append(self.world.add_channel(guild.id, f"serial-{len(ids) + 1}").id)
            if self._runner is not None:
                await self.actions.guild_joined(guild)
        return ids

    # reading what happened

    def channel(self, channel_id: int) -> Channel:
        return self.world.channel(channel_id)

    def messages(self, channel_id: int) -> list[Message]:
        """Messages visible in a channel or thread, oldest first (ephemeral answers excluded)."""
        return list(self.world.channel_messages.get(channel_id, []))

    def message(self, message_id: int) -> Message:
        return self.world.messages[message_id]

    def threads(self, parent_id: int) -> list[Channel]:
        """Threads (and forum posts) of a channel, oldest first."""
        return sorted(self.world.threads_of(parent_id), key=lambda c: c.id)

    def bot_messages(self, channel_id: int) -> list[Message]:
        return [m for m in self.messages(channel_id) if m.author_id == self.bot_id]

    @property
    def interactions(self) -> list[InvokedInteraction]:
        return list(self.interaction_routes.by_id.values())

    def requests_to(self, method: str, path_regex: str) -> list[RequestRecord]:
        pattern = re.compile(path_regex)
        return [r for r in self.requests if r.method == method and pattern.search(r.path)]

    def bot_permissions(self, channel_id: int) -> int:
        return self.world.bot_permissions(channel_id)

    def invalid_request_count(self, window: float = 600.0) -> int:
        since = time.monotonic() - window
        return sum(1 for t in self.invalid_requests if t >= since)

    def invalid_request_peak(self, window: float = INVALID_REQUEST_PERIOD_SECONDS) -> int:
        """The most invalid requests in any ``window`` seconds so far (Discord bans at 10,000
        in 10 minutes)."""
        times = self.invalid_requests
        peak = start = 0
        for end, at in enumerate(times):
            while times[start] < at - window:
                start += 1
            peak = max(peak, end - start + 1)
        return peak

    def duplicate_messages(self) -> list[Message]:
        """Bot messages repeating an earlier one in the same channel (same content and embeds)."""
        seen: set[tuple[int, str, str]] = set()
        duplicates: list[Message] = []
        for channel_id, listing in self.world.channel_messages.items():
            for message in listing:
                if message.author_id != self.bot_id or message.type != MessageType.default:
                    continue
                key = (channel_id, message.content, repr(message.embeds))
                if key in seen:
                    duplicates.append(message)
                seen.add(key)
        return duplicates

    async def wait_for_messages(
        self, channel_id: int, count: int, *, timeout: float = 10.0, author_id: int | None = None
    ) -> list[Message]:
        """Poll until the channel holds at least ``count`` messages (by ``author_id`` if given)."""
        async with asyncio.timeout(timeout):
            while True:
                found = [
                    m
                    for m in self.messages(channel_id)
                    if author_id is None or m.author_id == author_id
                ]
                if len(found) >= count:
                    return found
                await asyncio.sleep(0.01)

    def summary(self) -> Json:
        """Figures for benchmarks: throughput against the global limit, 429s, duplicates, and the
        spread between the first and the last channel's first post."""
        counted = [r for r in self.requests if r.route and not r.path.startswith(TOKEN_ROUTES)]
        admitted = [r for r in counted if r.status != 429]
        limited = [r for r in counted if r.status == 429]
        posts = [r for r in admitted if r.route in _POST_ROUTES and 200 <= r.status < 300]
        first_per_channel: dict[str, float] = {}
        for record in posts:
            first_per_channel.setdefault(record.path, record.at)
        firsts = sorted(first_per_channel.values())
        global_limit = GLOBAL_RATE_LIMIT / (GLOBAL_RATE_PERIOD_SECONDS * self.limiter.time_scale)
        admitted_rate = _rate(admitted)
        return {
            "requests": len(self.requests),
            "admitted": len(admitted),
            "admitted_per_second": admitted_rate,
            "global_limit_per_second": global_limit,
            "global_fraction": admitted_rate / global_limit,
            "rate_limited": len(limited),
            "rate_limited_global": sum(1 for r in limited if r.is_global),
            "posts": len(posts),
            "posts_per_second": _rate(posts),
            "channels_posted": len(first_per_channel),
            "first_post_spread_seconds": (firsts[-1] - firsts[0]) if firsts else 0.0,
            "duplicates": len(self.duplicate_messages()),
            "nonce_hits": self.nonce_hits,
            "invalid_requests": self.invalid_request_count(),
            "invalid_requests_peak": self.invalid_request_peak(),
            "window": self.limiter.window,
            "bans": [
                {"at": b.at, "seconds": b.until - b.at, "kind": b.kind, "earned": b.triggered}
                for b in self.ban_gate.bans
            ],
        }

    async def _summary_route(self, request: web.Request) -> web.Response:
        return web.json_response(self.summary())

    async def _world_info(self, request: web.Request) -> web.Response:
        return web.json_response(self.describe())

    def describe(self) -> Json:
        """Addresses and ids, for processes that cannot hold the object (``python -m``)."""
        return {
            "api_base": self.api_base,
            "gateway_url": str(self.gateway_url),
            "token": self.token,
            "application_id": str(self.application_id),
            "bot_id": str(self.bot_id),
            "guilds": {
                str(g.id): {
                    "name": g.name,
                    "channels": {str(c): self.world.channels[c].name for c in g.channel_ids},
                }
                for g in self.world.guilds.values()
            },
            "channels": {k: str(v) for k, v in self.channels.items()},
        }

    # injecting interactions

    async def invoke(
        self,
        path: str,
        options: Mapping[str, Any] | None = None,
        *,
        channel_id: int | None = None,
        user_id: int | None = None,
        permissions: int | Any | None = None,
        override: bool = False,
        dm: bool = False,
        connect_timeout: float = 5.0,
        forged: bool = False,
    ) -> InvokedInteraction:
        """A member runs ``/path`` (e.g. ``"serial subscribe"``) with ``options``; the bot gets an
        APPLICATION_COMMAND interaction shaped from the command it registered.

        ``permissions`` replaces the member's computed channel permissions in the payload;
        ``override=True`` models a server whose admins let everyone use a command that defaults
        to admins only. Raises ``CommandUnavailable`` where Discord's client would not offer it.
        ``forged=True`` sends option values outside the bounds the command declares (lengths,
        ranges), which Discord's own client never does.
        """
        return await self._interact(
            InteractionType.application_command,
            path,
            options or {},
            None,
            channel_id=channel_id,
            user_id=user_id,
            permissions=permissions,
            override=override,
            dm=dm,
            connect_timeout=connect_timeout,
            forged=forged,
        )

    async def autocomplete(
        self,
        path: str,
        options: Mapping[str, Any],
        *,
        focused: str | None = None,
        channel_id: int | None = None,
        user_id: int | None = None,
        timeout: float = 5.0,
    ) -> list[Json]:
        """A member types into an autocomplete option (the last of ``options`` unless ``focused``
        names another); returns the bot's choices."""
        if focused is None:
            if not options:
                raise ValueError("autocomplete needs the option being typed")
            focused = list(options)[-1]
        values = dict(options)
        values.setdefault(focused, "")
        record = await self._interact(
            InteractionType.autocomplete,
            path,
            values,
            focused,
            channel_id=channel_id,
            user_id=user_id,
            permissions=None,
            override=False,
            dm=False,
            connect_timeout=timeout,
        )
        return await record.autocomplete_choices(timeout)

    async def _interact(
        self,
        kind: InteractionType,
        path: str,
        options: Mapping[str, Any],
        focused: str | None,
        *,
        channel_id: int | None,
        user_id: int | None,
        permissions: int | Any | None,
        override: bool,
        dm: bool,
        connect_timeout: float,
        forged: bool = False,
    ) -> InvokedInteraction:
        world = self.world
        parts = split_path(path)
        user_id = user_id or self.reader_id
        if dm:
            guild_id = None
            channel_id = world.dm_channel(user_id).id
            perms = 0
        else:
            channel_id = channel_id or self.channels["general"]
            channel = world.channel(channel_id)
            guild_id = channel.guild_id
            perms = (
                world.permissions(user_id, channel_id)
                if permissions is None
                else permission_bits(permissions)
            )
        command, is_guild = self.commands.find(guild_id, parts[0])
        if not override:
            self.commands.check_available(
                command, is_guild=is_guild, in_guild=not dm, member_permissions=perms
            )
        data_options, resolved = build_options(
            world,
            command,
            parts,
            options,
            guild_id=guild_id,
            focused=focused,
            forged=forged,
            attachments=self.attachments,
        )
        data: Json = {"id": command["id"], "name": parts[0], "type": 1, "options": data_options}
        if resolved:
            data["resolved"] = resolved
        if is_guild:
            data["guild_id"] = str(guild_id)
        try:
            await self.gateway.wait_connected(guild_id, connect_timeout)
        except TimeoutError:
            raise RuntimeError(
                "no gateway session covers this guild: is the bot connected?"
            ) from None
        record = self.interaction_routes.create(
            type=kind,
            name=" ".join(parts),
            data=data,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            member_permissions=None if dm else perms,
        )
        await self.gateway.dispatch(
            "INTERACTION_CREATE", record.payload, guild_id=guild_id, intent=0
        )
        return record

    def attachment(
        self,
        filename: str,
        data: bytes,
        *,
        size: int | None = None,
        content_type: str | None = None,
        serve: Serve = "ok",
        host: str | None = None,
        redirect_to: HostedFile | None = None,
    ) -> HostedFile:
        """A file a member attaches to a command (pass it as the option's value): served from
        a signed link on 127.0.0.1. ``size`` declares another size than the bytes'; ``serve``
        makes the download fail, hang, break off or redirect (see ``attachments``); ``host``
        names the link by another host name."""
        return self.attachments.add(
            filename,
            data,
            size=size,
            content_type=content_type,
            serve=serve,
            host=host,
            redirect_to=redirect_to,
        )

    async def click(
        self,
        message_id: int,
        custom_id: str,
        *,
        user_id: int | None = None,
        component_type: int = 2,
        forged: bool = False,
    ) -> InvokedInteraction:
        """A member presses a button (or uses a select) on one of the bot's messages. Only what
        the message shows can be pressed (``ValueError`` otherwise); ``forged=True`` sends any
        ``custom_id``, as a modified client could."""
        message = self.world.messages.get(message_id)
        if not forged:
            pressable(message, custom_id)
        if message is None:
            raise ValueError(f"message {message_id} is gone: nobody can press its buttons")
        user_id = user_id or self.reader_id
        await self.gateway.wait_connected(message.guild_id, 5.0)
        record = self.interaction_routes.create(
            type=InteractionType.component,
            name=custom_id,
            data={"custom_id": custom_id, "component_type": component_type},
            guild_id=message.guild_id,
            channel_id=message.channel_id,
            user_id=user_id,
            member_permissions=None,
            message=message,
        )
        await self.gateway.dispatch(
            "INTERACTION_CREATE", record.payload, guild_id=message.guild_id, intent=0
        )
        return record

    def close_dms(self, user_id: int) -> None:
        """The member stops accepting DMs from the bot: sends to them get 403 50007."""
        self.direct.closed.add(user_id)

    def dms(self, user_id: int) -> list[Message]:
        """What the bot sent ``user_id`` by DM, oldest first."""
        return self.direct.messages(user_id)

    async def remove_member(self, user_id: int, *, guild_id: int | None = None) -> None:
        """The member leaves the server (GUILD_MEMBER_REMOVE reaches only sessions with the
        members intent); fetching them gives 404 10007 from then on."""
        guild = self.world.guild(guild_id or self.guild_id)
        guild.members.pop(user_id, None)
        await self.gateway.dispatch(
            "GUILD_MEMBER_REMOVE",
            {"guild_id": str(guild.id), "user": self.world.users[user_id].to_dict()},
            guild_id=guild.id,
            intent=Intent.members,
        )

    async def delete_message(self, message_id: int) -> None:
        """A moderator deletes a message (MESSAGE_DELETE; 404 10008 from then on)."""
        message = self.world.messages.get(message_id)
        if message is None:
            raise ValueError(f"message {message_id} does not exist")
        await self.actions.delete_message(message)

    async def post_as(self, user_id: int, channel_id: int, content: str) -> Message:
        """A member writes a message (in a channel or a thread)."""
        channel = self.world.channel(channel_id)
        return await self.actions.create_message(channel, user_id, {"content": content})

    # breaking things

    def fail_next(
        self,
        method: str,
        path_regex: str,
        count: int = 1,
        status: int = 500,
        code: int | None = None,
        *,
        commit: bool = False,
        retry_after: float | None = None,
        is_global: bool = False,
    ) -> FailureRule:
        """The next ``count`` requests matching ``method`` (or ``"*"``) and ``path_regex`` (searched
        in the path after ``/api/v10``) answer ``status``. With ``commit=True`` the request takes
        effect first and only its answer is lost, as when Discord fails after writing."""
        rule = FailureRule(
            method.upper() if method != "*" else "*",
            re.compile(path_regex),
            count,
            status,
            code,
            commit,
            retry_after=retry_after,
            is_global=is_global,
        )
        self.rest.failures.rules.append(rule)
        return rule

    def ban(self, seconds: float, kind: BanKind = "cloudflare") -> Ban:
        """Ban the bot's address now, as Discord does after too many invalid requests: every
        REST request answers with ``kind``'s ban answer for ``seconds``."""
        return self.ban_gate.impose(seconds, kind)

    @property
    def bans(self) -> list[Ban]:
        """Every ban so far, imposed or earned."""
        return list(self.ban_gate.bans)

    def rate_limit_next(
        self,
        method: str,
        path_regex: str,
        retry_after: float,
        *,
        is_global: bool = True,
        count: int = 1,
    ) -> FailureRule:
        """The next ``count`` matching requests get Discord's 429 (``global`` as asked), with
        ``retry_after`` in the body and the headers."""
        return self.fail_next(
            method, path_regex, count, status=429, retry_after=retry_after, is_global=is_global
        )

    def pause_api(self, seconds: float) -> None:
        """REST requests arriving in the next ``seconds`` hang until then (an outage or a slow
        Discord); the gateway keeps running."""
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    async def drop_gateway(self, *, resume: bool = True, code: int = 4000) -> int:
        """Close every gateway socket; discord.py reconnects and RESUMEs (or, with
        ``resume=False``, is told its session is invalid and identifies again)."""
        return await self.gateway.drop(code=code, resume=resume)

    async def send_event(
        self, event: str, data: Mapping[str, Any], *, guild_id: int | None = None
    ) -> int:
        """Dispatch ``event`` with ``data`` exactly as given to every session covering
        ``guild_id``, whatever its intents, and change nothing in the world: for payloads Discord
        has started to send differently (a field missing, of another type). Returns how many
        sessions got it."""
        return await self.gateway.dispatch(event, dict(data), guild_id=guild_id, intent=0)

    async def wait_until_connected(
        self, timeout: float = 10.0, *, guild_id: int | None = None, identified_after: int = 0
    ) -> None:
        """Until a gateway session (covering ``guild_id``) is up. After restarting a bot process,
        pass ``identified_after=double.gateway.identifies`` taken before the restart, so an old
        session that has not noticed its process died yet does not count."""
        await self.gateway.wait_connected(guild_id, timeout, identified_after=identified_after)

    async def delete_channel(self, channel_id: int) -> None:
        """Someone deletes the channel (or thread): CHANNEL_DELETE, and 10003 from then on."""
        await self.actions.delete_channel(channel_id)

    async def archive_thread(self, thread_id: int, *, locked: bool = False) -> None:
        """The thread archives (auto-archive, or a moderator); ``locked`` keeps the bot out."""
        thread = self.world.channel(thread_id)
        if not thread.is_thread:
            raise ValueError(f"{thread_id} is not a thread")
        thread.archived = True
        thread.locked = locked
        thread.archive_timestamp = self._now()
        await self.actions.thread_updated(thread)

    async def revoke(
        self, target: int, permission: int | str | Any, *, user_id: int | None = None
    ) -> None:
        """Take a permission from the bot (or ``user_id``): in one channel via a member overwrite,
        or, when ``target`` is a guild id, from every role the member holds (@everyone included)."""
        await self._change(target, permission_bits(permission), user_id or self.bot_id, grant=False)

    async def grant(
        self, target: int, permission: int | str | Any, *, user_id: int | None = None
    ) -> None:
        """Undo ``revoke``: lift the channel deny (allowing explicitly if roles do not), or add the
        permission to the member's first role in the guild (the bot's own role for the bot)."""
        await self._change(target, permission_bits(permission), user_id or self.bot_id, grant=True)

    async def _change(self, target: int, bits: int, user_id: int, *, grant: bool) -> None:
        world = self.world
        if target in world.guilds:
            guild = world.guilds[target]
            member = guild.members[user_id]
            role_ids = [guild.id, *member.roles]
            if grant:
                role_ids = member.roles[:1] or [guild.id]
            for role_id in role_ids:
                role = guild.roles[role_id]
                before = role.permissions
                role.permissions = role.permissions | bits if grant else role.permissions & ~bits
                if role.permissions != before:
                    await self.actions.role_updated(guild, role_id)
            return
        channel = world.channel(target)
        if channel.is_thread and channel.parent_id is not None:
            channel = world.channel(channel.parent_id)
        current = channel.overwrites.get(user_id) or Overwrite(user_id, 1)
        overwrite = Overwrite(user_id, 1, current.allow, current.deny)
        if grant:
            overwrite.deny &= ~bits
            await self.actions.set_overwrite(channel, overwrite)
            if world.permissions(user_id, channel.id) & bits != bits:
                overwrite = Overwrite(user_id, 1, overwrite.allow | bits, overwrite.deny)
                await self.actions.set_overwrite(channel, overwrite)
        else:
            overwrite.allow &= ~bits
            overwrite.deny |= bits
            await self.actions.set_overwrite(channel, overwrite)

    async def remove_bot_from_guild(self, guild_id: int) -> None:
        """The bot is kicked: GUILD_DELETE, and 403 50001 for that guild's channels from then on."""
        await self.actions.remove_bot(self.world.guild(guild_id))
        for scope in list(self.commands.guild_commands):
            if scope == guild_id:
                del self.commands.guild_commands[scope]

    async def add_bot_to_guild(self, guild_id: int) -> None:
        """The bot is invited back: GUILD_CREATE."""
        await self.actions.guild_joined(self.world.guild(guild_id))


__all__ = ["ApiError", "DiscordDouble"]
