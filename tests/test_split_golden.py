"""Golden digests of everything loading and splitting produce: the normalised text, metadata,
asides, warnings, emphasis, every paragraph with its flags, and every part with its boundaries,
heading and readable pieces, at two part lengths. Any change to what a reader would be posted
shows here; a change meant to alter it updates the digest and says why in its commit.

Inputs: the Project Gutenberg files in ``shared/texts`` (see ``test_gutenberg_texts``), the
bundled story, and generated novels (plain text, HTML, EPUB) from the benchmark's seeded writer.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from bench._data import write_epub_novel, write_html_novel, write_novel
from bot.defaults import stories_folder
from bot.library import load_story, make_serial
from bot.story import Story
from tests.shared_texts import TEXTS

LENGTHS = (1200, 300)
_FLAGS = ("heading", "dialogue", "lines", "lead_in", "major")


def _digest(value: object) -> str:
    return hashlib.sha256(repr(value).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def digests(story: Story) -> tuple[str, ...]:
    """(the story's digest, then one per part length: boundaries, headings, pieces)."""
    paragraphs = [
        (p.start, p.end, p.words, int(p.break_before), *(getattr(p, f) for f in _FLAGS))
        for p in story.paragraphs
    ]
    found = [
        _digest(
            (
                hashlib.sha256(story.text.encode("utf-8", "surrogatepass")).hexdigest(),
                story.slug,
                story.revision,
                repr(story.meta),
                story.soft_wraps,
                story.source,
                story.warnings,
                [(a.kind, a.start, a.end) for a in story.asides],
                story.emphasis,
                paragraphs,
            )
        )
    ]
    for length in LENGTHS:
        parts = make_serial(story, length).parts
        found.append(
            _digest(
                [
                    (p.index, p.start, p.end, p.words, int(p.ends_with), p.heading, p.paragraphs)
                    for p in parts
                ]
            )
        )
    return tuple(found)


GUTENBERG = {
    "christmas-carol_pg46.txt": ("7dc2961b5c10ed17", "b81aa71a12d7d4d5", "4e4ed92b28ee9138"),
    # The first volume's "Tercera parte" and "Cuarta parte" lines became book headings, so the
    # chapters under them are named by them.
    "don-quijote_pg2000_es.txt": ("131f8f8ee568c973", "b4e5167306e933e3", "67476dc6e0ed05a2"),
    "dracula_pg345.txt": ("e8c601ee4532c80b", "81e05dc5cc0eece8", "c794f9910dd6c43f"),
    "dubliners_2814-0.txt": ("e9a16bc05a310913", "e43df2398cc73315", "1570e0991795245b"),
    "jekyll-hyde_43-0_cp1252.txt": ("ef98f7906ca2f242", "c3dd69b9f90363cc", "015ed18f5073d043"),
    "shakespeare-sonnets_wssnt10_smallprint.txt": (
        "d93fc510121d01cc",
        "c86ca55641c65366",
        "45525077ae4d391a",
    ),
    "the-raven_pg1065.txt": ("236145e8bc79e619", "06d6d6b8ba1246f2", "b697c7a029c8efe5"),
    "war-of-the-worlds_36-0_crlf.txt": ("ece34dfcfb2acd59", "52e1ac491e198881", "bb3455acc2d48062"),
}
GENERATED = {
    "you-left.txt": ("864ecd3e5d0c86b8", "704e74ac12a7718c", "704e74ac12a7718c"),
    "novel-300000-1.txt": ("2fe71fc6de74e05a", "32d383b38ee1103d", "b1bb4f9448aa1aa0"),
    "novel-60000-2.txt": ("eea28986a764e685", "c68901fed62461d8", "b6522b59926b0b54"),
    "novel-200000-3.html": ("870e4bd7b01be085", "0232352126136450", "7381477ac9e6dafa"),
    "novel-200000-4.epub": ("69d04a947f94770c", "352e268992b02b1e", "c2f18f42483efebf"),
}


@pytest.mark.parametrize("name", sorted(GUTENBERG))
def test_a_gutenberg_text_loads_and_splits_as_it_did(name: str):
    if TEXTS is None:
        if os.environ.get("CI", "").lower() == "true":
            raise RuntimeError("the Project Gutenberg test texts are missing")
        pytest.skip("no Project Gutenberg texts beside the repository")
    assert digests(load_story(TEXTS / name)) == GUTENBERG[name]


def test_every_gutenberg_text_has_a_digest():
    if TEXTS is not None:
        assert sorted(p.name for p in TEXTS.glob("*.txt")) == sorted(GUTENBERG)


def test_the_bundled_story_loads_and_splits_as_it_did():
    assert digests(load_story(stories_folder() / "you-left.txt")) == GENERATED["you-left.txt"]


@pytest.mark.parametrize("name", sorted(set(GENERATED) - {"you-left.txt"}))
def test_a_generated_novel_loads_and_splits_as_it_did(name: str, tmp_path: Path):
    writers = {".txt": write_novel, ".html": write_html_novel, ".epub": write_epub_novel}
    stem, suffix = name.rsplit(".", 1)
    size, seed = (int(n) for n in stem.split("-")[1:])
    path = writers[f".{suffix}"](tmp_path, stem, size, seed=seed)
    assert digests(load_story(path)) == GENERATED[name]


@pytest.mark.parametrize(
    "data",
    [
        "Title\n\nHello “world”.\n".encode(),
        "\ufeffTitle\n\nHello “world”.\u3000\n\n\n".encode(),
        b"\xef\xbb\xbfTitle\n\nHi.\n\n",
        b"Title\n\nHello world.  \n \n",
        b"\n\nTitle\n\nHi.\n",
        b"Title\r\n\r\nHi.\r\n",
    ],
)
def test_the_revision_is_the_digest_of_the_normalised_text(data: bytes, tmp_path: Path):
    # Taken from the file's bytes when normalising left them, so it must come out the same.
    path = tmp_path / "story.txt"
    path.write_bytes(data)
    story = load_story(path)
    assert story.revision == hashlib.sha256(story.text.encode("utf-8")).hexdigest()[:12]
