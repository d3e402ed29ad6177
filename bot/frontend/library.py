"""``/serial library``: each server's own stories, managed by its admins from Discord.

``add`` downloads an attached file (its declared size checked first), reads it with the library's
own loaders and checks (``bot.uploads``) and keeps it in the database (``bot.uploads_db``);
``preview`` shows how it is cut, a page at a time; ``edit`` changes what admins may set;
``replace`` takes a new version, and the channels following it keep their place by text position
as after an edit of a file on disk; ``remove`` is refused while a channel follows the story.

Every command here is for admins: Manage Channels is checked on every call (``interaction_check``),
whatever the server's integration settings say. Every command defers first (downloads and
splitting take time) and answers ephemerally.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.catalog import Entry
from bot.frontend import library_answers as say
from bot.frontend.answers import send_ephemeral
from bot.frontend.downloads import download
from bot.frontend.library_pages import (
    asks,
    card,
    cut,
    page_count,
    preview_page,
    preview_view,
)
from bot.frontend.options import Bounded
from bot.frontend.stories import serial_title, story_choices
from bot.story import Rating
from bot.uploads import (
    CONTENT_NOTES_MAX,
    SLUG_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    WORDS_PER_PART_MAX,
    WORDS_PER_PART_MIN,
    SlugTaken,
    Upload,
    UploadError,
    UploadLimits,
    check_declared,
    check_slug,
    default_slug,
    kept_filename,
    meta_from_options,
    sha256_of,
)
from bot.uploads_db import over_quota

if TYPE_CHECKING:
    from bot.frontend.client import SerialBot

    Interaction = discord.Interaction[SerialBot]

log = logging.getLogger(__name__)

Slug = app_commands.Transform[str, Bounded(discord.AppCommandOptionType.string, 1, SLUG_MAX)]
Title = app_commands.Transform[str, Bounded(discord.AppCommandOptionType.string, 1, TITLE_MAX)]
Notes = app_commands.Transform[
    str, Bounded(discord.AppCommandOptionType.string, 1, CONTENT_NOTES_MAX)
]
Summary = app_commands.Transform[str, Bounded(discord.AppCommandOptionType.string, 1, SUMMARY_MAX)]
WordsPerPart = app_commands.Transform[
    int,
    Bounded(
        discord.AppCommandOptionType.integer,
        WORDS_PER_PART_MIN,
        WORDS_PER_PART_MAX,
        what="words per part",
    ),
]
RATINGS = [app_commands.Choice(name=r.value, value=r.value) for r in Rating]
# Marks a kept rating as the file's own, not an admin's.
FROM_FILE = "rating_from_file"
# Uploads read and cut at once: each holds a file and its text in memory.
CONCURRENT_UPLOADS = 2

_DESCRIBE_META: dict[str, str] = {
    "title": "The title (default: what the file says)",
    "rating": "general, teen, mature or explicit (default: what the file says; none: unrated)",
    "content_notes": "Content notes, separated by commas",
    "words_per_part": "Words per part (default: the file's, else the bot's)",
}


class LibraryCommands(app_commands.Group):
    def __init__(self, bot: SerialBot) -> None:
        super().__init__(name="library", description="This server's own stories (admins)")
        self.bot = bot
        self._busy = asyncio.Semaphore(CONCURRENT_UPLOADS)

    async def interaction_check(self, interaction: Interaction) -> bool:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        if interaction.permissions.manage_channels:
            return True
        raise app_commands.CheckFailure(say.NOT_ADMIN)

    @property
    def limits(self) -> UploadLimits:
        return self.bot.upload_limits

    # --- add -----------------------------------------------------------------------------------

    @app_commands.command(description="Add a story to this server's library from a file")
    @app_commands.describe(
        file="A .txt, .md, .html or .epub file",
        slug="What members type to choose it, e.g. my-story (default: from the file name)",
        summary="A line or two about the story",
        **_DESCRIBE_META,
    )
    @app_commands.choices(rating=RATINGS)
    async def add(
        self,
        interaction: Interaction,
        file: discord.Attachment,
        slug: Slug | None = None,
        title: Title | None = None,
        rating: str | None = None,
        content_notes: Notes | None = None,
        words_per_part: WordsPerPart | None = None,
        summary: Summary | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild_id = _guild(interaction)
        check_declared(file.filename, file.size, self.limits)
        chosen = check_slug(slug) if slug is not None else default_slug(file.filename)
        if self.bot.catalog.upload(guild_id, chosen) is not None:
            raise UploadError(say.taken(chosen))
        if self.bot.catalog.shared.get(chosen) is not None:
            raise UploadError(say.shared_slug(chosen))
        usage = await self.bot.store.uploads().usage(guild_id)
        problem = over_quota(usage, self.limits, adding=1, size=file.size)
        if problem is not None:
            raise UploadError(problem)
        meta = meta_from_options(
            title=title,
            rating=rating,
            content_notes=content_notes,
            summary=summary,
            words_per_part=words_per_part,
        )
        entry = await self._read(interaction, file, guild_id, chosen, meta)
        assert entry.upload is not None
        try:
            await self.bot.store.uploads().add(entry.upload, self.limits)
        except SlugTaken:
            raise UploadError(say.taken(chosen)) from None
        self.bot.catalog.put(entry)
        log.info("guild %s uploaded %s (%s bytes)", guild_id, entry.key, entry.upload.size)
        await send_ephemeral(interaction, card(entry, heading="Added:", notes=asks(entry)))

    async def _read(
        self,
        interaction: Interaction,
        file: discord.Attachment,
        guild_id: int,
        slug: str,
        meta: dict[str, Any],
        previous: Upload | None = None,
    ) -> Entry:
        """Download and read the file: the entry it makes, not yet kept anywhere."""
        async with self._busy:
            data = await download(
                file.url,
                declared=file.size,
                limit=self.limits.max_bytes,
                seconds=self.limits.download_seconds,
                sources=self.limits.sources,
            )
            now = self.bot.clock.now()
            upload = Upload(
                guild_id=guild_id,
                slug=slug,
                filename=kept_filename(file.filename),
                sha256=sha256_of(data),
                size=len(data),
                title="",
                meta=meta,
                uploaded_by=interaction.user.id,
                uploaded_at=previous.uploaded_at if previous is not None else now,
                updated_at=now,
                data=data,
            )
            catalog = self.bot.catalog
            loaded = await asyncio.to_thread(catalog.entry_for, upload)
        story = loaded.serial.story
        kept = dict(meta)
        if loaded.rated and "rating" not in kept:
            # The file's own rating, kept as if given: a later version stating another one
            # replaces it, a later version stating none keeps it.
            kept.update(rating=story.meta.rating.value, **{FROM_FILE: True})
        elif not loaded.rated and previous is not None and previous.meta.get(FROM_FILE):
            kept.update(rating=previous.meta["rating"], **{FROM_FILE: True})
            meta_rated = dataclasses.replace(story.meta, rating=Rating(kept["rating"]))
            serial = dataclasses.replace(loaded.serial, story=story.replace(meta=meta_rated))
            loaded = dataclasses.replace(loaded, serial=serial, rated=True)
        upload = dataclasses.replace(upload, title=story.meta.title, meta=kept)
        return dataclasses.replace(loaded, upload=upload)

    # --- preview -------------------------------------------------------------------------------

    @app_commands.command(description="Each part's length and where it breaks (admins)")
    @app_commands.describe(
        story="The story; start typing its title", words_per_part="Cut at this many words"
    )
    async def preview(
        self, interaction: Interaction, story: str, words_per_part: WordsPerPart | None = None
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        entry = self.bot.catalog.find(_guild(interaction), story)
        if entry is None:
            raise UploadError(say.unknown(story))
        serial = await asyncio.to_thread(cut, entry, words_per_part, self.bot.catalog.tolerance)
        pages = page_count(serial)
        view = preview_view(entry, words_per_part or 0, 1, pages)
        text = preview_page(entry, serial, 1)
        if view is None:
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.followup.send(text, ephemeral=True, view=view)

    # --- edit ----------------------------------------------------------------------------------

    @app_commands.command(description="Change a story's title, rating, notes or part length")
    @app_commands.describe(
        story="One of this server's stories", summary="A line or two about it", **_DESCRIBE_META
    )
    @app_commands.choices(rating=RATINGS)
    async def edit(
        self,
        interaction: Interaction,
        story: str,
        title: Title | None = None,
        rating: str | None = None,
        content_notes: Notes | None = None,
        summary: Summary | None = None,
        words_per_part: WordsPerPart | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild_id = _guild(interaction)
        changes = meta_from_options(
            title=title,
            rating=rating,
            content_notes=content_notes,
            summary=summary,
            words_per_part=words_per_part,
        )
        if not changes:
            raise UploadError(say.NOTHING_TO_CHANGE)
        _, upload = await self._own(guild_id, story)
        meta = {**upload.meta, **changes}
        if "rating" in changes:
            meta.pop(FROM_FILE, None)  # an admin's rating, no longer the file's
        changed = dataclasses.replace(upload, meta=meta, updated_at=self.bot.clock.now())
        new = await asyncio.to_thread(self.bot.catalog.entry_for, changed)
        title_now = new.serial.story.title
        ok = await self.bot.store.uploads().set_meta(
            guild_id, upload.slug, title=title_now, meta=meta, now=self.bot.clock.now()
        )
        if not ok:
            raise UploadError(say.unknown(story))
        upload = dataclasses.replace(changed, title=title_now)
        new = dataclasses.replace(new, upload=upload)
        self.bot.catalog.put(new)
        followers = await self._followers(guild_id, new.key)
        await self._move(followers)
        await send_ephemeral(interaction, card(new, heading="Changed:", notes=asks(new)))

    # --- replace -------------------------------------------------------------------------------

    @app_commands.command(description="Upload a new version of one of this server's stories")
    @app_commands.describe(story="One of this server's stories", file="The new version")
    async def replace(self, interaction: Interaction, story: str, file: discord.Attachment) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild_id = _guild(interaction)
        check_declared(file.filename, file.size, self.limits)
        _, upload = await self._own(guild_id, story)
        meta = dict(upload.meta)
        if meta.pop(FROM_FILE, False):
            meta.pop("rating", None)  # the new version's own rating, if it states one
        new = await self._read(interaction, file, guild_id, upload.slug, meta, upload)
        assert new.upload is not None
        if not await self.bot.store.uploads().replace(new.upload, self.limits):
            raise UploadError(say.unknown(story))
        self.bot.catalog.put(new)
        followers = await self._followers(guild_id, new.key)
        await self._move(followers)
        notes = asks(new)
        if followers:
            notes.append(say.followers_keep_place(followers))
        await send_ephemeral(interaction, card(new, heading="Replaced:", notes=notes))

    # --- remove --------------------------------------------------------------------------------

    @app_commands.command(description="Remove one of this server's stories")
    @app_commands.describe(story="One of this server's stories")
    async def remove(self, interaction: Interaction, story: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild_id = _guild(interaction)
        entry, upload = await self._own(guild_id, story)
        followers = await self._followers(guild_id, entry.key)
        if followers:
            raise UploadError(say.cannot_remove(serial_title(entry.serial), followers))
        await self.bot.store.uploads().remove(guild_id, upload.slug)
        self.bot.catalog.drop(guild_id, upload.slug)
        log.info("guild %s removed %s", guild_id, entry.key)
        await send_ephemeral(interaction, say.removed(serial_title(entry.serial)))

    # --- autocomplete --------------------------------------------------------------------------

    @preview.autocomplete("story")
    async def _any_story(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        # discord.py runs no group check for autocomplete: readers get no choices.
        if interaction.guild_id is None or not interaction.permissions.manage_channels:
            return []
        return story_choices(self.bot.catalog.entries(interaction.guild_id), current)

    @edit.autocomplete("story")
    @replace.autocomplete("story")
    @remove.autocomplete("story")
    async def _own_story(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None or not interaction.permissions.manage_channels:
            return []
        return story_choices(self.bot.catalog.uploads(interaction.guild_id), current)

    # --- helpers -------------------------------------------------------------------------------

    async def _own(self, guild_id: int, typed: str) -> tuple[Entry, Upload]:
        entry = self.bot.catalog.find(guild_id, typed)
        if entry is None or entry.upload is None:
            raise UploadError(say.unknown(typed, shared=entry is not None))
        upload = await self.bot.store.uploads().get(guild_id, entry.slug)
        if upload is None:
            raise UploadError(say.unknown(typed))
        return entry, upload

    async def _followers(self, guild_id: int, key: str) -> list[int]:
        subs = await self.bot.store.guild_subscriptions(guild_id)  # type: ignore[attr-defined]
        return [s.channel_id for s in subs if s.slug == key]

    async def _move(self, channel_ids: list[int]) -> None:
        """Channels following a changed story move onto it now, and are told."""
        for channel_id in channel_ids:
            try:
                await self.bot.scheduler.follow_story(channel_id)
            except Exception:
                log.exception("could not move channel %s onto the new version", channel_id)


def _guild(interaction: Interaction) -> int:
    assert interaction.guild_id is not None  # interaction_check refuses DMs
    return interaction.guild_id


__all__ = ["LibraryCommands"]
