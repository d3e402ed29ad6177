"""A server's own stories, uploaded from Discord: what is checked before a file is downloaded and
after, loading it with the same loaders and checks as the stories folder, and the record kept of
it. Knows nothing of Discord.

An uploaded story is known to the scheduler by a key that holds its server's id
(``"<guild id>:<slug>"``): no file name gives a slug with a colon, so a key never meets a shared
story's slug, and a server can only reach keys of its own.

What the admin said when uploading or editing (title, rating, content notes, summary, part
length) is kept apart from the file and wins over what the file says. A story with no rating,
neither given nor stated in the file, is *unrated*: it is kept and can be previewed, but no
channel can follow it until an admin sets one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import loaders
from bot.library import MAX_STORY_BYTES, STORY_SUFFIXES, load_story, make_serial, slug_for
from bot.loaders.metadata import check_field, parse_metadata, split_front_matter
from bot.loaders.reading import decode
from bot.origins import FileSources
from bot.splitter import DEFAULT_TOLERANCE, DEFAULT_WORDS_PER_PART
from bot.story import Rating, Serial, StoryError

if TYPE_CHECKING:
    from bot.config import UploadSettings

MEGABYTE = 1024 * 1024
SLUG_MAX = 64
TITLE_MAX = 200
CONTENT_NOTES_MAX = 500
SUMMARY_MAX = 1000
FILENAME_KEPT = 200
WORDS_PER_PART_MIN = 20
WORDS_PER_PART_MAX = 50_000
# What an admin may set, in the order answers list them.
META_FIELDS = ("title", "rating", "content_notes", "summary", "words_per_part")

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_MENTION = re.compile(r"@everyone|@here|<@[!&]?\d+>|<#\d+>|<@&\d+>", re.IGNORECASE)
# What the first bytes of files that are not text say they are.
_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Word or Office document"),
    (b"{\\rtf", "an RTF document"),
)
_ZIP = b"PK\x03\x04"
_HTML_START = re.compile(rb"\s*(?:<\?xml[^>]*>\s*)?<(?:!doctype\s+html|html)[\s>]", re.I)
_SAVE_AS = "Save the story as .txt, .md, .html or .epub and upload that."


class UploadError(Exception):
    """What is wrong with an upload and what to do about it, as said to the admin."""


class SlugTaken(UploadError):
    """This server already has a story under that slug."""


class OverQuota(UploadError):
    """The server's library would go over one of its limits."""


@dataclass(frozen=True, slots=True)
class UploadLimits:
    """Per file and per server. Sizes are bytes of the files as uploaded."""

    max_bytes: int = 8 * MEGABYTE
    stories_per_server: int = 25
    bytes_per_server: int = 50 * MEGABYTE
    download_seconds: float = 30.0
    # Days a server's uploads and progress are kept after the bot was removed from it.
    retention_days: int = 30
    # Where a file may be downloaded from.
    sources: FileSources = field(default_factory=FileSources)

    @classmethod
    def from_config(cls, settings: UploadSettings) -> UploadLimits:
        return cls(
            max_bytes=settings.max_file_mb * MEGABYTE,
            stories_per_server=settings.stories_per_server,
            bytes_per_server=settings.mb_per_server * MEGABYTE,
            download_seconds=float(settings.download_seconds),
            retention_days=settings.retention_days,
            sources=FileSources(settings.extra_attachment_origins),
        )


@dataclass(frozen=True, slots=True)
class Upload:
    """One uploaded story as kept in the database. ``meta`` holds what admins set (it wins
    over the file); ``data`` is the file as uploaded (empty when only listed)."""

    guild_id: int
    slug: str
    filename: str
    sha256: str
    size: int
    title: str
    meta: Mapping[str, Any]
    uploaded_by: int
    uploaded_at: datetime
    updated_at: datetime
    data: bytes = field(default=b"", repr=False)

    @property
    def key(self) -> str:
        return upload_key(self.guild_id, self.slug)

    @property
    def rated(self) -> bool:
        return self.meta.get("rating") is not None


def upload_key(guild_id: int, slug: str) -> str:
    """What the scheduler and the subscriptions call a server's uploaded story."""
    return f"{guild_id}:{slug}"


