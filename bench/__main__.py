"""Run every benchmark and print one table: ``python -m bench [--quick] [--only NAME ...]``.

A full run takes about an hour on a 2-core machine (most of it posting). A run that is not
``--quick`` writes each benchmark's table as a section of ``bench/RESULTS.md``, in place of that
benchmark's previous section (the others stay); ``--quick`` writes nothing unless ``--results``
names a file.
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
from bench.results import update_results

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
    sections: dict[str, tuple[list[Figure], float]] = {}
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="serialbot-bench-") as tmp:
        plan = _plan(options.quick, Path(tmp))
        for name in NAMES:
            if name not in chosen:
                continue
            print(f"running {name}…", file=sys.stderr, flush=True)
            started = time.perf_counter()
            found = plan[name]()
            figures += found
            seconds = time.perf_counter() - started
            sections[name] = (found, seconds)
            print(f"  {name}: {seconds:.0f} s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - began
    mode = "quick" if options.quick else "full"
    print(render_report(figures, machine=machine, mode=f"{mode}, {seconds / 60:.1f} min"))
    for figure in figures:
        if figure.passed is False:
            print(f"MISSED: {figure.benchmark}: {figure.name}: {figure.value} ({figure.target})")
    target = options.results
    if target is None and not options.quick:
        target = RESULTS
    if target is not None:
        command = "python -m bench" + (" --quick" if options.quick else "")
        runs = {}
        for name, (found, spent) in sections.items():
            title = found[0].benchmark if found else name.capitalize()
            report = render_report(found, machine=machine, mode=f"{mode}, {spent / 60:.1f} min")
            runs[title] = (f"{command} --only {name}" if options.only else command, report)
        update_results(target, runs)
        print(f"\nwritten to {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
