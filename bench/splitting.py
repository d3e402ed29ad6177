"""Splitting throughput: a generated novel loaded (read, normalised, structured) and cut into parts,
against a floor measured in the same run: reading the same file, splitting it on blank lines and
counting its words, which any loader must do at least.

The same novel is also loaded as an HTML page and as an EPUB (a page per chapter): the EPUB of a
1 MB novel must load and split in under half a second.

Novels of 1, 5 and 20 MB (chapters, scene markers, wide gaps, dialogue) are written to a temporary
folder from a seeded generator. Speed is the best of a few runs without tracing; peak memory is
measured in a separate run under ``tracemalloc`` (which slows Python down), as bytes allocated at
the peak per byte of input, so "linear" reads as a flat ratio.

    python -m bench.splitting [--quick]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import Figure, render_report
from bench._data import write_epub_novel, write_html_novel, write_novel
from bench.machine import describe
from bot.library import load_story, make_serial
from bot.splitter import DEFAULT_WORDS_PER_PART

NAME = "Splitting"
TARGET_MB_PER_S = 20.0
# Load + split speed as a share of the floor's speed.
TARGET_FLOOR_SHARE = 0.35
TARGET_EPUB_SECONDS = 0.5
MARKUP_NOVEL_MB = 1.0
# Peak memory per input byte at the largest size may exceed the smallest size's by this factor
# and still count as linear (fixed costs make small inputs look relatively dearer, not cheaper).
LINEAR_SLACK = 1.25
FULL_SIZES_MB = (1.0, 5.0, 20.0)
QUICK_SIZES_MB = (1.0, 5.0)
MB = 1_000_000


@dataclass(frozen=True, slots=True)
class SplitRun:
    size_bytes: int
    seconds: float
    parts: int
    peak_bytes: int
    floor_seconds: float = 0.0

    @property
    def floor_share(self) -> float:
        return self.floor_seconds / self.seconds

    @property
    def mb_per_s(self) -> float:
        return self.size_bytes / MB / self.seconds

    @property
    def peak_per_byte(self) -> float:
        return self.peak_bytes / self.size_bytes


def _load_and_split(path: Path) -> int:
    story = load_story(path)
    return len(make_serial(story, DEFAULT_WORDS_PER_PART).parts)


def _floor(path: Path) -> int:
    """Read the file, split it on blank lines and count the words: the least a loader does."""
    text = path.read_bytes().decode("utf-8")
    return sum(len(block.split()) for block in text.split("\n\n"))


def measure(path: Path, *, repeats: int, with_floor: bool = True) -> SplitRun:
    size = path.stat().st_size
    best = floor = float("inf")
    parts = 0
    # Interleaved, so that both see the same load on the machine.
    for _ in range(repeats):
        if with_floor:
            gc.collect()
            started = time.perf_counter()
            _floor(path)
            floor = min(floor, time.perf_counter() - started)
        gc.collect()
        started = time.perf_counter()
        parts = _load_and_split(path)
        best = min(best, time.perf_counter() - started)
    gc.collect()
    tracemalloc.start()
    try:
        _load_and_split(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return SplitRun(size, best, parts, peak, floor)


def run(sizes_mb: Sequence[float] = FULL_SIZES_MB, *, repeats: int = 3) -> list[Figure]:
    runs: list[SplitRun] = []
    with tempfile.TemporaryDirectory(prefix="serialbot-bench-") as tmp:
        folder = Path(tmp)
        # Warm up imports and compiled patterns so the first size is not charged for them.
        _load_and_split(write_novel(folder, "warm-up", 50_000, seed=99))
        _load_and_split(write_epub_novel(folder, "warm-up", 50_000, seed=99))
        for i, size_mb in enumerate(sizes_mb):
            path = write_novel(folder, f"novel-{i}", int(size_mb * MB), seed=1 + i)
            runs.append(measure(path, repeats=repeats))
        size = int(MARKUP_NOVEL_MB * MB)
        markup = [
            (
                kind,
                measure(
                    write(folder, f"novel-{kind}", size, seed=1),
                    repeats=repeats,
                    with_floor=False,
                ),
            )
            for kind, write in (("HTML", write_html_novel), ("EPUB", write_epub_novel))
        ]
    return figures(runs) + markup_figures(markup)


def markup_figures(runs: Sequence[tuple[str, SplitRun]]) -> list[Figure]:
    out: list[Figure] = []
    for kind, r in runs:
        label = f"{MARKUP_NOVEL_MB:.1f} MB novel as {kind} ({r.size_bytes / MB:.2f} MB file)"
        if kind == "EPUB":
            out.append(
                Figure(
                    NAME,
                    f"{label}: load + split ({r.parts} parts)",
                    f"{r.seconds:.3f} s",
                    f"< {TARGET_EPUB_SECONDS} s",
                    r.seconds < TARGET_EPUB_SECONDS,
                )
            )
        else:
            out.append(
                Figure(
                    NAME,
                    f"{label}: load + split ({r.parts} parts)",
                    f"{r.seconds:.3f} s ({r.mb_per_s:.1f} MB/s of HTML)",
                )
            )
        out.append(
            Figure(NAME, f"{label}: peak memory (tracemalloc)", f"{r.peak_bytes / MB:.1f} MB")
        )
    return out


def figures(runs: Sequence[SplitRun]) -> list[Figure]:
    out: list[Figure] = []
    for r in runs:
        out.append(
            Figure(
                NAME,
                f"{r.size_bytes / MB:.1f} MB novel: load + split ({r.parts} parts)",
                f"{r.mb_per_s:.1f} MB/s",
                f"≥ {TARGET_MB_PER_S:.0f} MB/s",
                r.mb_per_s >= TARGET_MB_PER_S,
            )
        )
    for r in runs:
        out.append(
            Figure(
                NAME,
                f"{r.size_bytes / MB:.1f} MB novel: load + split ÷ floor (read, split on blank "
                f"lines, count words: {r.size_bytes / MB / r.floor_seconds:.0f} MB/s)",
                f"{r.floor_share:.2f}",
                f"≥ {TARGET_FLOOR_SHARE:.2f}",
                r.floor_share >= TARGET_FLOOR_SHARE,
            )
        )
    for r in runs:
        out.append(
            Figure(
                NAME,
                f"{r.size_bytes / MB:.1f} MB novel: peak memory (tracemalloc)",
                f"{r.peak_bytes / MB:.1f} MB ({r.peak_per_byte:.1f} B per input byte)",
            )
        )
    if len(runs) > 1:
        small, large = runs[0], runs[-1]
        ratio = large.peak_per_byte / small.peak_per_byte
        out.append(
            Figure(
                NAME,
                f"memory growth {small.size_bytes / MB:.0f} → {large.size_bytes / MB:.0f} MB "
                "(peak per byte, large ÷ small)",
                f"{ratio:.2f}×",
                f"≤ {LINEAR_SLACK:.2f}× (linear)",
                ratio <= LINEAR_SLACK,
            )
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.splitting", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 and 5 MB only, fewer repeats")
    options = parser.parse_args(argv)
    sizes = QUICK_SIZES_MB if options.quick else FULL_SIZES_MB
    found = run(sizes, repeats=2 if options.quick else 3)
    print(
        render_report(found, machine=describe().line(), mode="quick" if options.quick else "full")
    )
    for figure in found:
        if figure.passed is False:
            print(f"MISSED: {figure.name}: {figure.value} (target {figure.target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