def split_key(key: str) -> tuple[int, str] | None:
    """(guild id, slug) of an upload's key; None for a shared story's slug."""
    guild, colon, slug = key.partition(":")
    if not colon or not guild.isdigit():
        return None
    return int(guild), slug


def shown_slug(key: str) -> str:
    """What a server's members typed for a story: an upload's slug without the server's id."""
    split = split_key(key)
    return split[1] if split else key


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def mb(count: int) -> str:
    """A size as admins read it: ``8 MB``, ``0.3 MB``."""
    value = count / MEGABYTE
    return f"{value:.0f} MB" if value >= 10 or value == int(value) else f"{value:.1f} MB"


def size_of(count: int) -> str:
    """A file's size as an operator's tables show it: ``mb``, or ``12 kB`` below a tenth of a
    megabyte (rounded up, so a non-empty file never reads as nothing)."""
    return mb(count) if count >= MEGABYTE // 10 else f"{-(-count // 1024)} kB"


# --- before downloading ------------------------------------------------------------------------


def check_declared(filename: str, size: int, limits: UploadLimits) -> str:
    """The file's suffix, once its name and declared size are acceptable; checked from the
    attachment's metadata, before a byte is downloaded."""
    suffix = Path(filename).suffix.lower()
    if suffix not in STORY_SUFFIXES:
        shown = f"`{suffix}` files" if suffix else "Files without a suffix"
        raise UploadError(f"{shown} cannot be read as a story. {_SAVE_AS}")
    if size > limits.max_bytes:
        raise UploadError(
            f"The file is {mb(size)}; a story may be at most {mb(limits.max_bytes)}. Upload a "
            "shorter text, or split a long book into volumes."
        )
    if size <= 0:
        raise UploadError("The file is empty. Attach the story's text.")
    return suffix


def check_slug(slug: str) -> str:
    """A slug an admin typed: lowercase letters, digits and single hyphens."""
    text = slug.strip()
    if not text or len(text) > SLUG_MAX or not _SLUG.fullmatch(text):
        example = slug_for(Path(text.replace("/", "-").replace("\\", "-") or "my-story"))
        raise UploadError(
            f"A slug is 1 to {SLUG_MAX} lowercase letters, digits and hyphens, with no "
            f"spaces, dots, slashes or colons: for example `{example[:SLUG_MAX]}`."
        )
    return text


def default_slug(filename: str) -> str:
    return slug_for(Path(Path(filename).name))[:SLUG_MAX].strip("-") or "story"


def check_title(title: str, *, from_file: bool) -> str:
    where = "The file's title" if from_file else "The title"
    fix = " Give one with the `title` option." if from_file else ""
    if any(unicodedata.category(ch) == "Cc" for ch in title):
        raise UploadError(f"{where} holds control characters.{fix}")
    if _MENTION.search(title):
        raise UploadError(
            f"{where} holds a mention (@everyone, @here or <@…>), which must not be posted "
            f"with every part. Write the title without it.{fix}"
        )
    if len(title) > TITLE_MAX:
        raise UploadError(
            f"{where} is {len(title):,} characters long; a title may be at most {TITLE_MAX}.{fix}"
        )
    return title


def meta_from_options(
    *,
    title: str | None = None,
    rating: str | None = None,
    content_notes: str | None = None,
    summary: str | None = None,
    words_per_part: int | None = None,
) -> dict[str, Any]:
    """The fields an admin set, checked as the library checks a file's own."""
    given = {
        "title": title,
        "rating": rating,
        "content_notes": content_notes,
        "summary": summary,
        "words_per_part": words_per_part,
    }
    meta: dict[str, Any] = {}
    for name, value in given.items():
        if value is None:
            continue
        try:
            checked = check_field(Path("option"), "option", name, value)
        except StoryError as error:
            raise UploadError(f"`{name}`: {error.reason}.") from None
        if name == "title":
            checked = check_title(checked, from_file=False)
        meta[name] = checked.value if isinstance(checked, Rating) else checked
        if name == "content_notes":
            meta[name] = list(checked)
    return meta


# --- after downloading -------------------------------------------------------------------------


