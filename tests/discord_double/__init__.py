"""A loopback Discord API double for end-to-end tests with the real discord.py.

The double serves Discord's REST API under ``/api/v10`` and the gateway websocket on 127.0.0.1;
discord.py is pointed at it through ``discord.http.Route.BASE`` and
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``. See ``server.DiscordDouble`` for the controls.
"""

from .client import FAST_GUILD_READY_TIMEOUT, connected_client, default_client, pointed_at
from .commands import CommandUnavailable
from .errors import ApiError
from .interactions import InvokedInteraction
from .limits import CallbackType, ChannelType, ErrorCode, Permission
from .rest import FailureRule, RequestRecord
from .server import DiscordDouble
from .state import Channel, Message

__all__ = [
    "FAST_GUILD_READY_TIMEOUT",
    "ApiError",
    "CallbackType",
    "Channel",
    "ChannelType",
    "CommandUnavailable",
    "DiscordDouble",
    "ErrorCode",
    "FailureRule",
    "InvokedInteraction",
    "Message",
    "Permission",
    "RequestRecord",
    "connected_client",
    "default_client",
    "pointed_at",
]
