"""The check of each value in the file: its type and its range, said in words a person who
edited the file by hand understands."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config._settings import DISCUSSION_RULE_MAX, SHARD_COUNT_MAX
from bot.origins import OriginError, parse_origin
from bot.schedule import ScheduleError, parse_schedule, timezone_names


class InvalidValue(Exception):
    """One value's problem; the caller adds the file and the key."""


ValueCheck = Callable[[Any], Any]


def kind_of(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"text ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a section"
    return type(value).__name__


def whole_number(low: int, high: int, unit: str = "") -> ValueCheck:
    def check(value: Any) -> int:
        # bool is an int in Python, but "true" is never a meaningful count.
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidValue(f"expected a whole number, got {kind_of(value)}")
        if not low <= value <= high:
            raise InvalidValue(f"{value} is out of range (allowed: {low} to {high}{unit})")
        return value

    return check


def fraction(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValue(f"expected a number such as 0.35, got {kind_of(value)}")
    if not 0 < value < 1:
        raise InvalidValue(f"{value} is out of range (allowed: more than 0 and less than 1)")
    return float(value)


def number(low: float, high: float, unit: str = "") -> ValueCheck:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValue(f"expected a number, got {kind_of(value)}")
        if not low <= value <= high:
            raise InvalidValue(f"{value} is out of range (allowed: {low:g} to {high:g}{unit})")
        return float(value)

    return check


def one_of(allowed: tuple[Any, ...], *, fold: bool = False) -> ValueCheck:
    listed = ", ".join(str(a) for a in allowed)

    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, type(allowed[0])):
            raise InvalidValue(f"expected one of {listed}, got {kind_of(value)}")
        key = value.upper() if fold and isinstance(value, str) else value
        if key not in allowed:
            raise InvalidValue(f"{value!r} is not allowed (use one of {listed})")
        return key

    return check


def flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidValue(f"expected true or false, got {kind_of(value)}")
    return value


def text(value: Any) -> str:
    if not isinstance(value, str):
        hint = " (put it in quotes)" if isinstance(value, int | float) else ""
        raise InvalidValue(f"expected text, got {kind_of(value)}{hint}")
    if not value.strip():
        raise InvalidValue("is empty")
    return value.strip()


def schedule(value: Any) -> str:
    given = text(value)
    try:
        parse_schedule(given)
    except ScheduleError as error:
        raise InvalidValue(str(error)) from None
    return given


def timezone(value: Any) -> str:
    name = text(value)
    known = timezone_names()
    canonical = known.get(name) or known.get(name.lower())
    if canonical is not None:
        return canonical
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        close = difflib.get_close_matches(name, sorted(set(known.values())), n=1)
        example = close[0] if close else "Europe/Berlin"
        raise InvalidValue(
            f"unknown timezone {name!r} (use an IANA name such as {example})"
        ) from None
    return name


def shard_count(value: Any) -> int | None:
    if value is None:
        return None
    return whole_number(1, SHARD_COUNT_MAX)(value)


def shard_ids(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, list | int):
        raise InvalidValue(f"expected a list of shard numbers such as [0, 1], got {kind_of(value)}")
    items = value if isinstance(value, list) else [value]
    if not items:
        raise InvalidValue("is an empty list (give the shard numbers, or null for all of them)")
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or item < 0:
            raise InvalidValue(f"{item!r} is not a shard number (0, 1, 2, ...)")
    if len(set(items)) != len(items):
        raise InvalidValue("names a shard twice")
    return tuple(items)


def discussion_rule(value: Any) -> str:
    rule = text(value)
    if len(rule) > DISCUSSION_RULE_MAX:
        raise InvalidValue(f"is {len(rule)} characters long; keep it to {DISCUSSION_RULE_MAX}")
    return rule


def server_id(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(
            f"expected a server id (a number such as 123456789012345678) or null, "
            f"got {kind_of(value)}"
        )
    if value <= 0:
        raise InvalidValue(f"{value} is not a server id (server ids are positive numbers)")
    return value


def port(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(f"expected a port number (1 to 65535) or null, got {kind_of(value)}")
    if not 1 <= value <= 65535:
        raise InvalidValue(f"{value} is out of range (allowed: 1 to 65535, or null for off)")
    return value


def origins(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise InvalidValue(
            f"expected a list of origins such as [https://files.example.net], got {kind_of(value)}"
        )
    found: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise InvalidValue(
                f"{item!r} is not an origin (give text such as https://files.example.net)"
            )
        try:
            found.append(parse_origin(item))
        except OriginError as error:
            raise InvalidValue(str(error)) from None
    return tuple(dict.fromkeys(found))
