"""The benchmark scripts still run: each, at tiny sizes, produces its figures and a table. Speed
is not asserted; ``python -m bench`` measures it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench import (
    Figure,
    burst,
    interactions,
    memory,
    posting,
    render_report,
    render_table,
    scheduling,
    splitting,
)
from bench.machine import describe
from bench.results import update_results

TINY: dict[str, Callable[[], list[Figure]]] = {
    "splitting": lambda: splitting.run((0.02, 0.04), repeats=1),
    "scheduling": lambda: scheduling.run((100, 200), due=10),
    # Both parts (the second with its hand-off), under one window model to keep it short.
    "posting": lambda: posting.run((6,), ("fixed",)),
    "interactions": lambda: interactions.run(3, channels=2, subscriptions=50),
    "burst": lambda: burst.run(20, channels=2),
    "memory": lambda: memory.run(60, stories=2),
}


@pytest.mark.parametrize("name", list(TINY))
def test_benchmark_produces_its_figures_with_targets(name: str) -> None:
    figures = TINY[name]()

    assert figures
    assert all(f.value for f in figures)
    judged = [f for f in figures if f.passed is not None]
    assert judged, "every benchmark judges at least one figure against its target"
    assert all(f.target for f in judged)
    table = render_table(figures)
    assert all(f.name in table for f in figures)


def test_report_names_the_machine_and_counts_targets_met() -> None:
    figures = [
        Figure("A", "fast", "1 ms", "< 2 ms", True),
        Figure("A", "slow", "3 ms", "< 2 ms", False),
        Figure("A", "context", "7"),
    ]
    machine = describe().line()

    report = render_report(figures, machine=machine, mode="quick")

    assert machine in report
    assert "1 of 2 targets met" in report
    assert "**miss**" in report


def test_a_run_replaces_only_its_own_section_and_goes_first(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text(
        "# Benchmark results\n\nSections, newest first.\n\n"
        "## Posting\n\nold posting table\n\nprose about it\n\n"
        "## Splitting\n\nsplitting table\n",
        encoding="utf-8",
    )
    update_results(results, {"Interactions": ("python -m bench.interactions", "new table")})
    update_results(results, {"Posting": ("python -m bench.posting", "newer table")})

    text = results.read_text(encoding="utf-8")
    assert text.startswith("# Benchmark results\n\nSections, newest first.\n\n## Posting")
    titles = [line for line in text.splitlines() if line.startswith("## ")]
    assert titles == ["## Posting", "## Interactions", "## Splitting"]
    assert "newer table" in text and "old posting table" not in text
    assert "prose about it" not in text
    assert "splitting table" in text and "new table" in text
    assert "Produced by `python -m bench.posting`." in text
