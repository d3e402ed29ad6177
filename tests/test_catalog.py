"""The catalog: each server sees its own uploads and the shared stories, never another server's;
the scheduler finds a channel's story by its subscription's slug; a process sharing the database
with others takes in their changes."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from bot import catalog as catalog_module
from bot.catalog import Catalog
from bot.library import Library
from bot.store import Store
from bot.uploads import UploadLimits, sha256_of, upload_key
from tests.frontend_harness import lighthouse_paragraphs, write_story
from tests.test_frontend_uploads import story_file
from tests.test_uploads_store import GUILD, OTHER, upload


def _library(tmp_path: Path) -> Library:
    folder = tmp_path / "stories"
    folder.mkdir()
    write_story(folder, "lighthouse", lighthouse_paragraphs(), title="The Lighthouse")
    write_story(folder, "tide", lighthouse_paragraphs(), title="A Shared Tide")
    return Library.load(folder, words_per_part=60)


def _story(slug: str = "tide", guild: int = GUILD, title: str = "Tide Clock"):
    data = story_file(title)
    return dataclasses.replace(
        upload(slug, guild=guild, data=data), sha256=sha256_of(data), filename=f"{slug}.txt"
    )


async def test_each_server_sees_its_own_uploads_first_and_no_one_elses(tmp_path: Path) -> None:
    catalog = Catalog(_library(tmp_path))
    catalog.put(catalog.entry_for(_story()))
    own = catalog.find(GUILD, "tide")
    assert own is not None and not own.shared and own.key == upload_key(GUILD, "tide")
    assert [e.slug for e in catalog.entries(GUILD)] == ["tide", "lighthouse"]
    elsewhere = catalog.find(OTHER, "tide")
    assert elsewhere is not None and elsewhere.shared  # the shared story of that slug
    assert catalog.find(OTHER, upload_key(GUILD, "tide")) is None
    assert catalog.get(upload_key(GUILD, "tide")) is own.serial
    assert catalog.get("lighthouse") is not None
    assert catalog.get(upload_key(OTHER, "tide")) is None


async def test_a_process_takes_in_uploads_another_one_changed(tmp_path: Path) -> None:
    library = _library(tmp_path)
    async with await Store.open(tmp_path / "s.sqlite3") as store:
        here, there = Catalog(library), Catalog(library)
        first = _story()
        await store.uploads().add(first, UploadLimits())
        assert await there.refresh(store.uploads()) == 1
        assert there.upload(GUILD, "tide") is not None
        assert await there.refresh(store.uploads()) == 0  # nothing new
        data = story_file("Tide Clock, Revised")
        await store.uploads().replace(
            dataclasses.replace(first, data=data, sha256=sha256_of(data), size=len(data)),
            UploadLimits(),
        )
        assert await there.refresh(store.uploads()) == 1
        revised = there.upload(GUILD, "tide")
        assert revised is not None and revised.serial.story.title == "Tide Clock, Revised"
        await store.uploads().remove(GUILD, "tide")
        assert await there.refresh(store.uploads()) == 1
        assert there.upload(GUILD, "tide") is None
        assert here.uploads(GUILD) == []


async def test_an_upload_read_once_is_kept_out_of_memory_and_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = _library(tmp_path)
    assert library.cache is not None
    reads: list[str] = []
    real = catalog_module.load_upload

    def counting(*args: Any, **kwargs: Any) -> Any:
        reads.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(catalog_module, "load_upload", counting)
    first = Catalog(library).entry_for(_story())
    again = Catalog(library).entry_for(_story())  # as after a restart
    assert reads == [upload_key(GUILD, "tide")]
    assert first.serial.story.stored and again.serial.story.stored
    assert again.serial.story.text == first.serial.story.text
    assert [(p.start, p.end) for p in again.serial.parts] == [
        (p.start, p.end) for p in first.serial.parts
    ]
    assert again.serial.slug == upload_key(GUILD, "tide") and again.rated
    # Another part length, or what admins set, is another record.
    edited = dataclasses.replace(_story(), meta={**_story().meta, "words_per_part": 30})
    assert len(Catalog(library).entry_for(edited).serial.parts) > len(first.serial.parts)
    assert len(reads) == 2
