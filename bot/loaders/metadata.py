"""Story metadata as front matter, a sidecar or a file's own preface gives it: each field checked,
each problem named with the file, the field and what it must be."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.story import Rating, StoryError

_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)

_FIELDS = (
    "title",
    "author",
    "rating",
    "content_notes",
    "summary",
    "words_per_part",
    "language",
    "author_notes",
)
_RATING_ALIASES = {
    "general audiences": Rating.GENERAL,
    "g": Rating.GENERAL,
    "teen and up audiences": Rating.TEEN,
    "teen and up": Rating.TEEN,
    "t": Rating.TEEN,
    "m": Rating.MATURE,
    "e": Rating.EXPLICIT,
}


def split_front_matter(path: Path, raw: str) -> tuple[str | None, str]:
    """(front matter YAML or None, the rest). Front matter opens with a ``---`` first line."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n") if "\r" in raw else raw
    newline = text.find("\n")  # not partition: it would copy the whole text
    if newline == -1 or text[:newline].rstrip() != "---":
        return None, text
    first_line = text[:newline]
    start = len(first_line) + 1
    end = _FRONT_MATTER_END.search(text, start)
    if end is None:
        raise StoryError(path, "front matter is not closed (no '---' line after the opening one)")
    rest_start = end.end() + 1
    return text[start : end.start()], text[rest_start:]


def parse_metadata(path: Path, source: str, what: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error).split("\n", 1)[0]
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise StoryError(path, f"invalid YAML in the {what}{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise StoryError(
            path, f"the {what} must be a mapping of fields, not a {type(data).__name__}"
        )
    fields: dict[str, Any] = {}
    for key, value in data.items():
        name = re.sub(r"[\s-]+", "_", str(key).strip().lower())
        if name not in _FIELDS:
            known = ", ".join(_FIELDS)
            raise StoryError(path, f"unknown field '{key}' in the {what} (known: {known})")
        if value is None:
            continue
        fields[name] = check_field(path, what, name, value)
    return fields


def check_field(path: Path, what: str, name: str, value: Any) -> Any:
    def bad(expected: str) -> StoryError:
        return StoryError(path, f"'{name}' in the {what} must be {expected}, not {value!r}")

    if name in ("title", "author", "summary", "language"):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise bad("text")
        text = " ".join(str(value).split()) if name != "summary" else str(value).strip()
        if not text:
            raise bad("non-empty text")
        return text
    if name == "rating":
        key = " ".join(str(value).strip().lower().split())
        try:
            return _RATING_ALIASES.get(key) or Rating(key)
        except ValueError:
            choices = ", ".join(r.value for r in Rating)
            raise StoryError(
                path, f"unknown rating {value!r} in the {what} (expected one of: {choices})"
            ) from None
    if name == "content_notes":
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise bad("a list of text")
        return tuple(n for n in (" ".join(i.split()) for i in items) if n)
    if name == "author_notes":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if name == "words_per_part":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad("a positive whole number")
        return value
    raise AssertionError(name)
