"""Message components and direct messages: Discord's checks on the buttons and selects a message
carries (action rows, ``custom_id`` of at most 100 characters, unique within the message), what a
member can press, and DMs (``POST /users/@me/channels``; 403 50007 for a member who does not
accept them, a bot, or someone who shares no server with the bot)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import ApiError, FormErrors
from .limits import (
    ACTION_ROWS_MAX,
    BUTTON_LABEL_MAX,
    CUSTOM_ID_MAX,
    ROW_COMPONENTS_MAX,
    SELECT_OPTIONS_MAX,
    ErrorCode,
)
from .state import Channel, Message
from .wire import json_response, read_body

if TYPE_CHECKING:
    from .server import DiscordDouble

Json = dict[str, Any]

ACTION_ROW = 1
BUTTON = 2
_SELECTS = frozenset({3, 5, 6, 7, 8})
_LINK_STYLE = 5
_PREMIUM_STYLE = 6


def check_components(errors: FormErrors, components: Any, prefix: str = "") -> None:
    """Add an error for every bad field of a message's ``components`` (classic layout: action
    rows of buttons, or one select per row)."""
    if components is None:
        return
    path = f"{prefix}components"
    if not isinstance(components, list):
        errors.add(path, "BASE_TYPE_LIST", "Must be a list.")
        return
    if len(components) > ACTION_ROWS_MAX:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {ACTION_ROWS_MAX} or fewer in length.")
    seen: set[str] = set()
    for row_index, row in enumerate(components):
        row_path = f"{path}.{row_index}"
        if not isinstance(row, dict) or row.get("type") != ACTION_ROW:
            errors.add(f"{row_path}.type", "UNION_TYPE_CHOICES", "Value of field must be 1.")
            continue
        children = row.get("components") or []
        if not 1 <= len(children) <= ROW_COMPONENTS_MAX:
            errors.add(
                f"{row_path}.components",
                "BASE_TYPE_BAD_LENGTH",
                f"Must be between 1 and {ROW_COMPONENTS_MAX} in length.",
            )
        for index, child in enumerate(children):
            _check_child(errors, child, f"{row_path}.components.{index}", seen)
            if child.get("type") in _SELECTS and len(children) > 1:
                errors.add(
                    f"{row_path}.components",
                    "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                    "The specified component exceeds the maximum width",
                )


def _check_child(errors: FormErrors, child: Json, path: str, seen: set[str]) -> None:
    kind = child.get("type")
    if kind == BUTTON:
        style = child.get("style")
        if style not in range(1, 7):
            errors.add(f"{path}.style", "BASE_TYPE_CHOICES", "Value must be one of 1-6.")
        if style == _LINK_STYLE:
            if not child.get("url"):
                errors.add(f"{path}.url", "BASE_TYPE_REQUIRED", "This field is required")
            if child.get("custom_id"):
                errors.add(
                    f"{path}.custom_id",
                    "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                    "A custom id cannot be set on a link button",
                )
        elif style != _PREMIUM_STYLE:
            _check_custom_id(errors, child.get("custom_id"), path, seen)
        label = child.get("label")
        if label is not None:
            errors.max_length(f"{path}.label", label, BUTTON_LABEL_MAX)
        if not label and not child.get("emoji") and style != _PREMIUM_STYLE:
            errors.add(
                f"{path}.label", "BUTTON_COMPONENT_LABEL_REQUIRED", "A label or emoji is required"
            )
    elif kind in _SELECTS:
        _check_custom_id(errors, child.get("custom_id"), path, seen)
        if kind == 3 and not 1 <= len(child.get("options") or []) <= SELECT_OPTIONS_MAX:
            errors.add(
                f"{path}.options",
                "BASE_TYPE_BAD_LENGTH",
                f"Must be between 1 and {SELECT_OPTIONS_MAX} in length.",
            )
    else:
        errors.add(f"{path}.type", "UNION_TYPE_CHOICES", "Value of field is not a component.")


def _check_custom_id(errors: FormErrors, custom_id: Any, path: str, seen: set[str]) -> None:
    if not isinstance(custom_id, str) or not custom_id:
        errors.add(f"{path}.custom_id", "BASE_TYPE_REQUIRED", "This field is required")
        return
    errors.bad_length(f"{path}.custom_id", custom_id, 1, CUSTOM_ID_MAX)
    if custom_id in seen:
        errors.add(
            f"{path}.custom_id",
            "COMPONENT_CUSTOM_ID_DUPLICATED",
            "Component custom id cannot be duplicated",
        )
    seen.add(custom_id)


def find_component(message: Message, custom_id: str) -> Json | None:
    """The button or select with this ``custom_id`` on ``message``, if it carries one."""
    for row in message.components:
        for child in row.get("components") or []:
            if child.get("custom_id") == custom_id:
                return child
    return None


def pressable(message: Message | None, custom_id: str) -> Json:
    """What Discord's client lets a member press: a component the message shows, enabled.
    Raises ``ValueError`` (a test mistake, never an API answer) otherwise."""
    if message is None:
        raise ValueError("that message is gone: nobody can press its buttons")
    component = find_component(message, custom_id)
    if component is None:
        raise ValueError(
            f"message {message.id} has no component {custom_id!r}; pass forged=True to send "
            "an id the client would not offer"
        )
    if component.get("disabled"):
        raise ValueError(f"{custom_id!r} is disabled on message {message.id}")
    return component


class DirectMessages:
    """The bot's DM channels. ``closed`` holds the members who do not accept DMs from it."""

    def __init__(self, double: DiscordDouble) -> None:
        self.double = double
        self.closed: set[int] = set()

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/users/@me/channels", self.open_channel)]

    async def open_channel(self, request: web.Request) -> web.StreamResponse:
        body = await read_body(request)
        try:
            recipient = int(body.payload.get("recipient_id"))
        except (TypeError, ValueError):
            errors = FormErrors()
            errors.add("recipient_id", "NUMBER_TYPE_COERCE", "Value is not snowflake.")
            errors.raise_if_any()
            raise
        world = self.double.world
        if recipient not in world.users:
            raise ApiError(ErrorCode.UNKNOWN_USER)
        return json_response(world.channel_payload(world.dm_channel(recipient)))

    def require_deliverable(self, channel: Channel) -> None:
        """403 50007 unless the recipient takes DMs from the bot: not a bot, DMs open, and
        sharing a server with it."""
        world = self.double.world
        user = world.users.get(channel.owner_id or 0)
        if user is None or user.bot or user.id in self.closed:
            raise ApiError(ErrorCode.CANNOT_SEND_TO_USER)
        shares = any(
            g.bot_present and user.id in g.members and world.bot.id in g.members
            for g in world.guilds.values()
        )
        if not shares:
            raise ApiError(ErrorCode.CANNOT_SEND_TO_USER)

    def messages(self, user_id: int) -> list[Message]:
        """What the bot sent this member by DM, oldest first."""
        world = self.double.world
        for channel in world.channels.values():
            if channel.guild_id is None and channel.owner_id == user_id:
                return list(world.channel_messages.get(channel.id, []))
        return []
