"""The story library: normalising, metadata, structure, and every kind of broken file."""

from __future__ import annotations

import pathlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import library as library_module
from bot.library import (
    Library,
    StoryError,
    load_story,
    make_serial,
    normalise,
    slug_for,
    story_from_text,
)
from bot.story import Break, Rating, Story

BODY = "The wolf ran.\n\nShe said nothing at all.\n"


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def structure(text: str, name: str = "s.txt", title: str | None = "T") -> Story:
    fields = {"title": title} if title else {}
    return story_from_text(normalise(text), path=Path(name), fields=fields)


def kinds(story: Story) -> list[Break]:
    return [p.break_before for p in story.paragraphs]


# Normalising -----------------------------------------------------------------------------------


def test_normalise_fixes_white_space_and_line_ends_but_keeps_blank_lines():
    raw = "\ufeff\n\nTitle  \r\n\r\nOne\tword\u00a0here.   \r\r\n\n\nTwo.\n\n\n"
    assert normalise(raw) == "Title\n\nOne word here.\n\n\n\nTwo.\n"


def test_normalise_of_nothing_is_empty():
    assert normalise("  \n\t\r\n") == ""


text_alphabet = st.sampled_from([*"ab. \t\r\n\u00a0\ufeff\"'", "é", "—"])


@settings(max_examples=80, deadline=None)
@given(st.text(text_alphabet, max_size=200))
def test_normalise_never_changes_words_and_is_idempotent(raw: str):
    once = normalise(raw)
    assert normalise(once) == once
    assert once.split() == raw.replace("\ufeff", "").split()


def test_front_matter_is_metadata_and_leaves_the_text(tmp_path: Path):
    path = write(
        tmp_path,
        "night.md",
        "---\ntitle: The Night\nauthor: A. Writer\nrating: Mature\n"
        "content notes: [violence, grief]\nwords per part: 900\n---\n\nIt was dark.\n",
    )
    story = load_story(path)
    assert story.text == "It was dark.\n"
    assert story.meta.title == "The Night"
    assert story.meta.author == "A. Writer"
    assert story.meta.rating is Rating.MATURE
    assert story.meta.content_notes == ("violence", "grief")
    assert story.meta.words_per_part == 900


def test_sidecar_fields_win_over_front_matter(tmp_path: Path):
    path = write(tmp_path, "night.txt", "---\ntitle: Old\nrating: general\n---\nIt was dark.\n")
    write(tmp_path, "night.yaml", "title: New\ncontent_notes: fear, loss\n")
    story = load_story(path)
    assert (story.meta.title, story.meta.rating) == ("New", Rating.GENERAL)
    assert story.meta.content_notes == ("fear", "loss")


def test_project_gutenberg_header_and_footer_are_stripped(tmp_path: Path):
    path = write(
        tmp_path,
        "pg1342.txt",
        "The Project Gutenberg eBook of Emma\n\nTitle: Emma\n\nAuthor: Jane Austen\n\n"
        "*** START OF THE PROJECT GUTENBERG EBOOK EMMA ***\n\n\nEMMA\n\n"
        "CHAPTER I\n\nEmma Woodhouse, handsome, clever, and rich.\n\n"
        "*** END OF THE PROJECT GUTENBERG EBOOK EMMA ***\n\nSection 1. License terms.\n",
    )
    story = load_story(path)
    assert story.text.startswith("EMMA\n\nCHAPTER I")
    assert "License" not in story.text and "Gutenberg" not in story.text
    assert (story.meta.title, story.meta.author) == ("Emma", "Jane Austen")
    # "EMMA" is the title line, not a paragraph.
    assert story.paragraph_text(story.paragraphs[0]) == "CHAPTER I"


def test_revision_is_a_short_hash_of_the_normalised_text(tmp_path: Path):
    first = load_story(write(tmp_path, "a.txt", BODY))
    crlf = load_story(write(tmp_path, "b.txt", BODY.replace("\n", "\r\n")))
    edited = load_story(write(tmp_path, "c.txt", BODY.replace("wolf", "fox")))
    assert len(first.revision) == 12
    assert first.revision == crlf.revision != edited.revision


