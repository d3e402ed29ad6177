"""The catalog: each server sees its own uploads and the shared stories, never another server's;
the scheduler finds a channel's story by its subscription's slug; a process sharing the database
with others takes in their changes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

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
