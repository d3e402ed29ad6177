"""What each HTML element is to a reader of stories: dropped with its content, a block of its
own, empty, one whose end tag may be left out, or a mark (an id or class) worth remembering."""

from __future__ import annotations

# Elements whose end tag may be left out: a run of them is a run of siblings, not nesting.
OPTIONAL_END_ELEMENTS = frozenset(
    ["p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead", "tbody", "tfoot"]
)

# Elements whose content is never story text.
DROPPED_ELEMENTS = frozenset(
    [
        "script",
        "style",
        "iframe",
        "frame",
        "frameset",
        "noscript",
        "template",
        "svg",
        "math",
        "object",
        "embed",
        "canvas",
        "form",
        "select",
        "textarea",
        "button",
        "head",
        "title",
        "audio",
        "applet",
        "video",
        "map",
    ]
)
BLOCK_ELEMENTS = frozenset(
    [
        "p",
        "div",
        "section",
        "article",
        "main",
        "header",
        "footer",
        "aside",
        "nav",
        "blockquote",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "table",
        "tr",
        "td",
        "th",
        "pre",
        "figure",
        "figcaption",
        "address",
        "center",
        "body",
        "html",
        "hgroup",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
    ]
)
VOID_ELEMENTS = frozenset(
    [
        "br",
        "hr",
        "img",
        "input",
        "meta",
        "link",
        "col",
        "area",
        "base",
        "wbr",
        "source",
        "track",
        "param",
        "embed",
    ]
)
# The ids and classes worth remembering (Archive of Our Own downloads), and how many at most.
MARKS = frozenset(
    [
        "#preface",
        "#chapters",
        "#afterword",
        "#endnotes",
        ".meta",
        ".group",
        ".userstuff",
        ".tags",
        ".byline",
        ".heading",
        ".toc-heading",
        ".message",
        ".endnote-link",
        ".notes",
        ".summary",
        ".chapter",
    ]
)
MAX_MARKS = 24


def marks(tag: str, attrs: list[tuple[str, str | None]]) -> tuple[str, ...]:
    """The marks an element sets on the blocks inside it."""
    found: list[str] = ["blockquote"] if tag == "blockquote" else []
    for name, value in attrs:
        if not value:
            continue
        if name == "id" and f"#{value}" in MARKS:
            found.append(f"#{value}")
        elif name == "class":
            found.extend(f".{c}" for c in value.split() if f".{c}" in MARKS)
    return tuple(found)
