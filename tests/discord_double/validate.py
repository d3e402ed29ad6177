"""Discord's checks on what a client sends: message bodies, embeds, allowed mentions, application
command definitions and autocomplete answers. Each failure is the 400 (50035 or 50006) Discord
gives, with an ``errors`` object naming the field."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .components import check_components
from .errors import ApiError, FormErrors
from .limits import (
    AUTOCOMPLETE_CHOICES_MAX,
    CHOICE_NAME_MAX,
    CHOICE_STRING_VALUE_MAX,
    COMMAND_CHOICES_MAX,
    COMMAND_DESCRIPTION_MAX,
    COMMAND_NAME_PATTERN,
    COMMAND_OPTIONS_MAX,
    EMBED_AUTHOR_NAME_MAX,
    EMBED_DESCRIPTION_MAX,
    EMBED_FIELD_NAME_MAX,
    EMBED_FIELD_VALUE_MAX,
    EMBED_FIELDS_MAX,
    EMBED_FOOTER_TEXT_MAX,
    EMBED_TITLE_MAX,
    EMBED_TOTAL_MAX,
    EMBEDS_MAX,
    MESSAGE_CONTENT_MAX,
    NONCE_MAX,
    ErrorCode,
    OptionType,
    Permission,
)
from .state import World

Json = dict[str, Any]

_USER_MENTION = re.compile(r"<@!?(\d{15,21})>")
_ROLE_MENTION = re.compile(r"<@&(\d{15,21})>")
_EVERYONE = re.compile(r"@(everyone|here)")
_PARSE_TYPES = frozenset({"everyone", "users", "roles"})
_COMMAND_NAME = re.compile(COMMAND_NAME_PATTERN)


def embed_text_length(embed: Json) -> int:
    """The characters Discord counts towards the 6,000 per message."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    for embed_field in embed.get("fields") or []:
        total += len(embed_field.get("name") or "") + len(embed_field.get("value") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    return total


def check_message_body(
    payload: Json, *, files: int = 0, prefix: str = "", edit: bool = False
) -> None:
    """Validate a message create/edit body the way Discord does; raise ApiError on failure."""
    errors = FormErrors()
    content = payload.get("content")
    if content is not None and not isinstance(content, str):
        errors.add(
            f"{prefix}content", "STRING_TYPE_CONVERT", "Could not interpret value as string."
        )
    elif content is not None:
        errors.max_length(f"{prefix}content", content, MESSAGE_CONTENT_MAX)

    embeds = payload.get("embeds") or []
    if len(embeds) > EMBEDS_MAX:
        errors.add(
            f"{prefix}embeds", "BASE_TYPE_MAX_LENGTH", f"Must be {EMBEDS_MAX} or fewer in length."
        )
    for index, embed in enumerate(embeds):
        path = f"{prefix}embeds.{index}"
        errors.max_length(f"{path}.title", embed.get("title"), EMBED_TITLE_MAX)
        errors.max_length(f"{path}.description", embed.get("description"), EMBED_DESCRIPTION_MAX)
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS_MAX:
            errors.add(
                f"{path}.fields",
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {EMBED_FIELDS_MAX} or fewer in length.",
            )
        for number, embed_field in enumerate(fields):
            for key, limit in (("name", EMBED_FIELD_NAME_MAX), ("value", EMBED_FIELD_VALUE_MAX)):
                value = embed_field.get(key)
                if not value:
                    errors.add(
                        f"{path}.fields.{number}.{key}",
                        "BASE_TYPE_REQUIRED",
                        "This field is required",
                    )
                else:
                    errors.max_length(f"{path}.fields.{number}.{key}", value, limit)
        errors.max_length(
            f"{path}.footer.text", (embed.get("footer") or {}).get("text"), EMBED_FOOTER_TEXT_MAX
        )
        errors.max_length(
            f"{path}.author.name", (embed.get("author") or {}).get("name"), EMBED_AUTHOR_NAME_MAX
        )
    if sum(embed_text_length(e) for e in embeds) > EMBED_TOTAL_MAX:
        errors.add(
            f"{prefix}embeds",
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}",
        )

    nonce = payload.get("nonce")
    if nonce is not None and len(str(nonce)) > NONCE_MAX:
        errors.max_length(f"{prefix}nonce", str(nonce), NONCE_MAX)

    allowed = payload.get("allowed_mentions")
    if allowed is not None:
        parse = allowed.get("parse") or []
        for number, kind in enumerate(parse):
            if kind not in _PARSE_TYPES:
                errors.add(
                    f"{prefix}allowed_mentions.parse.{number}",
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {'everyone', 'users', 'roles'}.",
                )
        for kind in ("users", "roles"):
            if kind in parse and allowed.get(kind):
                errors.add(
                    f"{prefix}allowed_mentions",
                    "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                    f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
                )
    check_components(errors, payload.get("components"), prefix)
    errors.raise_if_any()
    if edit:
        return

    has_body = bool(content) or bool(embeds) or files > 0 or bool(payload.get("attachments"))
    has_body = has_body or bool(payload.get("sticker_ids")) or bool(payload.get("components"))
    has_body = has_body or bool(payload.get("poll"))
    if not has_body:
        raise ApiError(ErrorCode.CANNOT_SEND_EMPTY_MESSAGE)


