"""Where the Project Gutenberg texts the tests read are kept, byte-exact as distributed:
``shared/texts`` beside the repository, or beside the folder that holds it."""

from __future__ import annotations

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
CANDIDATES = (
    REPOSITORY.parent / "shared" / "texts",
    REPOSITORY.parent.parent / "shared" / "texts",
)
# None where they are not on this machine: each test decides whether that skips or fails.
TEXTS: Path | None = next((c for c in CANDIDATES if c.is_dir()), None)
