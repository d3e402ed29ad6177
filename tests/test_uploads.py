"""What is checked of an upload without Discord: its declared name and size, the slug and title
an admin gives, the file's bytes, and the configuration's limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.uploads import (
    MEGABYTE,
    UploadError,
    UploadLimits,
    check_declared,
    check_slug,
    check_title,
    default_slug,
    kept_filename,
    load_upload,
    meta_from_options,
    split_key,
    upload_key,
)
from tests.test_frontend_uploads import story_file


def test_the_declared_size_and_suffix_are_checked_before_download() -> None:
    limits = UploadLimits()
    assert check_declared("Story.EPUB", 1000, limits) == ".epub"
    with pytest.raises(UploadError, match="9 MB; a story may be at most 8 MB"):
        check_declared("story.txt", 9 * MEGABYTE, limits)
    with pytest.raises(UploadError, match=r"`\.pdf` files cannot be read"):
        check_declared("story.pdf", 10, limits)


@pytest.mark.parametrize("slug", ["../x", "a/b", "a\\b", "a:b", "A-B", "a--b", "-a", "a b", ""])
def test_a_slug_is_lowercase_letters_digits_and_single_hyphens(slug: str) -> None:
    with pytest.raises(UploadError, match="no spaces, dots, slashes or colons"):
        check_slug(slug)


def test_names_from_files_are_safe() -> None:
    assert check_slug(" my-story-2 ") == "my-story-2"
    assert default_slug("../../Ünïcode Tale (final).txt") == "unicode-tale-final"
    assert kept_filename("C:\\Users\\me\\tale\x00.txt") == "tale.txt"
    assert split_key(upload_key(123, "tale")) == (123, "tale") and split_key("tale") is None


def test_a_title_may_not_ping_nor_run_long() -> None:
    assert check_title("Tale of Two", from_file=False) == "Tale of Two"
    for title in ("@here we go", "<@&123456> fans", "Hi <#42>"):
        with pytest.raises(UploadError, match="mention"):
            check_title(title, from_file=False)
    with pytest.raises(UploadError, match=r"5,000 characters long.*`title` option"):
        check_title("x" * 5000, from_file=True)


def test_options_are_checked_as_a_files_own_fields() -> None:
    meta = meta_from_options(rating="Teen", content_notes="storms, , loss", words_per_part=300)
    assert meta == {"rating": "teen", "content_notes": ["storms", "loss"], "words_per_part": 300}
    with pytest.raises(UploadError, match="unknown rating 'spicy'"):
        meta_from_options(rating="spicy")


def test_options_win_over_the_file_and_no_rating_is_unrated() -> None:
    loaded = load_upload(upload_key(1, "t"), "t.txt", story_file(rating=None), {})
    assert not loaded.rated
    given = load_upload(
        upload_key(1, "t"), "t.txt", story_file(rating="teen"), {"rating": "mature", "title": "X"}
    )
    assert given.rated
    assert given.serial.story.meta.rating.value == "mature"
    assert given.serial.story.meta.title == "X"
    assert given.serial.slug == "1:t"


def test_a_bad_uploads_setting_names_the_file_the_key_and_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "serialbot.yaml"
    path.write_text("uploads:\n  max_file_mb: 0\n  retention_days: soon\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    problems = "\n".join(caught.value.problems)
    assert "serialbot.yaml: uploads.max_file_mb:" in problems
    assert "serialbot.yaml: uploads.retention_days:" in problems


def test_the_configured_limits_reach_the_uploads(tmp_path: Path) -> None:
    path = tmp_path / "serialbot.yaml"
    path.write_text("uploads:\n  max_file_mb: 2\n  stories_per_server: 4\n", encoding="utf-8")
    limits = UploadLimits.from_config(load_config(path, environ={}).uploads)
    assert (limits.max_bytes, limits.stories_per_server) == (2 * MEGABYTE, 4)
