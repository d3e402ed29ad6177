"""The library as the configuration describes it: the stories folder, read with the configured
part length, tolerance, size limit and author's notes. ``serialbot run``, ``check`` and ``demo``
all read it this way."""

from __future__ import annotations

from bot.config import Config
from bot.library import Library


def load_library(config: Config) -> Library:
    return Library.load(
        config.stories,
        words_per_part=config.words_per_part,
        tolerance=config.tolerance,
        max_bytes=config.max_story_bytes,
        author_notes=config.author_notes,
    )
