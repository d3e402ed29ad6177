"""The library keeps story text off the heap and its split results in a cache: parts read from
offsets equal the parts made in memory, a restart with unchanged files reads nothing again, a
changed file or setting is split anew, and a damaged cache is rebuilt, never fatal."""

from __future__ import annotations

import gc
import shutil
import sqlite3
import sys
import types
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import library as library_module
from bot.library import Library, load_story, make_serial
from bot.render import render_part
from bot.story import ParagraphTable, Serial
from bot.story_checks import story_warnings
from bot.text_store import CHUNK_CHARS, TextStore
from tests.shared_texts import TEXTS

GOLDEN = sorted(TEXTS.glob("*.txt")) if TEXTS is not None else []


def story_text(chapters: int, paragraphs: int = 12) -> str:
    out = ["The Long Road", "by A. Writer", ""]
    for c in range(1, chapters + 1):
        out.append(f"Chapter {c}\n")
        for p in range(paragraphs):
            quote = "“Yes,” she said." if p % 3 == 0 else "It rained."
            out.append(f"{quote} Day {c}, hour {p}, the road went on and on past the mill.\n")
        out.append("* * *\n")
        out.append("Later that night the wind rose over the hill and the dogs barked.\n")
    return "\n".join(out)


def in_memory(path: Path, words_per_part: int = 1200) -> Serial:
    return make_serial(load_story(path), words_per_part)


def assert_same_parts(stored: Serial, held: Serial) -> None:
    assert stored.story.stored and not held.story.stored
    assert stored.story.revision == held.story.revision
    assert stored.story.length == held.story.length
    assert tuple(stored.story.paragraphs) == tuple(held.story.paragraphs)
    assert stored.story.asides == held.story.asides
    assert stored.story.meta == held.story.meta
    assert stored.story.emphasis == held.story.emphasis
    assert stored.story.words == held.story.words
    assert story_warnings(stored) == story_warnings(held)
    assert len(stored.parts) == len(held.parts)
    for a, b in zip(stored.parts, held.parts, strict=True):
        assert (a.index, a.start, a.end, a.words, a.ends_with, a.heading) == (
            b.index,
            b.start,
            b.end,
            b.words,
            b.ends_with,
            b.heading,
        )
        assert a.paragraphs == b.paragraphs
        assert stored.story.span(a.start, a.end) == held.story.text[a.start : a.end]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    stories = tmp_path / "stories"
    stories.mkdir()
    (stories / "long-road.txt").write_text(story_text(30), encoding="utf-8")
    (stories / "short.md").write_text("# Short\n\nOne line.\n\nTwo lines here.\n", encoding="utf-8")
    paragraphs = "".join(
        f"<p>Day {i}: she <em>ran</em> and <strong>ran</strong> past the mill.</p>"
        for i in range(150)
    )
    (stories / "marked.html").write_text(
        f"<html><head><title>Marked</title></head><body><h1>One</h1>{paragraphs}</body></html>",
        encoding="utf-8",
    )
    return stories


def test_parts_read_from_the_stored_text_equal_the_parts_made_in_memory(
    folder: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache.sqlite3"
    first = Library.load(folder, words_per_part=300, cache=cache)
    again = Library.load(folder, words_per_part=300, cache=cache)
    for path in folder.iterdir():
        held = in_memory(path, 300)
        assert_same_parts(first.get(held.slug), held)  # type: ignore[arg-type]
        assert_same_parts(again.get(held.slug), held)  # type: ignore[arg-type]
    for name in ("long-road.txt", "marked.html"):
        held = in_memory(folder / name, 300)
        serial = again.get(held.slug)
        assert serial is not None
        assert isinstance(serial.story.paragraphs, ParagraphTable)
        assert len(held.parts) > 2
        for number in (1, 2, len(held.parts)):
            assert render_part(serial, serial.part(number)) == render_part(held, held.part(number))
    marked = again.get("marked")
    assert marked is not None and marked.story.emphasis
    assert "*ran*" in "".join(render_part(marked, marked.part(1)).messages)


@pytest.mark.skipif(not GOLDEN, reason="the shared Gutenberg texts are not on this machine")
def test_real_books_read_back_from_the_cache_exactly(tmp_path: Path) -> None:
    stories = tmp_path / "stories"
    stories.mkdir()
    for path in GOLDEN[:4]:
        shutil.copy(path, stories / path.name)
    cache = tmp_path / "cache.sqlite3"
    Library.load(stories, cache=cache)
    library = Library.load(stories, cache=cache)
    assert len(library) == 4
    for path in stories.iterdir():
        held = in_memory(path)
        stored = library.get(held.slug)
        assert stored is not None
        assert_same_parts(stored, held)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["", "Chapter 9\n\n", "* * *\n\n", "\n\n", "  "]),
            st.text(alphabet=st.sampled_from(list("abc xyz.“”’é\n—!?")), min_size=1, max_size=300),
        ),
        min_size=1,
        max_size=25,
    ),
    st.integers(5, 60),
)
def test_stored_parts_equal_held_parts_for_any_text(
    tmp_path: Path, blocks: list[tuple[str, str]], words_per_part: int
) -> None:
    stories = tmp_path / "any"
    shutil.rmtree(stories, ignore_errors=True)
    stories.mkdir()
    path = stories / "any.txt"
    path.write_text("".join(a + b + "\n\n" for a, b in blocks), encoding="utf-8")
    try:
        held = in_memory(path, words_per_part)
    except library_module.StoryError:
        return
    library = Library.load(stories, words_per_part=words_per_part)
    stored = library.get(held.slug)
    assert stored is not None
    assert_same_parts(stored, held)


