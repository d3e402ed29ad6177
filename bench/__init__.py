"""Benchmarks: scripts that measure serialbot and print figures next to their targets.

``python -m bench`` runs every benchmark and prints one table; ``python -m bench.splitting`` (and
``scheduling``, ``posting``, ``interactions``, ``burst``, ``memory``) runs one. ``--quick`` runs
smaller sizes.
These print numbers; they are not tests and assert nothing about speed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["Figure", "render_report", "render_table"]


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure. ``passed`` is None when the figure has no target (context only)."""

    benchmark: str
    name: str
    value: str
    target: str = ""
    passed: bool | None = None

    @property
    def result(self) -> str:
        if self.passed is None:
            return ""
        return "pass" if self.passed else "**miss**"


def render_table(figures: Iterable[Figure]) -> str:
    """A Markdown table, so the same text reads in a terminal and in the README."""
    rows = [("Benchmark", "Figure", "Value", "Target", "Result")]
    rows += [
        tuple(_cell(c) for c in (f.benchmark, f.name, f.value, f.target, f.result)) for f in figures
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    divider = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(rows[0]), divider, *(line(r) for r in rows[1:])])


def _cell(text: str) -> str:
    # A bar would end the cell early in Markdown.
    return text.replace("|", "/")


def render_report(figures: Iterable[Figure], *, machine: str, mode: str) -> str:
    figures = list(figures)
    today = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    missed = sum(1 for f in figures if f.passed is False)
    judged = sum(1 for f in figures if f.passed is not None)
    return "\n".join(
        [
            f"Date: {today}  ",
            f"Machine: {machine}  ",
            f"Run: {mode}; {judged - missed} of {judged} targets met",
            "",
            render_table(figures),
        ]
    )
