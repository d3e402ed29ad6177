"""Reading the file: UTF-8 YAML of plain data, a key given twice refused, every problem said
with the file's name (and, for bad YAML, the line and column)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.config._values import kind_of


class _Loader(yaml.SafeLoader):
    """Refuses a key given twice in one mapping: YAML would silently keep the last one."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, str) and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key '{key}' is given twice", key_node.start_mark
            )
        if isinstance(key, str):
            seen.add(key)
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path, problems: list[str]) -> dict[str, Any] | None:
    """The file's top-level mapping, or None (with the reason added to ``problems``)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"{path}: file not found")
        return None
    except UnicodeDecodeError:
        problems.append(f"{path}: not UTF-8 text")
        return None
    except OSError as error:
        problems.append(f"{path}: cannot be read ({error.strerror or error})")
        return None
    try:
        # A SafeLoader subclass: plain data only, never arbitrary objects.
        data = yaml.load(raw, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problems.append(f"{path}: not valid YAML{at}: {error.problem or error.context}")
        return None
    except yaml.YAMLError as error:
        problems.append(f"{path}: not valid YAML: {error}")
        return None
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(
            f"{path}: expected 'key: value' lines at the top level, found {kind_of(data)}"
        )
        return None
    return data
