"""Pages that are not read: active or embedded content, and nesting no real page has.

A page with a script, an event handler, a ``javascript:`` link, a frame, an object or embed is
not a story as its author wrote it, and reading it without those parts would hide that.
"""

from __future__ import annotations

# Active or embedded content: a page holding any is refused, not read without it.
_REFUSED = {
    "script": "a script",
    "iframe": "an embedded frame (iframe)",
    "frame": "a frame",
    "frameset": "a frameset",
    "object": "an embedded object (object)",
    "embed": "an embedded object (embed)",
    "applet": "an applet",
}
_LINK_ATTRIBUTES = frozenset(["href", "src", "action", "formaction", "data", "xlink:href"])
# Deeper than any real page nests its elements (browsers stop building the tree at 512).
MAX_NESTING = 512


class Refused(ValueError):
    """A page that is not read: ``str()`` says what it holds and at which line."""

    @classmethod
    def holding(cls, what: str, line: int) -> Refused:
        return cls(f"the page holds {what} at line {line}; active or embedded content is refused")

    @classmethod
    def nested(cls, line: int) -> Refused:
        return cls(
            f"tags nested more than {MAX_NESTING} deep (line {line}); no real page nests that deep"
        )


def active_content(tag: str, attrs: list[tuple[str, str | None]]) -> str | None:
    """The active or embedded content an element is or carries, as a reader would name it, or
    ``None``."""
    what = _REFUSED.get(tag)
    if what is not None:
        return what
    for name, value in attrs:
        if name.startswith("on"):
            return f"a script (the {name} attribute of <{tag}>)"
        if name in _LINK_ATTRIBUTES and value and _is_script_link(value):
            return f"a script (a javascript: link in <{tag}>)"
    return None


def _is_script_link(value: str) -> bool:
    # Browsers ignore white space and control characters inside the scheme.
    scheme = "".join(ch for ch in value[:64] if ch > " ").lower()
    return scheme.startswith(("javascript:", "vbscript:"))
