"""Project Gutenberg's header and footer, in every era of the format.

- Current and older files: ``*** START OF THE/THIS PROJECT GUTENBERG EBOOK X ***`` (the title may
  wrap over several lines, spaces around the asterisks vary, the line may be indented) and a
  matching END line, which some generators indented; older files also put an ``End of the Project
  Gutenberg EBook of X`` line before it.
- The oldest ("small print") files: the header ends with ``*END*THE SMALL PRINT! ...*END*``, is
  followed by the banner again, and the text ends before ``End of The Project Gutenberg Etext``.

After the header come, in many files, credits ("Produced by ...") and the banner; both go with the
header. The header's ``Title:``, ``Author:`` and ``Language:`` lines (or in the oldest files the
banner, "The Project Gutenberg Etext of X, by Y") become metadata.
"""

from __future__ import annotations

import re

_WINDOW = 100_000
_START = re.compile(
    r"^[ \t]*\*{3}[ \t]*START OF (?:THE|THIS) PROJECT GUTENBERG E-?(?:BOOK|TEXT)"
    r"(?:[^*\n]|\n(?![ \t]*\n))*?\*{3}[^\n]*$"
    r"|^[ \t]*\*{3}[ \t]*START OF (?:THE|THIS) PROJECT GUTENBERG[^\n]*$"
    r"|^[ \t]*\*END\*THE SMALL PRINT[^\n]*$",
    re.IGNORECASE | re.MULTILINE,
)
_END = re.compile(
    r"^[ \t]*(?:\*{3}[ \t]*END OF (?:THE|THIS) PROJECT GUTENBERG"
    r"|End of (?:the |this )?Project Gutenberg)",
    re.IGNORECASE | re.MULTILINE,
)
_FIELD = re.compile(r"^(Title|Author|Language):[ \t]*(\S[^\n]*(?:\n[ \t]+\S[^\n]*)*)", re.MULTILINE)
_BANNER = re.compile(
    r"^\W*The Project Gutenberg E-?(?:Book|text) of (?P<title>[^\n*]+?)"
    r"(?:, by (?P<author>[^\n*]+))?\W*$",
    re.IGNORECASE | re.MULTILINE,
)
_BREAKS_OFF = re.compile(r"(?:[,;:(]|\b(?:of|and|or|the|a|an|in|on|to|for|with|by))$", re.I)
_SERIES_BY = re.compile(r"^#\d+ in our series by ([^\n]+)$", re.MULTILINE)
# Blocks right after the header that belong to it: credits, the banner repeated, the series note.
_BOILERPLATE = re.compile(
    r"project gutenberg|\betext\b|e-text|\bebook #|in our series|^\s*(?:produced|prepared|"
    r"transcribed|digitized|proofread)\b[^\n]*\bby\b|proofreading team|www\.|https?://",
    re.IGNORECASE,
)
_BOILERPLATE_BLOCK_CHARS = 1200
_BOILERPLATE_BLOCKS = 6


def strip(text: str) -> tuple[str, dict[str, str]]:
    """(the body between header and footer, metadata fields the header gives). ``text`` is
    normalised; a text without a Gutenberg header comes back unchanged with no fields."""
    head = text[:_WINDOW]
    if "gutenberg" not in head.lower():
        return text, {}
    start = _START.search(head)
    if start is None:
        return text, {}
    fields = _fields(text[: start.start()])
    tail_from = max(start.end(), len(text) - _WINDOW)
    end = _END.search(text, tail_from)
    body = text[start.end() : end.start() if end else len(text)]
    return _drop_leading_boilerplate(body), fields


def _fields(header: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in _FIELD.findall(header):
        first, *more = value.split("\n")
        # A title's continuation lines are its subtitle unless the first line breaks off.
        if name == "Title" and more and not _BREAKS_OFF.search(first):
            value = first
        fields.setdefault(name.lower(), " ".join(value.split()))
    banner = _BANNER.search(header)
    if banner is not None:
        fields.setdefault("title", " ".join(banner.group("title").split()))
        if banner.group("author"):
            fields.setdefault("author", " ".join(banner.group("author").split()))
    series = _SERIES_BY.search(header)
    if series is not None:
        fields.setdefault("author", " ".join(series.group(1).split()))
    return {k: v for k, v in fields.items() if v}


def _drop_leading_boilerplate(body: str) -> str:
    position = 0
    for _ in range(_BOILERPLATE_BLOCKS):
        match = re.compile(r"\S[^\n]*(?:\n[ \t]*\S[^\n]*)*").search(body, position)
        if match is None:
            break
        block = match.group()
        if len(block) > _BOILERPLATE_BLOCK_CHARS or not _BOILERPLATE.search(block):
            break
        position = match.end()
    return body[position:]
