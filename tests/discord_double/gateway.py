"""The gateway websocket: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, RESUME with replay,
INVALID_SESSION, and dispatch of events to every session whose shard and intents cover them
(discord.py ``gateway.py`` and ``state.py`` are the other side of this).

Sharding as Discord does it: IDENTIFY carries ``shard: [id, count]``, a session receives only the
guilds with ``(guild_id >> 22) % count == id``, and a session that would hold more than 2,500
guilds is closed with 4011 (sharding required)."""

# Test-facing waits take a ``timeout`` argument, as asyncio's own waits do.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .limits import (
    HEARTBEAT_INTERVAL_MS,
    PRIVILEGED_INTENTS,
    SHARD_GUILDS_MAX,
    CloseCode,
    GatewayOp,
    Intent,
)
from .state import Guild, World

log = logging.getLogger(__name__)

Json = dict[str, Any]

# How long a dropped session may still be resumed, and how much of it is kept for replay.
RESUME_WINDOW_SECONDS = 120.0
REPLAY_BUFFER = 2000


@dataclass
class Session:
    id: str
    intents: int
    shard_id: int
    shard_count: int
    seq: int = 0
    ws: web.WebSocketResponse | None = None
    disconnected_at: float | None = None
    buffer: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=REPLAY_BUFFER))
    number: int = 0  # the how-manieth IDENTIFY created it
    resumes: int = 0

    def covers(self, guild_id: int | None) -> bool:
        return guild_id is None or (guild_id >> 22) % self.shard_count == self.shard_id

    @property
    def connected(self) -> bool:
        return self.ws is not None and not self.ws.closed


