"""Golden test: the bundled story, *You Left*, as the library reads it and the splitter cuts it,
and how ``serialbot preview`` shows it.

The story is about 1,000 words in 43 paragraphs, separated by two blank lines. Two gaps are four
blank lines wide:

- between "I cannot live because I struggle keeping you all alive!" Derek shouted, and "Don't
  'Derek' me..." He snapped. The lines before and after are dialogue and the second answers the
  first: the shouted exchange runs across the gap, so it is no scene break.
- before the closing line "The next day Derek left without a word...": narration after dialogue
  and a jump in time, a real scene break.

With the sidecar's 300 words per part (195-405 allowed) the splitter makes three parts:

1. to "Not sure how to answer, ... I found my response." (357 words) - a break after narration;
2. from Stiles's answer "Derek, you are not lost, just damaged." to "Really? Do I mean something
   to you as a researcher? ..." (327 words) - a break before the narration "Derek ignored me";
3. from "Derek ignored me, taking a step towards me." to the end (316 words), the closing line
   included after a scene mark. Standing alone, that 17-word epilogue would be far below the
   minimum part size, which costs more than any arrangement within the bounds.

Neither break falls between two lines of dialogue, and no part ends inside the shouted exchange.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
from pathlib import Path

import pytest

from bot import preview
from bot.defaults import stories_folder
from bot.library import Library, load_story, make_serial, normalise
from bot.splitter import DEFAULT_WORDS_PER_PART, SCENE_MARK, arrangement_cost
from bot.story import Break, Rating, Serial, Story

SEEDS = stories_folder()
YOU_LEFT = SEEDS / "you-left.txt"
# The user's text, byte for byte.
YOU_LEFT_SHA256 = "28502c6f04fc37f8d13ed677d13a7cfbb8653054fa4a88e3d08936fd254ddd72"

SHOUT = 18  # "I cannot live because I struggle keeping you all alive!" Derek shouted
ANSWER = 19  # "Don't 'Derek' me. ..." He snapped
EPILOGUE = 42  # The next day Derek left without a word...
PART_STARTS = [15, 30]  # paragraphs that begin parts 2 and 3


@pytest.fixture(scope="module")
def story() -> Story:
    return load_story(YOU_LEFT)


@pytest.fixture(scope="module")
def serial(story: Story) -> Serial:
    return make_serial(story, DEFAULT_WORDS_PER_PART)


def text_of(story: Story, index: int) -> str:
    return story.paragraph_text(story.paragraphs[index])


def test_the_bundled_text_is_unaltered():
    assert hashlib.sha256(YOU_LEFT.read_bytes()).hexdigest() == YOU_LEFT_SHA256


def test_metadata_comes_from_the_sidecar(story: Story):
    assert story.slug == "you-left"
    assert story.title == "You Left"
    assert story.meta.rating is Rating.TEEN
    assert not story.meta.rating.age_restricted
    for note in ("self-hatred", "suicidal thoughts", "strong language"):
        assert note in story.meta.content_notes
    assert story.meta.summary
    assert story.meta.words_per_part == 300


def test_the_title_line_is_in_the_text_but_not_a_paragraph(story: Story):
    assert story.text == normalise(YOU_LEFT.read_text(encoding="utf-8"))
    assert story.text.startswith("You Left\n\nDerek stood")
    assert text_of(story, 0).startswith("Derek stood in front of the pack")
    assert len(story.paragraphs) == 43
    assert story.words == 1000


def test_the_wide_gap_inside_the_shouted_exchange_is_not_a_scene_break(story: Story):
    shout, answer = story.paragraphs[SHOUT], story.paragraphs[ANSWER]
    assert story.text[shout.end : answer.start] == "\n" * 5  # four blank lines
    assert text_of(story, SHOUT).startswith('"I cannot live')
    assert text_of(story, ANSWER).startswith("\"Don't 'Derek' me.")
    assert shout.dialogue and answer.dialogue
    assert answer.break_before == Break.PARAGRAPH


def test_the_wide_gap_before_the_closing_line_is_a_scene_break(story: Story):
    before, closing = story.paragraphs[EPILOGUE - 1], story.paragraphs[EPILOGUE]
    assert story.text[before.end : closing.start] == "\n" * 5
    assert text_of(story, EPILOGUE).startswith("The next day Derek left")
    assert closing.break_before == Break.SCENE
    assert [i for i, p in enumerate(story.paragraphs) if p.break_before != Break.PARAGRAPH] == [
        EPILOGUE
    ]


def test_the_story_is_cut_into_three_parts_at_the_expected_paragraphs(story: Story, serial: Serial):
    parts = serial.parts
    assert [p.words for p in parts] == [357, 327, 316]
    assert [p.minutes for p in parts] == [2, 1, 1]
    assert [p.ends_with for p in parts] == [Break.PARAGRAPH, Break.PARAGRAPH, Break.END]
    assert [p.start for p in parts[1:]] == [story.paragraphs[i].start for i in PART_STARTS]
    assert "".join(story.text[p.start : p.end] for p in parts) == story.text

    assert parts[0].paragraphs[0].startswith("Derek stood in front of the pack")
    assert parts[0].paragraphs[-1].endswith("I found my response.")
    assert parts[1].paragraphs[0].startswith('"Derek, you are not lost, just damaged."')
    assert parts[1].paragraphs[-1].startswith('"Really? Do I mean something to you')
    assert parts[2].paragraphs[0].startswith("Derek ignored me, taking a step towards me.")


def test_both_breaks_are_next_to_narration_not_inside_an_exchange(story: Story):
    for start in PART_STARTS:
        before, after = story.paragraphs[start - 1], story.paragraphs[start]
        assert not (before.dialogue and after.dialogue)


def test_the_shouted_exchange_stays_together_without_a_scene_mark(story: Story, serial: Serial):
    pieces = serial.parts[1].paragraphs
    shout = pieces.index(text_of(story, SHOUT))
    assert pieces[shout + 1] == text_of(story, ANSWER)
    assert SCENE_MARK not in pieces


def test_the_epilogue_is_merged_into_the_last_part_after_a_scene_mark(story: Story, serial: Serial):
    assert serial.parts[-1].paragraphs[-2:] == (SCENE_MARK, text_of(story, EPILOGUE))


def test_the_chosen_arrangement_is_the_cheapest_of_up_to_four_parts(story: Story):
    """Why these breaks: every arrangement of one to four parts costs at least as much; the best
    one that lets the epilogue stand alone, or that breaks across the shouted exchange, more."""
    chosen = arrangement_cost(story, PART_STARTS, 300)
    candidates = [
        (arrangement_cost(story, list(starts), 300), starts)
        for count in (1, 2, 3)
        for starts in itertools.combinations(range(1, len(story.paragraphs)), count)
    ]
    assert min(candidates)[1] == tuple(PART_STARTS)
    alone = min(cost for cost, starts in candidates if EPILOGUE in starts)
    across = min(cost for cost, starts in candidates if ANSWER in starts)
    assert chosen < across < alone


def test_library_loads_the_bundled_story():
    library = Library.load(SEEDS)
    assert library.problems == []
    assert library.get("you-left").parts == make_serial(load_story(YOU_LEFT), 1200).parts


# serialbot preview -----------------------------------------------------------------------------


def run_preview(story: str, words: int | None = None) -> int:
    return preview.main(argparse.Namespace(story=story, words=words, config=None))


def test_preview_shows_every_part_with_its_header_and_a_summary(
    capsys: pytest.CaptureFixture[str],
):
    assert run_preview(str(YOU_LEFT)) == 0
    out = capsys.readouterr().out
    for number in (1, 2, 3):
        assert f"You Left · Part {number} of 3" in out
    assert "357 words · about 2 min · ends at: paragraph" in out
    assert "316 words · about 1 min · ends at: end of story" in out
    assert "Content notes: self-hatred; suicidal thoughts; strong language" in out
    assert "\n   1     357    2  paragraph " in out
    assert "\n All   1,000    4" in out
    assert out.index("Derek stood in front") < out.index("The next day Derek left")


def test_preview_finds_a_story_by_slug_and_takes_a_target(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(SEEDS.parent)
    assert run_preview("you-left", words=1000) == 0
    assert "You Left · Part 1 of 1" in capsys.readouterr().out


def test_preview_reports_a_broken_story_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"\xff\xfe\x00\x00binary")
    assert run_preview(str(broken)) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "broken.txt: UTF-16 text; save it as UTF-8\n"


def test_preview_refuses_a_target_below_one(capsys: pytest.CaptureFixture[str]):
    assert run_preview(str(YOU_LEFT), words=0) == 2
    assert "--words" in capsys.readouterr().err
