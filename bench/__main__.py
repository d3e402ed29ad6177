"""Run every benchmark and print one table: ``python -m bench [--quick] [--only NAME ...]``.

A full run takes about 55 minutes on a 2-core machine (48 of them posting) and writes its table to
``bench/RESULTS.md``; ``--quick`` runs smaller sizes in a few minutes and writes nothing unless
``--results`` names a file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import (
    Figure,
    burst,
    interactions,
    memory,
    posting,
    render_report,
    scheduling,
    splitting,
    stores,
)
from bench.machine import describe

RESULTS = Path(__file__).with_name("RESULTS.md")
NAMES = ("splitting", "scheduling", "posting", "interactions", "burst", "memory", "stores")


def _plan(quick: bool, workdir: Path) -> dict[str, Callable[[], list[Figure]]]:
    # The scheduling benchmark leaves its largest database for the memory benchmark, which
    # saves building 100k subscriptions twice.
    sizes = scheduling.QUICK_SIZES if quick else scheduling.FULL_SIZES
    database = workdir / f"subscriptions-{sizes[-1]}.sqlite3"
    return {
        "splitting": lambda: splitting.run(
            splitting.QUICK_SIZES_MB if quick else splitting.FULL_SIZES_MB,
            repeats=2 if quick else 3,
        ),
        "scheduling": lambda: scheduling.run(sizes, keep_database=database),
        "posting": lambda: posting.run(posting.QUICK_CHANNELS if quick else posting.FULL_CHANNELS),
        "interactions": lambda: interactions.run(
            interactions.QUICK_SAMPLES if quick else interactions.FULL_SAMPLES,
            subscriptions=(
                interactions.QUICK_SUBSCRIPTIONS if quick else interactions.FULL_SUBSCRIPTIONS
            ),
        ),
        "burst": lambda: burst.run(burst.QUICK_INTERACTIONS if quick else burst.FULL_INTERACTIONS),
        "memory": lambda: memory.run(sizes[-1], database=database if database.is_file() else None),
        "stores": lambda: stores.run(stores.QUICK_SIZE if quick else stores.SIZE),
    }


def results_text(report: str, *, command: str, seconds: float) -> str:
    return (
        "# Benchmark results\n\n"
        f"Produced by `{command}` in {seconds / 60:.1f} minutes. What each figure means and how "
        "it is measured is described at the top of each module in `bench/`.\n\n" + report + "\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, about a minute")
    parser.add_argument("--only", nargs="+", choices=NAMES, help="run only these benchmarks")
    parser.add_argument(
        "--results",
        type=Path,
        help=f"write the table here (a full run of everything writes {RESULTS.name} by default)",
    )
    options = parser.parse_args(argv)
    chosen = options.only or list(NAMES)
    machine = describe().line()
    figures: list[Figure] = []
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="serialbot-bench-") as tmp:
        plan = _plan(options.quick, Path(tmp))
        for name in NAMES:
            if name not in chosen:
                continue
            print(f"running {name}…", file=sys.stderr, flush=True)
            started = time.perf_counter()
            figures += plan[name]()
            print(f"  {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - began
    mode = "quick" if options.quick else "full"
    if options.only:
        mode += f" ({', '.join(chosen)})"
    report = render_report(figures, machine=machine, mode=f"{mode}, {seconds / 60:.1f} min")
    print(report)
    for figure in figures:
        if figure.passed is False:
            print(f"MISSED: {figure.benchmark}: {figure.name}: {figure.value} ({figure.target})")
    target = options.results
    if target is None and not options.quick and not options.only:
        target = RESULTS
    if target is not None:
        command = "python -m bench" + (" --quick" if options.quick else "")
        target.write_text(results_text(report, command=command, seconds=seconds), encoding="utf-8")
        print(f"\nwritten to {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