class Gateway:
    def __init__(
        self,
        world: World,
        *,
        resume_url: Callable[[], str],
        approved_intents: int = 0,
        errors: list[BaseException] | None = None,
    ) -> None:
        self.world = world
        self.errors = errors if errors is not None else []
        self._resume_url = resume_url
        self.approved_intents = approved_intents
        self.sessions: dict[str, Session] = {}
        self.identifies = 0
        self.resumes = 0
        # While set, new gateway connections are refused (503), as in an outage.
        self.down = False
        self._sockets: set[web.WebSocketResponse] = set()
        self._changed = asyncio.Event()

    # connection lifecycle

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        if self.down:
            raise web.HTTPServiceUnavailable(text="the gateway is down")
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        session: Session | None = None
        try:
            await self._send(
                ws, {"op": GatewayOp.hello, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}}
            )
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                        break
                    continue
                payload = json.loads(msg.data)
                op = payload.get("op")
                data = payload.get("d")
                if op == GatewayOp.heartbeat:
                    await self._send(ws, {"op": GatewayOp.heartbeat_ack})
                elif op == GatewayOp.identify:
                    if session is not None:
                        await ws.close(code=CloseCode.already_authenticated)
                        break
                    session = await self._identify(ws, data)
                elif op == GatewayOp.resume:
                    session = await self._resume(ws, data)
                elif op == GatewayOp.request_members and session is not None:
                    await self._members_chunk(session, data)
        except Exception as error:
            log.exception("the gateway double failed")
            self.errors.append(error)
            await ws.close(code=CloseCode.unknown_error)
        finally:
            self._sockets.discard(ws)
            if session is not None and session.ws is ws:
                session.ws = None
                session.disconnected_at = time.monotonic()
                self._notify()
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: Json) -> Session | None:
        if data.get("token") != self.world.token:
            await ws.close(code=CloseCode.authentication_failed, message=b"Authentication failed.")
            return None
        intents = int(data.get("intents", 0))
        if intents & PRIVILEGED_INTENTS & ~self.approved_intents:
            await ws.close(code=CloseCode.disallowed_intents, message=b"Disallowed intent(s).")
            return None
        shard_id, shard_count = data.get("shard") or [0, 1]
        if not 0 <= shard_id < shard_count:
            await ws.close(code=CloseCode.invalid_shard, message=b"Invalid shard.")
            return None
        self._expire_sessions()
        guilds = [
            g
            for g in self.world.guilds.values()
            if g.bot_present and (g.id >> 22) % shard_count == shard_id
        ]
        if len(guilds) > SHARD_GUILDS_MAX:
            await ws.close(code=CloseCode.sharding_required, message=b"Sharding required.")
            return None
        self.identifies += 1
        session = Session(
            secrets.token_hex(16), intents, shard_id, shard_count, ws=ws, number=self.identifies
        )
        self.sessions[session.id] = session
        user = self.world.bot.to_dict() | {"verified": True, "mfa_enabled": False}
        ready = {
            "v": 10,
            "user": user,
            "user_settings": {},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self._resume_url(),
            "shard": [shard_id, shard_count],
            "application": {"id": str(self.world.application_id), "flags": 0},
            "_trace": ["discord-double"],
        }
        await self._deliver(session, "READY", ready)
        all_members = bool(intents & Intent.members)
        for guild in guilds:
            payload = self.world.guild_payload(guild, all_members=all_members)
            payload["unavailable"] = False
            await self._deliver(session, "GUILD_CREATE", payload)
        self._notify()
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: Json) -> Session | None:
        self._expire_sessions()
        session = self.sessions.get(data.get("session_id") or "")
        if data.get("token") != self.world.token:
            await ws.close(code=CloseCode.authentication_failed, message=b"Authentication failed.")
            return None
        if session is None:
            await self._send(ws, {"op": GatewayOp.invalid_session, "d": False})
            return None
        old = session.ws
        session.ws = ws
        session.disconnected_at = None
        if old is not None and old is not ws and not old.closed:
            await old.close(code=CloseCode.unknown_error)
        last = int(data.get("seq") or 0)
        for seq, text in list(session.buffer):
            if seq > last:
                await self._send_text(ws, text)
        session.resumes += 1
        self.resumes += 1
        await self._deliver(session, "RESUMED", {"_trace": ["discord-double"]})
        self._notify()
        return session

    async def _members_chunk(self, session: Session, data: Json) -> None:
        guild = self.world.guilds.get(int(data.get("guild_id", 0)))
        if guild is None or not session.intents & Intent.members:
            return
        members = [self.world.member_payload(m) for m in guild.members.values()]
        chunk = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await self._deliver(session, "GUILD_MEMBERS_CHUNK", chunk)

    def _expire_sessions(self) -> None:
        now = time.monotonic()
        for session_id, session in list(self.sessions.items()):
            gone = session.disconnected_at
            if gone is not None and now - gone > RESUME_WINDOW_SECONDS:
                del self.sessions[session_id]

    # sending

    async def _send(self, ws: web.WebSocketResponse, payload: Json) -> None:
        await self._send_text(ws, json.dumps(payload))

    async def _send_text(self, ws: web.WebSocketResponse, text: str) -> None:
        if ws.closed:
            return
        # a peer that vanished mid-send is the reconnect path's business, not the sender's
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(text)

    async def _deliver(self, session: Session, event: str, data: Json) -> None:
        session.seq += 1
        text = json.dumps({"op": GatewayOp.dispatch, "t": event, "s": session.seq, "d": data})
        session.buffer.append((session.seq, text))
        if session.ws is not None:
            await self._send_text(session.ws, text)

    async def dispatch(
        self,
        event: str,
        data: Json,
        *,
        guild_id: int | None = None,
        intent: int = Intent.guilds,
    ) -> int:
        """Send an event to every live or resumable session it concerns; returns how many.
        ``intent=0`` for events no intent gates (INTERACTION_CREATE)."""
        sent = 0
        for session in list(self.sessions.values()):
            if not session.covers(guild_id) or (intent and not session.intents & intent):
                continue
            await self._deliver(session, event, data)
            sent += 1
        return sent

    async def guild_create(self, guild: Guild) -> None:
        """GUILD_CREATE for a guild the bot joined, each session getting the members it may see."""
        for session in list(self.sessions.values()):
            if session.covers(guild.id):
                all_members = bool(session.intents & Intent.members)
                payload = self.world.guild_payload(guild, all_members=all_members)
                await self._deliver(session, "GUILD_CREATE", payload)

    # test controls

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def connected_sessions(self, guild_id: int | None = None) -> list[Session]:
        return [s for s in self.sessions.values() if s.connected and s.covers(guild_id)]

    async def wait_connected(
        self, guild_id: int | None, timeout: float, *, identified_after: int = 0
    ) -> None:
        """Until a session covering ``guild_id`` is connected (one identified after the
        ``identified_after``-th IDENTIFY, to wait for a restarted process)."""
        async with asyncio.timeout(timeout):
            while True:
                changed = self._changed
                live = self.connected_sessions(guild_id)
                if any(s.number > identified_after for s in live):
                    return
                await changed.wait()

    async def drop(self, *, code: int = CloseCode.unknown_error, resume: bool = True) -> int:
        """Close every socket; with ``resume=False`` the sessions are forgotten first, so the
        client's RESUME gets INVALID_SESSION and it identifies again."""
        if not resume:
            self.sessions.clear()
        sockets = list(self._sockets)
        for ws in sockets:
            await ws.close(code=code, message=b"dropped by the test")
        return len(sockets)

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"server shutdown")
        self.sessions.clear()
