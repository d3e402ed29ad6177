"""A part's first and last lines for a preview: the posted text (escaped, emphasis as markdown),
cut to a budget with every marker closed; a preview page of them always fits one message."""

from __future__ import annotations

from pathlib import Path

from bot.catalog import Entry
from bot.frontend.library_pages import PARTS_PER_PAGE, preview_page
from bot.limits import MESSAGE_LIMIT
from bot.render import clip_emphasized, emphasize_text, part_lines, read_text
from bot.uploads import load_upload
from tests.discord_markdown import read_emphasis
from tests.story_formats import Work

RAW = "She said *it* twice_, and @everyone heard ~that~ at 1. noon, under the **old** bridge."
# italic "said it", bold "twice_, and @everyone", both "bridge"
RUNS = [(4, 13, 1), (20, 42, 2), (80, 86, 3)]


def test_a_line_that_fits_is_the_posted_text_itself() -> None:
    assert clip_emphasized(RAW, RUNS, 1000) == emphasize_text(RAW, RUNS)


def test_every_budget_is_kept_and_every_marker_closed() -> None:
    whole = read_text(emphasize_text(RAW, RUNS))
    for budget in range(1, len(emphasize_text(RAW, RUNS)) + 1):
        clipped = clip_emphasized(RAW, RUNS, budget)
        assert len(clipped) <= budget, budget
        plain, _ = read_emphasis(clipped)  # balanced, never an empty or open run
        if clipped.endswith("…"):
            assert whole.startswith(plain[:-1].rstrip()), budget


def _story(paragraph: str, title: str) -> Entry:
    chapters = [(f"Chapter {i}", [paragraph] * 3) for i in range(1, 2 * PARTS_PER_PAGE + 1)]
    work = Work(title=title, notes="", end_notes="", chapters=chapters)
    data = work.html_download().encode()
    loaded = load_upload("1:worst", "worst.html", data, {"words_per_part": 60})
    return Entry(loaded.serial, "worst", None, rated=False)


def test_a_page_of_the_worst_lines_fits_one_message_balanced(tmp_path: Path) -> None:
    # Every character of the text escaped, and emphasis everywhere, under the longest title.
    paragraph = "⸢" + " ".join(["*_~|`"] * 30) + "⸣ ⸤" + " ".join(["[#]"] * 20) + "⸥"
    entry = _story(paragraph, "*" * 200)
    assert len(entry.serial.parts) > PARTS_PER_PAGE
    page = preview_page(entry, entry.serial, 1)
    assert len(page) <= MESSAGE_LIMIT
    read_emphasis(page)
    assert page.count("▸ ") == PARTS_PER_PAGE and page.count("◂ ") == PARTS_PER_PAGE
    lines = part_lines(entry.serial, entry.serial.parts[0], 40)
    assert lines is not None and all(len(line) <= 40 for line in lines)