# Titles and slugs ------------------------------------------------------------------------------


def test_a_short_unpunctuated_first_line_is_the_title_and_not_a_paragraph(tmp_path: Path):
    story = load_story(write(tmp_path, "x.txt", "The Long Road\n\nIt began.\n\nIt ended.\n"))
    assert story.title == "The Long Road"
    assert story.text.startswith("The Long Road\n")
    assert [story.paragraph_text(p) for p in story.paragraphs] == ["It began.", "It ended."]


def test_a_byline_under_the_title_gives_the_author(tmp_path: Path):
    story = load_story(write(tmp_path, "x.txt", "The Long Road\n\nby A. N. Other\n\nIt began.\n"))
    assert (story.title, story.meta.author) == ("The Long Road", "A. N. Other")
    assert [story.paragraph_text(p) for p in story.paragraphs] == ["It began."]


def test_a_sentence_starting_with_by_is_not_a_byline(tmp_path: Path):
    story = load_story(write(tmp_path, "x.txt", "The Long Road\n\nBy noon it rained.\n\nNo.\n"))
    assert story.meta.author is None
    assert len(story.paragraphs) == 2


@pytest.mark.parametrize(
    "first", ["It was raining.", "Chapter 1", '"Run!"', "* * *", "A " + "very " * 20 + "long line"]
)
def test_the_file_name_is_the_title_when_the_first_line_is_not_one(tmp_path: Path, first: str):
    story = load_story(write(tmp_path, "the_last-word.txt", f"{first}\n\nMore text here.\n"))
    assert story.title == "The Last Word"


def test_a_first_line_equal_to_the_given_title_is_kept_out_of_the_paragraphs(tmp_path: Path):
    write(tmp_path, "x.yaml", "title: Rain\n")
    story = load_story(write(tmp_path, "x.md", "# Rain\n\nIt fell.\n"))
    assert story.text.startswith("# Rain")
    assert [story.paragraph_text(p) for p in story.paragraphs] == ["It fell."]


@pytest.mark.parametrize(
    ("name", "slug"),
    [("You Left.txt", "you-left"), ("Ça_va!.md", "ca-va"), ("__.txt", "story")],
)
def test_slug_comes_from_the_file_name(name: str, slug: str):
    assert slug_for(Path(name)) == slug


# Structure -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "heading",
    [
        "Chapter 12",
        "CHAPTER XII",
        "Chapter Twenty-One: The Road",
        "Part Two",
        "BOOK THE FIRST",
        "Prologue",
        "# The Storm",
        "### Interlude",
    ],
)
def test_headings_are_chapter_breaks(heading: str):
    story = structure(f"Some text.\n\n{heading}\n\nMore text.")
    assert kinds(story) == [Break.PARAGRAPH, Break.CHAPTER, Break.PARAGRAPH]
    assert story.paragraphs[1].heading


@pytest.mark.parametrize(
    "line", ["Part of me wanted to stay.", "Part I think was true", "Chapter and verse, he said."]
)
def test_sentences_that_start_like_headings_are_not_headings(line: str):
    story = structure(f"Some text.\n\n{line}\n\nMore text.")
    assert not any(p.heading for p in story.paragraphs)


def test_a_setext_heading_is_a_chapter_break_without_its_underline():
    story = structure("Some text.\n\nThe Storm\n=========\n\nMore text.", name="s.md")
    assert story.paragraph_text(story.paragraphs[1]) == "The Storm"
    assert kinds(story)[1] == Break.CHAPTER


@pytest.mark.parametrize("marker", ["***", "* * *", "#", "~~~", "---", "oOo", "⁂"])
def test_marker_lines_are_scene_breaks_and_not_paragraphs(marker: str):
    story = structure(f"Some text.\n\n{marker}\n\nMore text.")
    assert kinds(story) == [Break.PARAGRAPH, Break.SCENE]


def test_a_gap_wider_than_usual_is_a_scene_break():
    story = structure("One.\n\n\nTwo.\n\n\nThree.\n\n\n\n\nFour.\n\n\nFive.")
    assert kinds(story) == [Break.PARAGRAPH] * 3 + [Break.SCENE, Break.PARAGRAPH]


