"""A part's opening and closing lines as a channel will read them, for a preview: the text of
the part as ``render_part`` posts it (escaped, its emphasis as markdown), one line of it,
shortened to a budget with every marker it opens closed again."""

from __future__ import annotations

from bot.render._markdown import Emphasis, clip_emphasized, runs_within
from bot.render._parts import text_blocks
from bot.story import Part, Serial


def part_lines(serial: Serial, part: Part, budget: int) -> tuple[str, str] | None:
    """The first line of the part's first paragraph and the last line of its last one (headings
    and scene breaks aside), each at most ``budget`` characters as posted; None for a part with
    no text but headings."""
    blocks = text_blocks(serial, part)
    if not blocks:
        return None
    first_raw, first_runs = blocks[0]
    last_raw, last_runs = blocks[-1]
    return (
        _line(first_raw, first_runs, budget, first=True),
        _line(last_raw, last_runs, budget, first=False),
    )


def _line(raw: str, emphasis: Emphasis, budget: int, *, first: bool) -> str:
    lines = raw.split("\n")
    start = 0
    chosen = lines[0]
    if not first:
        start = len(raw) - len(lines[-1])
        chosen = lines[-1]
    # Runs never hold a line break: those of this line, relative to it.
    runs = runs_within(emphasis, start, start + len(chosen)) if emphasis else []
    lead = len(chosen) - len(chosen.lstrip())
    shown = chosen.strip()
    runs = [(a - lead, b - lead, style) for a, b, style in runs]
    return clip_emphasized(shown, runs, budget)
