"""``bench/RESULTS.md``: sections from separate runs, newest first. A run replaces the sections of
the benchmarks it ran (a section is a ``## Title`` heading and what follows it, up to the next)
and keeps every other section as it was, prose included."""

from __future__ import annotations

from pathlib import Path

HEADER = (
    "# Benchmark results\n\n"
    "Sections from separate runs, newest first, each with its command, date and machine. What "
    "each figure means and how it is measured is described at the top of each module in "
    "`bench/`.\n"
)


def split_sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The text before the first section, and each section as (title, whole text)."""
    head: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            sections.append((line[3:].strip(), [line]))
        elif sections:
            sections[-1][1].append(line)
        else:
            head.append(line)
    return "".join(head), [(title, "".join(lines)) for title, lines in sections]


def section(title: str, command: str, report: str) -> str:
    return f"## {title}\n\nProduced by `{command}`.\n\n{report.strip()}\n\n"


def update_results(path: Path, runs: dict[str, tuple[str, str]]) -> None:
    """Put a section per benchmark in ``runs`` (title → (command, report)) at the top of
    ``path``, in place of the sections of the same titles; the rest stay, in their order."""
    text = path.read_text(encoding="utf-8") if path.is_file() else HEADER
    head, old = split_sections(text)
    fresh = [section(title, command, report) for title, (command, report) in runs.items()]
    kept = [body for title, body in old if title not in runs]
    body = "".join(fresh + kept).rstrip("\n") + "\n"
    path.write_text(
        (head.rstrip("\n") + "\n\n" if head.strip() else HEADER + "\n") + body, encoding="utf-8"
    )
