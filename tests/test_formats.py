"""HTML, EPUB and Archive of Our Own downloads, loaded behind the same library interface as
plain text. Every file here is written by the tests (tests/story_formats.py)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from bot.library import Library, StoryError, load_story, make_serial
from bot.story import Break, Rating
from tests.story_formats import Work, paragraph_html, write_epub

CHAPTERS = [
    (
        "The Governess",
        [
            "“To the man who loves art for its own sake,” remarked Sherlock Holmes.",
            "It is a curious thing: the plainest things are the strangest.",
            "Come, Watson, come!\nThe game is afoot.\nNot a word! Into your clothes and come!",
        ],
    ),
    ("The Copper Beeches", ["She said:", "“I have come to ask your advice.”", "He nodded."]),
]


def posted(path: Path, words: int = 1200) -> list[str]:
    serial = make_serial(load_story(path), words)
    return [piece for part in serial.parts for piece in part.paragraphs]


# Archive of Our Own ------------------------------------------------------------------------


@pytest.fixture
def work() -> Work:
    return Work(chapters=CHAPTERS, chapter_notes={2: "Holmes is rude here; sorry."})


@pytest.mark.parametrize("kind", ["html", "epub"])
def test_an_ao3_download_maps_its_preface_to_metadata(tmp_path: Path, work: Work, kind: str):
    path = tmp_path / f"beeches.{kind}"
    if kind == "html":
        path.write_text(work.html_download(), encoding="utf-8")
    else:
        work.epub_download(path)
    story = load_story(path)
    meta = story.meta
    assert (meta.title, meta.author, meta.rating, meta.language) == (
        "The Adventure of the Copper Beeches",
        "Arthur Conan Doyle",
        Rating.TEEN,
        "English",
    )
    assert meta.summary == "A governess is offered a strange position."
    assert meta.content_notes == ()
    assert dict(meta.details) == {
        "Fandom": "Sherlock Holmes - Arthur Conan Doyle",
        "Relationship": "Sherlock Holmes & John Watson",
        "Character": "Sherlock Holmes, John Watson, Violet Hunter",
        "Category": "Gen",
        "Additional Tags": "Case Fic",
    }
    assert story.source == f"AO3 {kind.upper()}"


@pytest.mark.parametrize("kind", ["html", "epub"])
def test_each_ao3_chapter_heading_is_a_chapter_and_the_work_is_unchanged(
    tmp_path: Path, work: Work, kind: str
):
    path = tmp_path / f"beeches.{kind}"
    if kind == "html":
        path.write_text(work.html_download(), encoding="utf-8")
    else:
        work.epub_download(path)
    story = load_story(path)
    chapters = [
        story.paragraph_text(p) for p in story.paragraphs if p.break_before == Break.CHAPTER
    ]
    assert chapters == ["Chapter 1: The Governess", "Chapter 2: The Copper Beeches"]
    pieces = posted(path)
    for _, paragraphs in CHAPTERS:
        for paragraph in paragraphs:
            assert paragraph in pieces  # verse keeps its line breaks too
    assert not any("Archive of Our Own" in p or "drop by" in p for p in pieces)


def test_author_notes_are_marked_and_a_sidecar_can_leave_them_out(tmp_path: Path, work: Work):
    path = tmp_path / "beeches.html"
    path.write_text(work.html_download(), encoding="utf-8")
    pieces = posted(path)
    notes = pieces.index("Author's chapter notes")
    assert pieces[notes + 1] == "Holmes is rude here; sorry."
    assert pieces[notes - 1] == "Chapter 2: The Copper Beeches"
    assert pieces[-2:] == ["Author's end notes", "Thank you for reading."]
    assert "Author's notes" in pieces and "From the Strand, 1892." in pieces
    (tmp_path / "beeches.yaml").write_text("author_notes: false\n", encoding="utf-8")
    without = posted(path)
    assert not any("Author's" in p or "sorry" in p or "Thank you" in p for p in without)
    assert without[-1] == "He nodded."


def test_the_configuration_can_leave_every_work_s_notes_out(tmp_path: Path, work: Work):
    (tmp_path / "beeches.html").write_text(work.html_download(), encoding="utf-8")
    library = Library.load(tmp_path, author_notes=False)
    pieces = [p for part in library.serials["beeches"].parts for p in part.paragraphs]
    assert not any("Author's" in p for p in pieces)
    (tmp_path / "beeches.yaml").write_text("author_notes: true\n", encoding="utf-8")
    pieces = [p for part in library.reload().serials["beeches"].parts for p in part.paragraphs]
    assert "Author's end notes" in pieces


@pytest.mark.parametrize(
    ("rating", "expected"),
    [
        ("General Audiences", Rating.GENERAL),
        ("Teen And Up Audiences", Rating.TEEN),
        ("Mature", Rating.MATURE),
        ("Explicit", Rating.EXPLICIT),
        ("Not Rated", Rating.MATURE),
    ],
)
def test_ao3_ratings(tmp_path: Path, rating: str, expected: Rating):
    path = tmp_path / "w.html"
    path.write_text(Work(rating=rating, chapters=CHAPTERS).html_download(), encoding="utf-8")
    story = load_story(path)
    assert story.meta.rating == expected
    said = any("Not Rated" in w for w in story.warnings)
    assert said == (rating == "Not Rated")


@pytest.mark.parametrize(
    ("warnings", "notes"),
    [
        (["No Archive Warnings Apply"], ()),
        (
            ["Creator Chose Not To Use Archive Warnings"],
            ("Creator Chose Not To Use Archive Warnings",),
        ),
        (
            ["Graphic Depictions Of Violence", "Major Character Death"],
            ("Graphic Depictions Of Violence", "Major Character Death"),
        ),
    ],
)
def test_ao3_archive_warnings_become_content_notes(tmp_path: Path, warnings, notes):
    path = tmp_path / "w.html"
    path.write_text(Work(warnings=warnings, chapters=CHAPTERS).html_download(), encoding="utf-8")
    assert load_story(path).meta.content_notes == notes


def test_a_sidecar_wins_over_what_the_download_says(tmp_path: Path, work: Work):
    path = tmp_path / "w.html"
    path.write_text(work.html_download(), encoding="utf-8")
    (tmp_path / "w.yaml").write_text("title: Beeches\nrating: mature\n", encoding="utf-8")
    story = load_story(path)
    assert (story.title, story.meta.rating, story.meta.author) == (
        "Beeches",
        Rating.MATURE,
        "Arthur Conan Doyle",
    )


# Any HTML page -----------------------------------------------------------------------------


def test_any_html_page_gives_its_paragraphs_and_headings(tmp_path: Path):
    page = (
        "<html><head><title>x</title><style>p { color: red }</style></head><body>"
        "<h1>The Long Road</h1><h2>One</h2><p>It began <em>badly</em>.</p>"
        "<form><p>a form</p></form><p>Then it rained.</p><hr/>"
        "<p>Later.</p><h2>Two</h2><ul><li>eggs</li><li>milk</li></ul><p>It ended.</p>"
        "<noscript>enable scripts</noscript></body></html>"
    )
    path = tmp_path / "road.htm"
    path.write_text(page, encoding="utf-8")
    story = load_story(path)
    assert story.title == "The Long Road"
    assert posted(path) == [
        "One",
        "It began badly.",
        "Then it rained.",
        "* * *",
        "Later.",
        "Two",
        "• eggs\n• milk",
        "It ended.",
    ]
    chapters = [p for p in story.paragraphs if p.break_before == Break.CHAPTER]
    assert [story.paragraph_text(p) for p in chapters] == ["One", "Two"]


@pytest.mark.parametrize(
    ("markup", "reason"),
    [
        ("<script>document.write('evil')</script>", r"a script at line 2"),
        ("<head><script src='x.js'></script></head>", r"a script at line 2"),
        ("<iframe src='x'><p>framed</p></iframe>", r"an embedded frame \(iframe\) at line 2"),
        ("<frameset><frame src='a.html'></frameset>", r"a frameset at line 2"),
        ("<object data='x.swf'></object>", r"an embedded object \(object\)"),
        ("<embed src='x.swf'>", r"an embedded object \(embed\)"),
        ("<p onclick='steal()'>Click</p>", r"a script \(the onclick attribute of <p>\)"),
        ("<a href=' JavaScript:steal()'>here</a>", r"a script \(a javascript: link in <a>\)"),
        ("<svg><script>x()</script></svg>", r"a script at line 2"),
    ],
)
def test_a_page_with_active_or_embedded_content_is_refused_with_the_reason(
    tmp_path: Path, markup: str, reason: str
):
    path = tmp_path / "active.html"
    path.write_text(f"<html><body><p>It began.</p>\n{markup}<p>It ended.</p></body></html>")
    with pytest.raises(StoryError, match=rf"^active\.html: the page holds {reason}.*refused"):
        load_story(path)


def test_fifty_thousand_nested_tags_are_refused_without_recursion(tmp_path: Path):
    path = tmp_path / "deep.html"
    path.write_text("<div>" * 50_000 + "<p>Deep down.</p>" + "</div>" * 50_000, "utf-8")
    with pytest.raises(StoryError, match=r"^deep\.html: tags nested more than 512 deep"):
        load_story(path)


def test_nesting_a_real_page_uses_and_unclosed_paragraphs_are_read(tmp_path: Path):
    # Deep but plausible nesting, and thousands of <p> and <li> left unclosed, as HTML allows:
    # those are siblings, not nesting.
    path = tmp_path / "deep.html"
    unclosed = "".join(f"<p>Line {n}." for n in range(3000))
    items = "<ul>" + "".join(f"<li>item {n}" for n in range(3000)) + "</ul>"
    nested = "<div>" * 200 + "<p>Deep down." + "</div>" * 200
    path.write_text(f"<html><body>{unclosed}{items}{nested}</body></html>", "utf-8")
    pieces = posted(path, 100_000)
    assert pieces[0] == "Line 0." and pieces[-1] == "Deep down."


def test_a_refused_page_does_not_keep_the_other_stories_from_loading(tmp_path: Path):
    (tmp_path / "active.html").write_text("<p>Hi.</p><script>x()</script>", encoding="utf-8")
    (tmp_path / "fine.html").write_text("<p>It was fine.</p>", encoding="utf-8")
    library = Library.load(tmp_path)
    assert list(library.serials) == ["fine"]
    assert [str(p) for p in library.problems] == [
        "active.html: the page holds a script at line 1; active or embedded content is refused"
    ]


def test_a_page_with_no_text_is_refused_by_name(tmp_path: Path):
    path = tmp_path / "empty.html"
    path.write_text("<html><style>p{}</style><p> </p><hr/></html>", encoding="utf-8")
    with pytest.raises(StoryError, match=r"empty.html: no paragraphs"):
        load_story(path)


# EPUB --------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [2, 3])
def test_an_epub_reads_in_spine_order_with_navigation_titles(tmp_path: Path, version: int):
    pages = [
        ("c1", "The First Night", "<p>It was dark.</p><p>Very dark.</p>"),
        ("c2", "Morning", "<h2>Morning</h2><p>Light came <img src='sun.png' alt='a sun'/>.</p>"),
        ("c3", "Last", "<p>Roses are red,<br/>Violets are blue.</p>"),
    ]
    path = write_epub(
        tmp_path / "night.epub",
        title="Night",
        author="A. Writer",
        pages=pages,
        version=version,
        subjects=["Horror", "Short stories"],
        description="<p>A <b>dark</b> tale.</p>",
    )
    story = load_story(path)
    assert (story.title, story.meta.author, story.meta.language) == ("Night", "A. Writer", "en")
    assert story.meta.summary == "A dark tale."
    assert dict(story.meta.details) == {"Subjects": "Horror, Short stories"}
    assert posted(path) == [
        "The First Night",
        "It was dark.",
        "Very dark.",
        "Morning",
        "Light came [a sun] .",
        "Last",
        "Roses are red,\nViolets are blue.",
    ]
    assert story.source == "EPUB"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("<p>It was dark.</p><script>steal()</script>", "a script"),
        ("<p>It was dark.</p><iframe src='https://example.com/'></iframe>", "an embedded frame"),
        ("<div>" * 600 + "<p>Deep.</p>" + "</div>" * 600, "tags nested more than 512 deep"),
    ],
)
def test_an_epub_page_with_active_content_is_refused_naming_the_page(
    tmp_path: Path, body: str, reason: str
):
    pages = [("c1", "One", "<p>It began.</p>"), ("c2", "Two", body)]
    path = write_epub(tmp_path / "night.epub", title="Night", author="A. Writer", pages=pages)
    with pytest.raises(StoryError, match=rf"^night\.epub: OEBPS/c2\.xhtml: .*{reason}"):
        load_story(path)


def test_a_stylesheet_is_no_reason_to_refuse_an_ao3_download(tmp_path: Path, work: Work):
    page = work.html_download()
    assert "<style" in page and "<script" not in page
    path = tmp_path / "work.html"
    path.write_text(page, encoding="utf-8")
    assert load_story(path).source == "AO3 HTML"


def test_a_corrupt_epub_is_refused_and_the_other_stories_still_load(tmp_path: Path):
    (tmp_path / "broken.epub").write_text("this is not a zip", encoding="utf-8")
    (tmp_path / "fine.txt").write_text("Fine\n\nIt works.\n", encoding="utf-8")
    library = Library.load(tmp_path)
    assert [s.slug for s in library] == ["fine"]
    assert [str(p) for p in library.problems] == [
        "broken.epub: not a valid EPUB (the file is not a zip archive)"
    ]


def test_an_encrypted_epub_is_refused_as_drm(tmp_path: Path):
    path = write_epub(tmp_path / "drm.epub", title="D", author="A", pages=[("c", "C", "<p>x</p>")])
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(
            "META-INF/encryption.xml",
            '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
            'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
            '<enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>'
            "</enc:EncryptedData></encryption>",
        )
    with pytest.raises(StoryError, match=r"drm.epub: encrypted EPUB \(DRM\)"):
        load_story(path)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path):
    path = write_epub(tmp_path / "bomb.epub", title="B", author="A", pages=[("c", "C", "<p>x</p>")])
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("OEBPS/c.xhtml", b"<p>" + b"a " * 20_000_000 + b"</p>")
    with pytest.raises(StoryError, match=r"bomb.epub: .*(zip bomb|size limit)"):
        load_story(path, max_bytes=4 * 1024 * 1024)


def test_an_epub_whose_spine_names_a_missing_page_is_refused(tmp_path: Path):
    path = write_epub(
        tmp_path / "gap.epub",
        title="G",
        author="A",
        pages=[("c", "C", "<p>x</p>")],
        missing="lost.xhtml",
    )
    with pytest.raises(StoryError, match=r"gap.epub: the spine names OEBPS/lost.xhtml"):
        load_story(path)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_an_epub_that_declares_xml_entities_is_refused(tmp_path: Path):
    path = write_epub(tmp_path / "lol.epub", title="L", author="A", pages=[("c", "C", "<p>x</p>")])
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><container/>',
        )
    with pytest.raises(StoryError, match=r"lol.epub: .*entities"):
        load_story(path)


def test_a_text_file_named_epub_is_refused_by_name(tmp_path: Path):
    path = tmp_path / "story.epub"
    path.write_bytes(b"PK\x03\x04 but then nothing")
    with pytest.raises(StoryError, match=r"story.epub: not a valid EPUB"):
        load_story(path)


def test_paragraph_html_keeps_verse_lines():
    assert paragraph_html("a\nb") == "<p>a<br/>\nb</p>"
