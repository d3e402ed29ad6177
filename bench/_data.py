"""What the benchmarks run on: generated stories (seeded, so every run measures the same text),
databases full of subscriptions, and a poster that posts nothing."""

from __future__ import annotations

import functools
import html
import math
import random
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.library import load_story, make_serial
from bot.poster import Delivered, Destination
from bot.store import Store
from bot.story import Part, Serial

_ONSETS = ("b", "br", "c", "ch", "d", "f", "g", "gr", "h", "l", "m", "n", "p", "r", "s", "st",
           "t", "th", "v", "w")  # fmt: skip
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "ou")
_CODAS = ("", "", "n", "r", "s", "t", "ll", "nd", "ck", "th")
_FUNCTION_WORDS = ("the", "and", "a", "of", "to", "in", "she", "he", "it", "was", "that", "on")
_ORNAMENTS = ("* * *", "***", "#", "~")


@functools.cache
def _vocabulary(size: int = 3000) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Made-up words with Zipf-like cumulative weights; the same for every story."""
    rng = random.Random(0)
    words = list(_FUNCTION_WORDS)
    seen = set(words)
    while len(words) < size:
        syllables = rng.choice((1, 1, 2, 2, 2, 3))
        word = "".join(
            rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)
        )
        if word not in seen:
            seen.add(word)
            words.append(word)
    # Zipf-like frequencies, as in prose: a few words carry most of the text.
    weights = [1.0 / (rank + 1) for rank in range(len(words))]
    cumulative: list[float] = []
    total = 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)
    return tuple(words), tuple(cumulative)


class _Prose:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words, self._cumulative = _vocabulary()
        self._pool: list[str] = []

    def _take(self, count: int) -> list[str]:
        if len(self._pool) < count:
            self._pool.extend(
                self.rng.choices(self.words, cum_weights=self._cumulative, k=max(count, 4096))
            )
        taken = self._pool[-count:]
        del self._pool[-count:]
        return taken

    def sentence(self) -> str:
        words = self._take(self.rng.randint(4, 22))
        words[0] = words[0].capitalize()
        if len(words) > 8 and self.rng.random() < 0.3:
            words[len(words) // 2] += ","
        return " ".join(words) + self.rng.choice(".....!?")

    def paragraph(self) -> str:
        text = " ".join(self.sentence() for _ in range(self.rng.randint(1, 7)))
        if self.rng.random() < 0.3:
            return f"“{text}” {self.rng.choice(('she said', 'he said', 'they said'))}."
        return text

    def title(self) -> str:
        return " ".join(w.capitalize() for w in self._take(self.rng.randint(1, 4)))


def novel_text(size: int, *, seed: int = 1) -> str:
    """A novel of about ``size`` characters: a title line, chapters with headings, scenes
    separated by marker lines or wide gaps, paragraphs of narration and dialogue."""
    prose = _Prose(seed)
    rng = prose.rng
    pieces = [prose.title(), ""]
    length = 0
    chapter = 0
    while length < size:
        chapter += 1
        heading = f"Chapter {chapter}: {prose.title()}"
        pieces += ["", heading, ""]
        length += len(heading) + 3
        for scene in range(rng.randint(1, 4)):
            if scene:
                marker = rng.choice(_ORNAMENTS)
                pieces += ["", marker, ""] if rng.random() < 0.8 else ["", "", ""]
            for _ in range(rng.randint(6, 30)):
                paragraph = prose.paragraph()
                pieces += [paragraph, ""]
                length += len(paragraph) + 2
    return "\n".join(pieces) + "\n"


def novel_pages(size: int, *, seed: int = 1) -> tuple[str, list[str]]:
    """The novel of ``novel_text`` as (title, one HTML page per chapter): the heading an
    ``h2``, scene breaks ``hr``, paragraphs ``p``."""
    title, _, rest = novel_text(size, seed=seed).partition("\n")
    pages: list[str] = []
    for block in (b.strip() for b in rest.split("\n\n")):
        if not block:
            continue
        if block.startswith("Chapter "):
            pages.append(f"<h2>{html.escape(block)}</h2>")
        elif block in _ORNAMENTS:
            pages[-1] += "<hr/>"
        else:
            pages[-1] += f"<p>{html.escape(block)}</p>"
    return title, pages


def write_html_novel(folder: Path, name: str, size: int, *, seed: int = 1) -> Path:
    title, pages = novel_pages(size, seed=seed)
    path = folder / f"{name}.html"
    body = "".join(pages)
    path.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'/><title>{html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>",
        encoding="utf-8",
    )
    return path


def write_epub_novel(folder: Path, name: str, size: int, *, seed: int = 1) -> Path:
    """The novel as an EPUB 3: a page per chapter, a navigation document, deflated."""
    title, pages = novel_pages(size, seed=seed)
    path = folder / f"{name}.epub"
    names = [f"c{i:04}.xhtml" for i in range(len(pages))]
    manifest = "".join(
        f'<item id="i{i}" href="{n}" media-type="application/xhtml+xml"/>'
        for i, n in enumerate(names)
    )
    spine = "".join(f'<itemref idref="i{i}"/>' for i in range(len(names)))
    links = "".join(f'<li><a href="{n}">Chapter {i + 1}</a></li>' for i, n in enumerate(names))
    xhtml = (
        '<?xml version="1.0" encoding="UTF-8"?><html xmlns="http://www.w3.org/1999/xhtml" '
        'xmlns:epub="http://www.idpf.org/2007/ops"><head><title>{0}</title></head>'
        "<body>{1}</body></html>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:'
            'opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" '
            'media-type="application/oebps-package+xml"/></rootfiles></container>',
        )
        archive.writestr(
            "OEBPS/content.opf",
            '<?xml version="1.0" encoding="UTF-8"?><package xmlns="http://www.idpf.org/2007/opf" '
            'version="3.0" unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/'
            f'elements/1.1/"><dc:identifier id="id">bench</dc:identifier><dc:title>'
            f"{html.escape(title)}</dc:title><dc:creator>A. Bench</dc:creator><dc:language>en"
            f'</dc:language></metadata><manifest>{manifest}<item id="nav" href="nav.xhtml" '
            'media-type="application/xhtml+xml" properties="nav"/></manifest>'
            f"<spine>{spine}</spine></package>",
        )
        archive.writestr(
            "OEBPS/nav.xhtml",
            xhtml.format("Contents", f'<nav epub:type="toc"><ol>{links}</ol></nav>'),
        )
        for page_name, page in zip(names, pages, strict=True):
            archive.writestr(f"OEBPS/{page_name}", xhtml.format(html.escape(title), page))
    return path


def write_novel(folder: Path, name: str, size: int, *, seed: int = 1) -> Path:
    path = folder / f"{name}.txt"
    path.write_text(novel_text(size, seed=seed), encoding="utf-8")
    return path


def short_story_text(parts: int, *, words_per_part: int, seed: int = 7) -> str:
    """A story in front-matter form that the splitter cuts into about ``parts`` parts of
    ``words_per_part`` words (one chat message each)."""
    prose = _Prose(seed)
    paragraphs: list[str] = []
    words = 0
    while words < parts * words_per_part:
        paragraph = prose.paragraph()
        paragraphs.append(paragraph)
        words += len(paragraph.split())
    return (
        "---\n"
        f"title: {prose.title()}\n"
        "author: A. Bench\n"
        f"words_per_part: {words_per_part}\n"
        "summary: A story written for the benchmarks.\n"
        "---\n\n" + "\n\n".join(paragraphs) + "\n"
    )


def write_library(folder: Path, count: int, *, seed: int = 11, median_words: int = 8000) -> int:
    """``count`` stories named ``story-000.txt``... with lengths drawn from a log-normal
    distribution around ``median_words`` (a few long novels, many short stories). Returns the
    bytes written."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    written = 0
    for i in range(count):
        words = min(120_000, max(1000, round(rng.lognormvariate(math.log(median_words), 0.8))))
        path = write_novel(folder, story_slug(i), words * 6, seed=seed * 100_003 + i)
        written += path.stat().st_size
    return written