def resolve_mentions(
    world: World,
    *,
    guild_id: int | None,
    author_id: int,
    channel_id: int,
    content: str,
    allowed: Json | None,
) -> tuple[bool, list[int], list[int]]:
    """Who a message notifies: (mention_everyone, user ids, role ids), as Discord computes it."""
    parse = set(_PARSE_TYPES) if allowed is None else set(allowed.get("parse") or [])
    allowed_users = {int(u) for u in (allowed or {}).get("users") or []}
    allowed_roles = {int(r) for r in (allowed or {}).get("roles") or []}
    perms = world.permissions(author_id, channel_id) if guild_id is not None else 0
    can_mention_everyone = bool(perms & Permission.mention_everyone)

    everyone = bool(_EVERYONE.search(content)) and "everyone" in parse and can_mention_everyone

    users: list[int] = []
    for match in _USER_MENTION.finditer(content):
        user_id = int(match.group(1))
        if user_id in users or user_id not in world.users:
            continue
        if "users" in parse or user_id in allowed_users:
            users.append(user_id)

    roles: list[int] = []
    guild = world.guilds.get(guild_id) if guild_id is not None else None
    for match in _ROLE_MENTION.finditer(content):
        role_id = int(match.group(1))
        role = guild.roles.get(role_id) if guild else None
        if role is None or role_id in roles:
            continue
        if not (role.mentionable or can_mention_everyone):
            continue
        if "roles" in parse or role_id in allowed_roles:
            roles.append(role_id)
    return everyone, users, roles


def _check_options(options: list[Json], errors: FormErrors, path: str, depth: int) -> None:
    if len(options) > COMMAND_OPTIONS_MAX:
        errors.add(
            path, "BASE_TYPE_MAX_LENGTH", f"Must be {COMMAND_OPTIONS_MAX} or fewer in length."
        )
    seen: set[str] = set()
    optional_seen = False
    for index, option in enumerate(options):
        here = f"{path}.{index}"
        name = option.get("name") or ""
        if not _COMMAND_NAME.match(name) or name != name.lower():
            errors.add(
                f"{here}.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
            )
        if name in seen:
            errors.add(
                f"{here}.name",
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                "Option name already exists",
            )
        seen.add(name)
        errors.bad_length(
            f"{here}.description", option.get("description"), 1, COMMAND_DESCRIPTION_MAX
        )
        try:
            kind = OptionType(option.get("type"))
        except ValueError:
            errors.add(f"{here}.type", "BASE_TYPE_CHOICES", "Value must be a valid option type.")
            continue
        if kind in (OptionType.sub_command, OptionType.sub_command_group):
            if depth >= (1 if kind == OptionType.sub_command_group else 2):
                errors.add(
                    f"{here}.type", "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Nesting too deep"
                )
            _check_options(option.get("options") or [], errors, f"{here}.options", depth + 1)
            continue
        required = bool(option.get("required"))
        if required and optional_seen:
            errors.add(
                f"{here}.required",
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID_ORDER",
                "Required options must be placed before non-required options",
            )
        optional_seen = optional_seen or not required
        choices = option.get("choices") or []
        if choices and option.get("autocomplete"):
            errors.add(
                f"{here}.autocomplete",
                "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID_CHOICES",
                "Autocomplete cannot be set with choices",
            )
        check_choices(choices, errors, f"{here}.choices", COMMAND_CHOICES_MAX)


def check_choices(choices: list[Json], errors: FormErrors, path: str, limit: int) -> None:
    if len(choices) > limit:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
    for number, choice in enumerate(choices):
        errors.bad_length(f"{path}.{number}.name", choice.get("name"), 1, CHOICE_NAME_MAX)
        value = choice.get("value")
        if isinstance(value, str):
            errors.max_length(f"{path}.{number}.value", value, CHOICE_STRING_VALUE_MAX)


def check_commands(commands: Iterable[Json]) -> None:
    errors = FormErrors()
    names: set[tuple[int, str]] = set()
    for index, command in enumerate(commands):
        kind = int(command.get("type", 1))
        name = command.get("name") or ""
        if (kind, name) in names:
            errors.add(
                f"{index}.name",
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            )
        names.add((kind, name))
        if kind == 1:
            if not _COMMAND_NAME.match(name) or name != name.lower():
                errors.add(
                    f"{index}.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
                )
            errors.bad_length(
                f"{index}.description", command.get("description"), 1, COMMAND_DESCRIPTION_MAX
            )
        _check_options(command.get("options") or [], errors, f"{index}.options", 0)
    errors.raise_if_any()


def check_autocomplete_choices(data: Json) -> None:
    errors = FormErrors()
    check_choices(data.get("choices") or [], errors, "data.choices", AUTOCOMPLETE_CHOICES_MAX)
    errors.raise_if_any()