def test_a_wide_gap_inside_a_dialogue_exchange_is_a_paragraph_break():
    # Two blank lines between paragraphs, four across the exchange.
    story = structure(
        'He stood.\n\n\n"Go!" he shouted.\n\n\n\n\n"Don\'t shout!" she said.\n\n\nNo.'
    )
    assert kinds(story) == [Break.PARAGRAPH] * 4
    assert [p.dialogue for p in story.paragraphs] == [False, True, True, False]


def test_a_much_wider_gap_is_a_scene_break_even_between_lines_of_dialogue():
    gap = "\n" * 9  # eight blank lines where two are usual
    story = structure(f'He stood.\n\n\n"Go!" he said.{gap}"Morning?" she said.\n\n\nNo.')
    assert kinds(story)[2] == Break.SCENE


def test_unwrapped_plain_text_has_one_paragraph_per_line():
    long_line = "word " * 30
    text = "\n".join(f"{long_line}{n}." for n in range(4)) + "\n\n\n" + f"{long_line}end."
    story = structure(text)
    assert len(story.paragraphs) == 5
    assert kinds(story)[4] == Break.SCENE  # one blank line where lines are usually adjacent
    assert not story.soft_wraps


def test_hard_wrapped_text_has_one_paragraph_per_block_with_soft_line_breaks():
    block = "It was a dark and\nstormy night, and the\nrain fell in torrents."
    story = structure(f"{block}\n\n{block}\n\n{block}")
    assert len(story.paragraphs) == 3
    assert story.soft_wraps


def test_chapter_title_on_the_line_after_the_heading_stays_with_it():
    story = structure("Text.\n\nCHAPTER I\n\nTHE BEGINNING\n\nIt began.")
    assert [p.heading for p in story.paragraphs] == [False, True, True, False]


# Broken files ----------------------------------------------------------------------------------


BROKEN: list[tuple[str, str | bytes, str | None, str]] = [
    # (story file name, content, sidecar content, expected words in the reason)
    ("latin1.txt", "Café crème\n".encode("latin-1"), None, "not UTF-8"),
    ("utf16.txt", "Hello\n".encode("utf-16"), None, "UTF-16"),
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None, "binary"),
    ("empty.txt", b"", None, "empty"),
    ("blank.md", " \n\t\n\r\n", None, "white space"),
    ("front.md", "---\ntitle: [unclosed\n---\nText.\n", None, "invalid YAML in the front matter"),
    ("open.md", "---\ntitle: Open\nText goes on.\n", None, "front matter is not closed"),
    ("listfm.md", "---\n- a\n- b\n---\nText.\n", None, "must be a mapping"),
    ("nobody.md", "---\ntitle: Only metadata\n---\n", None, "no story text"),
    ("markers.txt", "* * *\n\n~~~\n", None, "no paragraphs"),
    ("badside.txt", BODY, "title: [oops\n", "invalid YAML in the sidecar"),
    ("rating.txt", BODY, "rating: PG-13\n", "unknown rating"),
    ("typo.txt", BODY, "ratng: teen\n", "unknown field 'ratng'"),
    ("words.txt", BODY, "words_per_part: -5\n", "positive whole number"),
    ("notes.txt", BODY, "content_notes: {a: 1}\n", "list of text"),
]


@pytest.mark.parametrize(
    ("name", "content", "sidecar", "reason"), BROKEN, ids=[b[0] for b in BROKEN]
)
def test_a_broken_story_is_reported_with_its_file_and_reason_and_the_rest_still_load(
    tmp_path: Path, name: str, content: str | bytes, sidecar: str | None, reason: str
):
    path = write(tmp_path, name, content)
    if sidecar is not None:
        write(tmp_path, Path(name).stem + ".yaml", sidecar)
    write(tmp_path, "good.txt", "Good Story\n\n" + BODY)

    with pytest.raises(StoryError) as caught:
        load_story(path)
    blamed = Path(name).stem + ".yaml" if sidecar is not None else name
    assert str(caught.value).startswith(f"{blamed}: ")
    assert reason in caught.value.reason
    assert "\n" not in str(caught.value)

    library = Library.load(tmp_path)
    assert list(library.serials) == ["good"]
    assert [str(p) for p in library.problems] == [str(caught.value)]


