"""``serialbot check``: the configuration and the whole library, every problem listed, and an
exit status a deployment can rely on."""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot import check
from bot.defaults import stories_folder

ROOT = Path(__file__).resolve().parent.parent
SEEDS = stories_folder()


def run_check(config: Path | None) -> tuple[int, str]:
    out = io.StringIO()
    status = check.main(argparse.Namespace(config=config), out=out)
    return status, out.getvalue()


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A stories folder holding the bundled story and its metadata."""
    folder = tmp_path / "stories"
    folder.mkdir()
    for name in ("you-left.txt", "you-left.yaml"):
        shutil.copy(SEEDS / name, folder / name)
    return folder


def config_for(tmp_path: Path, stories: Path, extra: str = "") -> Path:
    path = tmp_path / "serialbot.yaml"
    path.write_text(f"stories: {stories}\n{extra}", encoding="utf-8")
    return path


def row(output: str, slug: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(slug + " "))


def test_bundled_library_passes_from_the_command_line() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        env=dict(os.environ, PYTHONIOENCODING="utf-8"),
    )

    assert run.returncode == 0, run.stdout + run.stderr
    assert "All is well." in run.stdout
    line = row(run.stdout, "you-left")
    assert "You Left" in line
    assert "teen" in line


def test_table_lists_parts_words_rating_and_content_notes(tmp_path: Path, library: Path) -> None:
    status, output = run_check(config_for(tmp_path, library, "words_per_part: 300\n"))

    assert status == 0, output
    header = next(line for line in output.splitlines() if line.startswith("story "))
    assert header.split() == [
        "story",
        "title",
        "parts",
        "words",
        "rating",
        "content",
        "notes",
        "problems",
    ]
    cells = row(output, "you-left").split()
    assert cells[3:6] == ["3", "1,000", "teen"]
    assert "self-hatred" in row(output, "you-left")


def test_broken_file_is_named_with_its_reason_and_fails(tmp_path: Path, library: Path) -> None:
    (library / "broken.txt").write_bytes(b"Caf\xe9 au lait\n\nIt was late.\n")

    status, output = run_check(config_for(tmp_path, library))

    assert status == 1
    assert "broken.txt: not UTF-8 text" in row(output, "broken")
    assert f"{library / 'broken.txt'}: not UTF-8 text (byte 0xe9" in output
    # The good story is still checked and listed.
    assert "You Left" in row(output, "you-left")


def test_every_broken_file_is_listed(tmp_path: Path, library: Path) -> None:
    (library / "empty.md").write_text("", encoding="utf-8")
    (library / "rated.txt").write_text("---\nrating: spicy\n---\nText.\n", encoding="utf-8")

    status, output = run_check(config_for(tmp_path, library))

    assert status == 1
    problems = output.split("Problems (2):", 1)[1]
    assert "empty.md: empty file" in problems
    assert "rated.txt: unknown rating 'spicy'" in problems


def test_a_page_with_a_script_is_listed_with_the_reason(tmp_path: Path, library: Path) -> None:
    (library / "page.html").write_text(
        "<html><body><p>It began.</p>\n<iframe src='x.html'></iframe></body></html>",
        encoding="utf-8",
    )

    status, output = run_check(config_for(tmp_path, library))

    assert status == 1
    problems = output.split("Problems (1):", 1)[1]
    assert (
        "page.html: the page holds an embedded frame (iframe) at line 2; active or embedded "
        "content is refused" in problems
    )
    assert "You Left" in row(output, "you-left")


def test_unknown_config_key_is_named_with_file_and_key(tmp_path: Path, library: Path) -> None:
    config = config_for(tmp_path, library, "colour: blue\nnext:\n  cooldown_minutes: -5\n")

    status, output = run_check(config)

    assert status == 1
    assert f"{config}: colour: unknown key" in output
    # Every problem, not just the first.
    assert f"{config}: next.cooldown_minutes: -5 is out of range" in output


def test_without_a_config_file_the_defaults_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))

    status, output = run_check(None)

    assert status == 0, output
    assert "Configuration: no file, defaults · ok" in output
    assert "You Left" in row(output, "you-left")


def test_missing_or_empty_stories_folder_fails(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()

    missing_status, missing = run_check(config_for(tmp_path, tmp_path / "nowhere"))
    empty_status, nothing = run_check(config_for(tmp_path, empty))

    assert missing_status == 1
    assert "stories folder not found" in missing
    assert empty_status == 1
    assert "no stories" in nothing