def sniff(filename: str, data: bytes) -> None:
    """Refuse a file whose bytes are not what its name says, before any loader sees them."""
    suffix = Path(filename).suffix.lower()
    if not data.strip():
        raise UploadError("The file is empty (or only white space). Attach the story's text.")
    if data.startswith(_ZIP):
        if suffix == ".epub":
            return
        raise UploadError(
            f"The file is named {suffix} but is a zip archive (an EPUB, or a Word document?). "
            f"If it is an EPUB, rename it to .epub; otherwise: {_SAVE_AS}"
        )
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise UploadError(f"The file is {what}, not a story's text. {_SAVE_AS}")
    if suffix == ".epub":
        raise UploadError(
            "The file is named .epub but is not an EPUB (an EPUB is a zip archive). If it "
            "holds plain text, rename it to .txt and upload it again."
        )
    if suffix in loaders.TEXT_SUFFIXES and _HTML_START.match(data[:512]):
        raise UploadError(
            f"The file is named {suffix} but holds an HTML page. Rename it to .html and "
            "upload it again."
        )


@dataclass(frozen=True, slots=True)
class Loaded:
    """An upload read by the library's loaders: the serial as channels get it, and whether it
    has a rating (given, or stated by the file)."""

    serial: Serial
    rated: bool


def load_upload(
    key: str,
    filename: str,
    data: bytes,
    meta: Mapping[str, Any],
    *,
    words_per_part: int = DEFAULT_WORDS_PER_PART,
    tolerance: float = DEFAULT_TOLERANCE,
    max_bytes: int = MAX_STORY_BYTES,
    author_notes: bool = True,
) -> Loaded:
    """The upload's serial, its slug ``key``. Slow for a long book: run it off the event loop.
    Raises ``UploadError`` saying what is wrong with the file."""
    suffix = Path(filename).suffix.lower()
    sniff(filename, data)
    with tempfile.TemporaryDirectory(prefix="serialbot-upload-") as folder:
        # Alone in its folder, under a name of ours: no sidecar, no path from the upload.
        path = Path(folder) / f"story{suffix}"
        path.write_bytes(data)
        try:
            story = load_story(path, max_bytes=max_bytes, author_notes=author_notes)
            stated = _stated_rating(path, suffix, story.meta.rating, max_bytes)
        except StoryError as error:
            raise UploadError(f"The file cannot be used: {error.reason}.") from None
    fields: dict[str, Any] = {}
    for name in META_FIELDS:
        if meta.get(name) is not None:
            value = meta[name]
            fields[name] = (
                Rating(value)
                if name == "rating"
                else tuple(value)
                if name == "content_notes"
                else value
            )
    if "title" not in fields:
        check_title(story.meta.title, from_file=True)
    if "rating" not in fields and stated is not None:
        fields["rating"] = Rating(stated)
    story = story.replace(
        slug=key,
        path=Path(f"{key.partition(':')[2] or 'story'}{suffix}"),
        meta=dataclasses.replace(story.meta, **fields),
    )
    serial = make_serial(story, words_per_part, tolerance)
    return Loaded(serial, rated="rating" in fields)


def _stated_rating(path: Path, suffix: str, found: Rating, max_bytes: int) -> str | None:
    """The rating the file states, or None: the library takes "general" when none is stated,
    and an upload must not pass for general audiences by saying nothing."""
    if found is not Rating.GENERAL:
        return found.value
    if suffix in loaders.TEXT_SUFFIXES:
        text, _ = decode(path, path.read_bytes())
        front, _ = split_front_matter(path, text)
        fields = parse_metadata(path, front, "front matter") if front is not None else {}
    else:
        fields = dict(loaders.load_markup(path, max_bytes).fields)
    rating = fields.get("rating")
    if rating in (None, "", ()):
        return None
    try:
        return Rating(check_field(path, "file", "rating", rating)).value
    except StoryError:
        return None


def kept_filename(filename: str) -> str:
    """The attachment's name as kept and shown: no path, no control characters, not too long."""
    name = Path(filename.replace("\\", "/")).name
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cc")
    return name[:FILENAME_KEPT] or "story"
