"""What a benchmark in another process asks of the double (``POST /_double/invoke``): a member
runs a slash command, and the double answers when the bot has answered it, with the latency it
measured itself (from the interaction's dispatch to the bot's first accepted answer)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .report import DOUBLE

if TYPE_CHECKING:
    from .server import DiscordDouble


async def invoke_route(request: web.Request) -> web.Response:
    """Body: ``{"command": "serial next", "channel_id": "…", "timeout": 5}`` (the member is the
    double's reader). Answer: ``{"latency": seconds, "callback": "channel_message"}``, or a 504
    when the bot did not answer within ``timeout``."""
    double: DiscordDouble = request.app[DOUBLE]
    body = await request.json()
    record = await double.invoke(
        str(body["command"]),
        body.get("options") or {},
        channel_id=int(body["channel_id"]),
        user_id=int(body["user_id"]) if body.get("user_id") else None,
    )
    try:
        kind = await record.response(timeout=float(body.get("timeout", 5.0)))
    except TimeoutError:
        return web.json_response({"error": "no answer in time"}, status=504)
    return web.json_response({"latency": record.latency, "callback": kind.name})
