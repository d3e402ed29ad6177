"""``serialbot check`` warns about what a reader would notice, naming the file and the place."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from bot import check
from bot.library import load_story, make_serial
from bot.story_checks import story_warnings
from tests.story_formats import Work

PROSE = "The rain fell on the roofs of the town and nobody went out that night. " * 12


def warnings_for(path: Path, words: int = 300) -> list[str]:
    return story_warnings(make_serial(load_story(path), words))


def test_licence_text_left_in_the_parts_is_a_warning_naming_the_part(tmp_path: Path):
    path = tmp_path / "copied.txt"
    footer = "This eBook is for the use of anyone. Project Gutenberg is a registered trademark."
    path.write_text(f"Copied\n\n{PROSE}\n\n{PROSE}\n\n{footer}\n", encoding="utf-8")
    found = warnings_for(path, 200)
    assert any(
        w.startswith("copied.txt: part ") and "licence or boilerplate" in w and "Gutenberg" in w
        for w in found
    ), found


def test_a_part_of_mostly_headings_is_a_warning(tmp_path: Path):
    path = tmp_path / "heads.txt"
    chapters = "\n\n".join(f"Chapter {n}\n\nShort." for n in range(1, 30))
    path.write_text(f"Heads\n\n{PROSE}\n\n{chapters}\n", encoding="utf-8")
    found = warnings_for(path, 30)
    assert any("heads.txt: part " in w and "mostly headings" in w for w in found), found


def test_one_chapter_forty_times_longer_than_the_rest_is_a_warning(tmp_path: Path):
    path = tmp_path / "lopsided.txt"
    short = "\n\n".join(f"Chapter {n}\n\nIt was short." for n in range(1, 5))
    long = "Chapter 5\n\n" + "\n\n".join([PROSE] * 10)
    path.write_text(f"Lopsided\n\n{short}\n\n{long}\n", encoding="utf-8")
    found = warnings_for(path)
    assert any("lopsided.txt: chapter “Chapter 5”" in w and "40 times" in w for w in found)


def test_a_well_formed_story_has_no_warnings(tmp_path: Path):
    path = tmp_path / "fine.txt"
    chapters = "\n\n".join(f"Chapter {n}\n\n{PROSE}" for n in range(1, 5))
    path.write_text(f"Fine\n\n{chapters}\n", encoding="utf-8")
    assert warnings_for(path) == []


def test_check_lists_the_warnings_and_still_passes(tmp_path: Path):
    stories = tmp_path / "stories"
    stories.mkdir()
    work = Work(rating="Not Rated", chapters=[("One", [PROSE])])
    (stories / "work.html").write_text(work.html_download(), encoding="utf-8")
    (stories / "win.txt").write_bytes(("Win\n\n“Café,” she said.\n\n" + PROSE).encode("cp1252"))
    config = tmp_path / "serialbot.yaml"
    config.write_text(f"stories: {stories}\n", encoding="utf-8")
    out = io.StringIO()
    status = check.main(argparse.Namespace(config=config), out=out)
    output = out.getvalue()
    assert status == check.EXIT_OK
    assert "Warnings (2):" in output
    assert "work.html: AO3 rating 'Not Rated' is treated as mature" in output
    assert "win.txt: read as Windows-1252, not UTF-8" in output
    assert "All is well." not in output