def test_a_restart_with_unchanged_files_reads_and_splits_nothing_again(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache.sqlite3"
    first = Library.load(folder, cache=cache)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unchanged story was read again")

    monkeypatch.setattr(library_module, "load_story", refuse)
    monkeypatch.setattr(library_module, "make_serial", refuse)
    again = Library.load(folder, cache=cache)
    assert [s.slug for s in again] == [s.slug for s in first]
    assert not again.problems


def test_a_changed_file_a_changed_sidecar_or_changed_settings_split_anew(
    folder: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache.sqlite3"
    before = Library.load(folder, words_per_part=300, cache=cache).get("long-road")
    assert before is not None
    (folder / "long-road.txt").write_text(story_text(31), encoding="utf-8")
    changed = Library.load(folder, words_per_part=300, cache=cache).get("long-road")
    assert changed is not None
    assert changed.story.revision != before.story.revision
    assert_same_parts(changed, in_memory(folder / "long-road.txt", 300))

    longer = Library.load(folder, words_per_part=600, cache=cache).get("long-road")
    assert longer is not None
    assert len(longer.parts) < len(changed.parts)

    (folder / "long-road.yaml").write_text("title: Another Title\nwords_per_part: 90\n")
    sidecar = Library.load(folder, words_per_part=300, cache=cache).get("long-road")
    assert sidecar is not None
    assert sidecar.story.title == "Another Title"
    assert len(sidecar.parts) > len(changed.parts)
    assert_same_parts(sidecar, in_memory(folder / "long-road.txt", 300))


def test_a_file_that_is_not_a_database_is_replaced(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache.sqlite3"
    cache.write_bytes(b"this is not a database at all" * 100)
    library = Library.load(folder, cache=cache)
    assert len(library) == 3 and not library.problems
    assert_same_parts(library.get("long-road"), in_memory(folder / "long-road.txt"))  # type: ignore[arg-type]
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT count(*) FROM splits").fetchone()[0] == 3


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE splits SET record = '{not json'",
        "UPDATE splits SET record = '[]'",
        "UPDATE splits SET paragraphs = x'00'",
        "UPDATE splits SET record = replace(record, '\"length\": ', '\"length\": 1')",
        "DELETE FROM text_chunks",
        "DELETE FROM texts",
    ],
)
def test_a_damaged_record_is_made_again(folder: Path, tmp_path: Path, damage: str) -> None:
    cache = tmp_path / "cache.sqlite3"
    Library.load(folder, words_per_part=300, cache=cache)
    with sqlite3.connect(cache) as db:
        db.execute(damage)
    library = Library.load(folder, words_per_part=300, cache=cache)
    assert not library.problems
    assert_same_parts(library.get("long-road"), in_memory(folder / "long-road.txt", 300))  # type: ignore[arg-type]
    again = Library.load(folder, words_per_part=300, cache=cache)
    assert_same_parts(again.get("long-road"), in_memory(folder / "long-road.txt", 300))  # type: ignore[arg-type]


def test_the_cache_file_is_private(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache.sqlite3"
    Library.load(folder, cache=cache)
    assert cache.stat().st_mode & 0o777 == 0o600


def test_an_unusable_cache_path_falls_back_to_a_temporary_store(
    folder: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    library = Library.load(folder, cache=blocker / "cache.sqlite3")
    assert len(library) == 3
    assert library.cache is not None and library.cache.path is None


def reachable(root: object) -> tuple[int, int]:
    """(bytes of the objects reachable from ``root``, length of the longest str among them),
    not following into code, classes, modules or the database connection."""
    skip = (
        type,
        types.ModuleType,
        types.FunctionType,
        types.BuiltinFunctionType,
        sqlite3.Connection,
    )
    seen: set[int] = set()
    stack = [root]
    total = longest = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, str):
            longest = max(longest, len(obj))
        stack.extend(gc.get_referents(obj))
    return total, longest


def test_the_library_does_not_hold_the_text(tmp_path: Path) -> None:
    stories = tmp_path / "stories"
    stories.mkdir()
    text = story_text(300, paragraphs=40)
    (stories / "big.txt").write_text(text, encoding="utf-8")
    library = Library.load(stories, cache=tmp_path / "cache.sqlite3")
    serial = library.get("big")
    assert serial is not None and serial.story.stored
    held, longest = reachable(library)
    # The text alone would take 2 bytes a character (it has curly quotes): what is held is
    # the paragraph table (25 bytes a paragraph; these paragraphs are short) and the parts.
    assert held < len(text) / 2, f"{held} bytes held for {len(text)} characters of text"
    assert longest < 200
    assert serial.part(3).paragraphs == in_memory(stories / "big.txt").part(3).paragraphs
    # A library made in memory holds its text: the measure sees it.
    held_text, longest_held = reachable(in_memory(stories / "big.txt"))
    assert held_text > 2 * len(text) and longest_held == len(text)


def test_a_stored_text_reads_any_span_across_chunks(tmp_path: Path) -> None:
    store = TextStore.open(tmp_path / "t.sqlite3")
    text = "".join(chr(0x61 + i % 26) if i % 7 else "’" for i in range(3 * CHUNK_CHARS + 5))
    stored = store.put(text)
    assert len(stored) == len(text)
    for start, end in [
        (0, 1),
        (0, len(text)),
        (CHUNK_CHARS - 3, CHUNK_CHARS + 3),
        (5, 2 * CHUNK_CHARS + 9),
        (len(text) - 2, len(text)),
    ]:
        assert stored.read(start, end) == text[start:end]
    assert store.put(text).text_id == stored.text_id