def test_an_oversized_story_is_refused_without_being_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = write(tmp_path, "huge.txt", "word " * 1000)

    def no_reading(self: Path, *args: object, **kwargs: object) -> None:
        raise AssertionError(f"{self} was opened")

    monkeypatch.setattr(pathlib.Path, "open", no_reading)
    with pytest.raises(StoryError) as caught:
        load_story(path, max_bytes=1024)
    assert str(caught.value) == "huge.txt: file is 5,000 bytes (4.9 KiB), over the 1 KiB limit"


def test_the_default_size_limit_is_64_mib(tmp_path: Path):
    path = tmp_path / "sparse.txt"
    with path.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024 + 1)
    with pytest.raises(StoryError) as caught:
        load_story(path)
    assert str(caught.value) == (
        "sparse.txt: file is 67,108,865 bytes (64.0 MiB), over the 64 MiB limit"
    )


# The library -----------------------------------------------------------------------------------


def test_library_orders_stories_by_title_and_finds_them_by_slug(tmp_path: Path):
    write(tmp_path, "b.txt", "Zebra Nights\n\n" + BODY)
    write(tmp_path, "a.md", "Apple Days\n\n" + BODY)
    write(tmp_path, "notes.rtf", "ignored")
    library = Library.load(tmp_path, words_per_part=500)
    assert [s.story.title for s in library] == ["Apple Days", "Zebra Nights"]
    assert len(library) == 2
    assert library.get("b").story.title == "Zebra Nights"
    assert library.get("missing") is None
    assert library.problems == []


def test_two_files_with_the_same_slug_are_a_problem_not_a_silent_overwrite(tmp_path: Path):
    write(tmp_path, "rain.md", BODY)
    write(tmp_path, "rain.txt", BODY)
    library = Library.load(tmp_path)
    assert list(library.serials) == ["rain"]
    assert [str(p) for p in library.problems] == [
        "rain.txt: slug 'rain' is already used by rain.md"
    ]


def test_reload_sees_new_files_with_the_same_settings(tmp_path: Path):
    write(tmp_path, "one.txt", BODY)
    library = Library.load(tmp_path, words_per_part=5, tolerance=0.5)
    write(tmp_path, "two.txt", BODY)
    again = library.reload()
    assert sorted(again.serials) == ["one", "two"]
    assert (again.words_per_part, again.tolerance) == (5, 0.5)
    assert len(again.get("two").parts) == len(library.get("one").parts) == 2


def test_a_missing_folder_is_a_problem_not_a_crash(tmp_path: Path):
    library = Library.load(tmp_path / "nowhere")
    assert len(library) == 0
    assert "stories folder not found" in library.problems[0].reason


def test_the_story_own_words_per_part_wins(tmp_path: Path):
    write(tmp_path, "x.yaml", "words_per_part: 5\n")
    story = load_story(write(tmp_path, "x.txt", BODY))
    assert len(make_serial(story, 10_000).parts) == 2


def test_hidden_files_are_not_stories(tmp_path: Path):
    write(tmp_path, ".#draft.txt", BODY)
    write(tmp_path, "real.txt", BODY)
    assert list(Library.load(tmp_path).serials) == ["real"]


def test_an_unexpected_failure_in_one_story_does_not_stop_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    write(tmp_path, "bad.txt", BODY)
    write(tmp_path, "good.txt", BODY)
    real_load = library_module.load_story

    def flaky(path: Path, **kwargs: int) -> Story:
        if path.name == "bad.txt":
            raise RecursionError("too deep")
        return real_load(path, **kwargs)

    monkeypatch.setattr(library_module, "load_story", flaky)
    library = Library.load(tmp_path)
    assert list(library.serials) == ["good"]
    assert str(library.problems[0]) == "bad.txt: unexpected error: RecursionError('too deep')"
