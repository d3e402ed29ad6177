"""Registered application commands, and the option payloads Discord builds when a member uses one
(``data.options`` nested by subcommand group and subcommand, ``data.resolved`` for entities)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .attachments import AttachmentHost
from .limits import OptionType, Permission
from .state import World
from .validate import check_commands

Json = dict[str, Any]


class CommandUnavailable(LookupError):
    """Discord's client would not offer this command here (unknown, wrong context, or the member
    lacks its default permissions)."""


@dataclass
class Sync:
    guild_id: int | None
    names: list[str]
    created: list[str]


@dataclass
class CommandRegistry:
    world: World
    global_commands: dict[tuple[int, str], Json] = field(default_factory=dict)
    guild_commands: dict[int, dict[tuple[int, str], Json]] = field(default_factory=dict)
    syncs: list[Sync] = field(default_factory=list)

    def scope(self, guild_id: int | None) -> dict[tuple[int, str], Json]:
        if guild_id is None:
            return self.global_commands
        return self.guild_commands.setdefault(guild_id, {})

    def overwrite(self, guild_id: int | None, commands: list[Json]) -> list[Json]:
        """PUT semantics: the list replaces the scope; a command keeps its id if its name and
        type were already registered."""
        check_commands(commands)
        old = self.scope(guild_id)
        new: dict[tuple[int, str], Json] = {}
        created: list[str] = []
        for command in commands:
            kind = int(command.get("type", 1))
            key = (kind, command["name"])
            previous = old.get(key)
            if previous is None:
                created.append(command["name"])
            stored = self._stored(command, guild_id, previous)
            new[key] = stored
        if guild_id is None:
            self.global_commands = new
        else:
            self.guild_commands[guild_id] = new
        self.syncs.append(Sync(guild_id, [k[1] for k in new], created))
        return list(new.values())

    def _stored(self, command: Json, guild_id: int | None, previous: Json | None) -> Json:
        stored = copy.deepcopy(command)
        stored.setdefault("type", 1)
        stored.setdefault("options", [])
        stored.setdefault("default_member_permissions", None)
        stored.setdefault("nsfw", False)
        stored["id"] = previous["id"] if previous else str(self.world.new_id())
        stored["application_id"] = str(self.world.application_id)
        stored["version"] = str(self.world.new_id())
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
            stored.pop("contexts", None)
            stored.pop("integration_types", None)
        else:
            stored.setdefault("contexts", [0, 1, 2])
            stored.setdefault("integration_types", [0])
        return stored

    def find(self, guild_id: int | None, name: str) -> tuple[Json, bool]:
        """The command a member in ``guild_id`` sees under ``name``; guild commands win."""
        if guild_id is not None:
            found = self.guild_commands.get(guild_id, {}).get((1, name))
            if found is not None:
                return found, True
        found = self.global_commands.get((1, name))
        if found is None:
            raise CommandUnavailable(f"/{name} is not registered for this guild or globally")
        return found, False

    def check_available(
        self, command: Json, *, is_guild: bool, in_guild: bool, member_permissions: int
    ) -> None:
        if not in_guild:
            contexts = command.get("contexts")
            dm_ok = command.get("dm_permission", True) and (contexts is None or 1 in contexts)
            if is_guild or not dm_ok:
                raise CommandUnavailable(f"/{command['name']} cannot be used in DMs")
            return
        contexts = command.get("contexts")
        if contexts is not None and 0 not in contexts:
            raise CommandUnavailable(f"/{command['name']} cannot be used in servers")
        required = command.get("default_member_permissions")
        if required is None:
            return
        needed = int(required)
        if member_permissions & Permission.administrator:
            return
        if needed == 0 or member_permissions & needed != needed:
            raise CommandUnavailable(
                f"/{command['name']} needs permissions {needed} by default; "
                "pass override=True to model a server that changed it"
            )


def split_path(path: str) -> list[str]:
    parts = path.strip().lstrip("/").split()
    if not parts:
        raise ValueError("empty command path")
    return parts


def _convert(
    world: World,
    option: Json,
    value: Any,
    resolved: Json,
    guild_id: int | None,
    *,
    forged: bool = False,
    attachments: AttachmentHost | None = None,
) -> Any:
    kind = OptionType(option["type"])
    if kind == OptionType.attachment:
        if attachments is None:
            raise ValueError(f"option {option['name']!r}: this double serves no attachments")
        entry = attachments.resolved(value)
        resolved.setdefault("attachments", {})[entry["id"]] = entry
        return entry["id"]
    if kind == OptionType.string:
        text = str(value)
        low, high = option.get("min_length"), option.get("max_length")
        if forged:
            return text
        if (low is not None and len(text) < low) or (high is not None and len(text) > high):
            raise ValueError(f"option {option['name']!r}: length outside {low}..{high}")
        return text
    if kind in (OptionType.integer, OptionType.number):
        if isinstance(value, bool):
            raise ValueError(f"option {option['name']!r} takes a number")
        number = int(value) if kind == OptionType.integer else float(value)
        low, high = option.get("min_value"), option.get("max_value")
        if forged:
            return number
        if (low is not None and number < low) or (high is not None and number > high):
            raise ValueError(f"option {option['name']!r}: {number} outside {low}..{high}")
        return number
    if kind == OptionType.boolean:
        return bool(value)
    snowflake = int(getattr(value, "id", value))
    if kind in (OptionType.user, OptionType.mentionable) and snowflake in world.users:
        resolved.setdefault("users", {})[str(snowflake)] = world.users[snowflake].to_dict()
        guild = world.guilds.get(guild_id) if guild_id else None
        if guild is not None and snowflake in guild.members:
            member = world.member_payload(guild.members[snowflake], with_user=False)
            resolved.setdefault("members", {})[str(snowflake)] = member
    elif kind in (OptionType.role, OptionType.mentionable):
        guild = world.guilds.get(guild_id) if guild_id else None
        role = guild.roles.get(snowflake) if guild else None
        if role is None:
            raise ValueError(f"option {option['name']!r}: unknown role {snowflake}")
        resolved.setdefault("roles", {})[str(snowflake)] = role.to_dict()
    elif kind == OptionType.channel:
        channel = world.channel(snowflake)
        entry = {
            "id": str(channel.id),
            "name": channel.name,
            "type": int(channel.type),
            "permissions": str(world.bot_permissions(channel.id)),
        }
        if channel.is_thread:
            entry.update(world.thread_payload(channel))
        elif channel.parent_id:
            entry["parent_id"] = str(channel.parent_id)
        resolved.setdefault("channels", {})[str(channel.id)] = entry
    else:
        raise ValueError(f"option {option['name']!r}: unsupported type {kind.name}")
    return str(snowflake)


def build_options(
    world: World,
    command: Json,
    path: list[str],
    values: Mapping[str, Any],
    *,
    guild_id: int | None,
    focused: str | None = None,
    forged: bool = False,
    attachments: AttachmentHost | None = None,
) -> tuple[list[Json], Json]:
    """``data.options`` and ``data.resolved`` for ``/command sub ... name:value``, in the order
    of the command's definition, as Discord's client fills them. ``forged`` skips the bounds
    the command declares, as a hand-made request would."""
    resolved: Json = {}
    definitions: list[Json] = command.get("options") or []
    wrappers: list[Json] = []
    for name in path[1:]:
        match = next(
            (
                o
                for o in definitions
                if o["name"] == name
                and o["type"] in (OptionType.sub_command, OptionType.sub_command_group)
            ),
            None,
        )
        if match is None:
            raise CommandUnavailable(f"/{' '.join(path)}: no subcommand {name!r}")
        wrappers.append({"type": match["type"], "name": name, "options": []})
        definitions = match.get("options") or []
    if any(
        o["type"] in (OptionType.sub_command, OptionType.sub_command_group) for o in definitions
    ):
        raise CommandUnavailable(f"/{' '.join(path)} is a group: name a subcommand")

    known = {o["name"]: o for o in definitions}
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(f"/{' '.join(path)} has no option(s) {sorted(unknown)}")
    leaf: list[Json] = []
    for option in definitions:
        name = option["name"]
        if name not in values:
            if option.get("required") and focused is None:
                raise ValueError(f"/{' '.join(path)}: option {name!r} is required")
            continue
        if name == focused:
            leaf.append(
                {"type": option["type"], "name": name, "value": str(values[name]), "focused": True}
            )
            continue
        value = _convert(
            world, option, values[name], resolved, guild_id, forged=forged, attachments=attachments
        )
        choices = option.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise ValueError(f"option {name!r}: {value!r} is not one of its choices")
        leaf.append({"type": option["type"], "name": name, "value": value})

    options = leaf
    for wrapper in reversed(wrappers):
        wrapper["options"] = options
        options = [wrapper]
    return options, resolved
