"""Story files that could hurt: an enormous file is refused by its size without being read, a
single enormous paragraph is cut into parts and messages within bounds, and a story edited or
removed while channels follow it keeps their place in the text and tells them. (Binary, non-UTF-8,
empty files and bad front matter are covered with the library's other broken files.)"""

from __future__ import annotations

import builtins
import pathlib
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.frontend.poster import is_installment_start
from bot.library import Library
from bot.render import MESSAGE_LIMIT, render_part
from bot.splitter import bounds
from tests.crash_harness import installment_posts
from tests.discord_double import DiscordDouble
from tests.frontend_harness import running_bot, stories_folder, write_story

MB = 1024 * 1024


def test_a_100_mb_story_is_refused_by_its_size_without_being_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as handle:
        handle.truncate(100 * MB)  # sparse: made at once, takes no room
    write_story(tmp_path, "small", ["A small story that is fine."], title="Small")
    real_open = builtins.open

    def guarded(file: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(str(file)).name == "huge.txt":
            raise AssertionError("the huge file was opened")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    monkeypatch.setattr(pathlib.Path, "read_bytes", lambda self: guarded(self))
    started = time.perf_counter()
    library = Library.load(tmp_path)

    assert time.perf_counter() - started < 2.0
    assert list(library.serials) == ["small"]
    [problem] = library.problems
    assert str(problem) == "huge.txt: file is 104,857,600 bytes (100 MiB), over the 64 MiB limit"


@pytest.mark.parametrize(
    "paragraph",
    [
        " ".join(f"Sentence {i} goes on about the sea and the lamp." for i in range(22_000)),
        " ".join(f"word{i}" for i in range(160_000)),
    ],
    ids=["sentences", "no-sentence-ends"],
)
def test_a_one_megabyte_paragraph_is_cut_into_parts_and_messages_within_bounds(
    tmp_path: Path, paragraph: str
) -> None:
    assert len(paragraph) > MB
    write_story(tmp_path, "giant", [paragraph], title="The Giant", words_per_part=1200)
    started = time.perf_counter()
    serial = Library.load(tmp_path).get("giant")
    assert serial is not None
    low, high = bounds(1200)
    assert all(part.words <= high for part in serial.parts)
    assert all(part.words >= low for part in serial.parts[:-1])
    assert sum(part.words for part in serial.parts) == len(paragraph.split())
    longest = max(
        len(message)
        for part in serial.parts
        for message in (lambda r: (r.header, *r.messages))(render_part(serial, part))
    )
    assert longest <= MESSAGE_LIMIT
    assert time.perf_counter() - started < 10.0


# --- edited and removed while followed, on the wire ----------------------------------------------


def _paragraphs(first: int, last: int) -> list[str]:
    return [
        f"Day {n} on the island began with the bell, and the ferryman rowed out past the "
        f"rocks to fetch the {n} letters that had come for the keeper."
        for n in range(first, last + 1)
    ]


def _is_notice(content: str) -> bool:
    return any(
        said in content
        for said in (
            "was edited and now has",
            "was edited:",
            "is paused:",
            "is back in the library",
        )
    )


def _story_text_posted(double: DiscordDouble, channel_id: int) -> list[str]:
    """The paragraphs a channel has been given, in order (headers and notices left out)."""
    return [
        paragraph
        for message in installment_posts(double, channel_id)
        if not is_installment_start(message.content) and not _is_notice(message.content)
        for paragraph in message.content.split("\n\n")
    ]


async def test_a_story_extended_while_followed_continues_in_place_and_says_so(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    folder = stories_folder(tmp_path)
    write_story(folder, "island", _paragraphs(1, 8), title="The Island", words_per_part=60)
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("island")
        await harness.until_first_post()
        await harness.advance(timedelta(days=1))
        before = harness.library.get("island")
        assert before is not None
        had = len(before.parts)

    write_story(folder, "island", _paragraphs(1, 14), title="The Island", words_per_part=60)
    async with running_bot(discord_double, tmp_path) as harness:
        now = harness.library.get("island")
        assert now is not None and len(now.parts) > had
        for _ in range(len(now.parts)):
            await harness.advance(timedelta(days=1))

        notices = [
            m.content
            for m in installment_posts(discord_double, harness.general)
            if "was edited" in m.content
        ]
        added = len(" ".join(_paragraphs(9, 14)).split())
        assert notices == [
            f"“The Island” was edited: {added} words added after it; "
            f"the rest is now parts 3–{len(now.parts)}."
        ]
        # Every paragraph once, in order: nothing skipped, nothing repeated.
        assert _story_text_posted(discord_double, harness.general) == _paragraphs(1, 14)
        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and sub.completed


async def test_a_story_removed_while_followed_pauses_and_resumes_when_it_is_back(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    folder = stories_folder(tmp_path)
    path = write_story(folder, "island", _paragraphs(1, 8), title="The Island", words_per_part=60)
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("island")
        await harness.until_first_post()

    kept = path.read_text(encoding="utf-8")
    path.unlink()
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.advance(timedelta(days=2))
        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and sub.paused
        assert "no longer in the library" in (sub.pause_reason or "")
        told = [
            m
            for m in installment_posts(discord_double, harness.general)
            if "is paused" in m.content
        ]
        assert len(told) == 1

    path.write_text(kept, encoding="utf-8")
    async with running_bot(discord_double, tmp_path) as harness:
        await (await harness.invoke("serial resume", admin=True)).reply()
        # Each run's clock starts at the same noon: move past the slot the pause held back.
        await harness.advance(timedelta(days=2))
        assert await harness.bot.scheduler.posted_part(harness.general, 2) is not None
        assert _story_text_posted(discord_double, harness.general) == _paragraphs(1, 4)
