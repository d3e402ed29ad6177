"""Discord's error answers: an HTTP status plus ``{"code": ..., "message": ..., "errors": ...}``."""

from __future__ import annotations

from typing import Any

from .limits import ErrorCode

_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.UNKNOWN_CHANNEL: "Unknown Channel",
    ErrorCode.UNKNOWN_GUILD: "Unknown Guild",
    ErrorCode.UNKNOWN_MEMBER: "Unknown Member",
    ErrorCode.UNKNOWN_MESSAGE: "Unknown Message",
    ErrorCode.UNKNOWN_USER: "Unknown User",
    ErrorCode.UNKNOWN_WEBHOOK: "Unknown Webhook",
    ErrorCode.UNKNOWN_APPLICATION_COMMAND: "Unknown application command",
    ErrorCode.UNKNOWN_INTERACTION: "Unknown interaction",
    ErrorCode.MAX_GUILD_CHANNELS: "Maximum number of guild channels reached (500)",
    ErrorCode.CANNOT_SEND_IN_FORUM: "Cannot send messages in a forum channel",
    ErrorCode.INTERACTION_ALREADY_ACKNOWLEDGED: "Interaction has already been acknowledged.",
    ErrorCode.FORUM_TAG_REQUIRED: "A tag is required to create a forum post in this channel",
    ErrorCode.MISSING_ACCESS: "Missing Access",
    ErrorCode.CANNOT_SEND_TO_USER: "Cannot send messages to this user",
    ErrorCode.CANNOT_EDIT_OTHERS_MESSAGE: "Cannot edit a message authored by another user",
    ErrorCode.CANNOT_SEND_EMPTY_MESSAGE: "Cannot send an empty message",
    ErrorCode.MISSING_PERMISSIONS: "Missing Permissions",
    ErrorCode.INVALID_CHANNEL_TYPE: "Cannot execute action on this channel type",
    ErrorCode.INVALID_WEBHOOK_TOKEN: "Invalid Webhook Token",
    ErrorCode.INVALID_FORM_BODY: "Invalid Form Body",
    ErrorCode.THREAD_ARCHIVED: "Thread is archived",
    ErrorCode.THREAD_ALREADY_CREATED: "A thread has already been created for this message",
    ErrorCode.THREAD_LOCKED: "Thread is locked",
}

_STATUS: dict[ErrorCode, int] = {
    ErrorCode.UNKNOWN_CHANNEL: 404,
    ErrorCode.UNKNOWN_GUILD: 404,
    ErrorCode.UNKNOWN_MEMBER: 404,
    ErrorCode.UNKNOWN_MESSAGE: 404,
    ErrorCode.UNKNOWN_USER: 404,
    ErrorCode.UNKNOWN_WEBHOOK: 404,
    ErrorCode.UNKNOWN_APPLICATION_COMMAND: 404,
    ErrorCode.UNKNOWN_INTERACTION: 404,
    ErrorCode.MISSING_ACCESS: 403,
    ErrorCode.CANNOT_SEND_TO_USER: 403,
    ErrorCode.CANNOT_EDIT_OTHERS_MESSAGE: 403,
    ErrorCode.MISSING_PERMISSIONS: 403,
    ErrorCode.INVALID_WEBHOOK_TOKEN: 401,
}


class ApiError(Exception):
    """Raised anywhere in the double; the REST layer turns it into Discord's error response."""

    def __init__(
        self,
        code: int,
        message: str | None = None,
        *,
        status: int | None = None,
        errors: dict[str, Any] | None = None,
    ) -> None:
        known = ErrorCode(code) if code in ErrorCode._value2member_map_ else None
        self.code = int(code)
        self.message = message or (_MESSAGES.get(known, "Error") if known else "Error")
        self.status = status or (_STATUS.get(known, 400) if known else 400)
        self.errors = errors
        super().__init__(f"{self.status} {self.code} {self.message}")

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def field_error(path: str, error_code: str, message: str) -> dict[str, Any]:
    """The nested ``errors`` object Discord uses for one bad field (``embeds.0.title``)."""
    node: dict[str, Any] = {"_errors": [{"code": error_code, "message": message}]}
    for part in reversed(path.split(".")):
        node = {part: node}
    return node


def merge_errors(into: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    for key, value in more.items():
        if key in into and isinstance(into[key], dict) and isinstance(value, dict):
            merge_errors(into[key], value)
        elif key == "_errors" and key in into:
            into[key].extend(value)
        else:
            into[key] = value
    return into


class FormErrors:
    """Collects field errors; ``raise_if_any`` raises one 50035 naming every bad field."""

    def __init__(self) -> None:
        self.errors: dict[str, Any] = {}

    def add(self, path: str, error_code: str, message: str) -> None:
        merge_errors(self.errors, field_error(path, error_code, message))

    def max_length(self, path: str, value: str | None, limit: int) -> None:
        if value is not None and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def bad_length(self, path: str, value: str | None, low: int, high: int) -> None:
        if value is None or not low <= len(value) <= high:
            self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def raise_if_any(self) -> None:
        if self.errors:
            raise ApiError(50035, errors=self.errors)
