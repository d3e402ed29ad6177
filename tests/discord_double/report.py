"""What a benchmark in another process reads back from the double (``GET /_double/log``): every
REST request it saw, and for each channel the bot's messages (opening characters, in order), how
many threads it has and how many messages the bot wrote in them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from .limits import MessageType

if TYPE_CHECKING:
    from .server import DiscordDouble

# Enough of a message to tell a part's header from its text and from another part.
_OPENING = 120


def posting_log(double: DiscordDouble, *, since: int = 0) -> dict[str, Any]:
    requests = [
        [r.at, r.method, r.route, r.path, r.status, r.code, r.is_global, r.banned]
        for r in double.requests[since:]
    ]
    channels: dict[str, Any] = {}
    world = double.world
    threads: dict[int, int] = {}
    thread_messages: dict[int, int] = {}
    for channel in world.channels.values():
        if channel.is_thread and channel.parent_id is not None:
            parent = channel.parent_id
            threads[parent] = threads.get(parent, 0) + 1
            inside = world.channel_messages.get(channel.id, [])
            said = sum(1 for m in inside if m.author_id == double.bot_id)
            thread_messages[parent] = thread_messages.get(parent, 0) + said
    for channel_id, listing in world.channel_messages.items():
        channel = world.channels.get(channel_id)
        if channel is None or channel.is_thread:
            continue
        ours = [
            m.content[:_OPENING]
            for m in listing
            if m.author_id == double.bot_id and m.type == MessageType.default
        ]
        if ours:
            channels[str(channel_id)] = {
                "messages": ours,
                "threads": threads.get(channel_id, 0),
                "thread_messages": thread_messages.get(channel_id, 0),
            }
    return {
        "requests": requests,
        "channels": channels,
        "duplicates": len(double.duplicate_messages()),
        "invalid_requests_peak": double.invalid_request_peak(),
        "bans": len(double.ban_gate.bans),
    }


DOUBLE: web.AppKey[DiscordDouble] = web.AppKey("double")


async def log_route(request: web.Request) -> web.Response:
    double = request.app[DOUBLE]
    since = int(request.query.get("since", "0"))
    return web.json_response(posting_log(double, since=since))


_THREAD_FROM_MESSAGE = "POST /channels/{channel_id}/messages/{message_id}/threads"


async def progress_route(request: web.Request) -> web.Response:
    """Cheap enough to poll every second during a benchmark: requests so far, 429s, and threads
    opened on messages (one per delivered part)."""
    double = request.app[DOUBLE]
    records = double.requests
    return web.json_response(
        {
            "requests": len(records),
            "rate_limited": sum(1 for r in records if r.status == 429),
            "threads": sum(
                1 for r in records if r.route == _THREAD_FROM_MESSAGE and 200 <= r.status < 300
            ),
        }
    )