def story_slug(index: int) -> str:
    return f"story-{index:03d}"


def bench_serial(folder: Path, *, parts: int = 60, words_per_part: int = 80) -> Serial:
    """A short story (one chat message per part) written to ``folder`` and loaded."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bench-story.txt"
    path.write_text(short_story_text(parts, words_per_part=words_per_part), encoding="utf-8")
    story = load_story(path)
    return make_serial(story, words_per_part)


class OneSerial:
    """A library where every slug names the same serial: subscriptions may spread over many
    slugs while the benchmark keeps one story in memory."""

    def __init__(self, serial: Serial) -> None:
        self.serial = serial

    def get(self, slug: str) -> Serial | None:
        return self.serial


class NoopPoster:
    """Posts nothing and answers at once, so what is measured is the bot's own work."""

    def __init__(self) -> None:
        self.parts = 0
        self.ends = 0
        self.notices = 0

    async def post_part(
        self, destination: Destination, serial: Serial, part: Part, *, nonce: str
    ) -> Delivered:
        self.parts += 1
        return Delivered(message_ids=(destination.channel_id + part.index,), thread_id=None)

    async def post_end(self, destination: Destination, serial: Serial, *, nonce: str) -> None:
        self.ends += 1

    async def post_notice(self, destination: Destination, text: str) -> None:
        self.notices += 1


@dataclass(frozen=True, slots=True)
class NewSubscription:
    guild_id: int
    channel_id: int
    slug: str
    schedule: str
    slot_due: datetime


@dataclass(frozen=True, slots=True)
class Populated:
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else math.inf


async def populate(
    store: Store,
    subscriptions: Iterable[NewSubscription],
    *,
    revision: str,
    now: datetime,
    part_count: int | None = None,
) -> Populated:
    """Subscribe channels through the store's public method. The store has no bulk insert and
    each call is its own transaction, so this is the per-subscription rate a bot sees."""
    started = time.perf_counter()
    count = 0
    for sub in subscriptions:
        await store.create_subscription(
            guild_id=sub.guild_id,
            channel_id=sub.channel_id,
            slug=sub.slug,
            revision=revision,
            next_part=1,
            position=0,
            schedule=sub.schedule,
            timezone="UTC",
            slot_due=sub.slot_due,
            catch_up="one",
            subscribed_by=1,
            thread_archive_minutes=None,
            now=now,
            part_count=part_count,
        )
        count += 1
    return Populated(count, time.perf_counter() - started)


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0.5 for the median, 0.99 for p99)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]
