"""What the demo runs: its one server, channel and reader, and the configuration, story,
schedule and speed the command line chose."""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

from bot.config import Config, ConfigError, load_config
from bot.configured_library import load_library
from bot.library import STORY_SUFFIXES, Library, StoryError, load_story, make_serial, slug_for
from bot.schedule import ScheduleError, parse_schedule
from bot.story import Serial

DEFAULT_STORY = "you-left"
# The demo's one server, channel and reader. Offline, any ids will do.
GUILD_ID = 1
CHANNEL_ID = 2
READER_ID = 3
CHANNEL_NAME = "serial-demo"

EXIT_OK = 0
EXIT_BAD_INPUT = 2
# Faster, and the virtual clock would run off the calendar (past the year 9999) in minutes.
MAX_SPEED = 1e9


class DemoError(Exception):
    """Input the demo cannot work with; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class DemoSetup:
    config: Config
    library: Library
    serial: Serial
    # The story was chosen on the command line (not the default).
    chosen: bool
    schedule: str
    schedule_given: bool
    speed: float


def prepare(args: argparse.Namespace) -> DemoSetup:
    try:
        config = load_config(args.config)
    except ConfigError as error:
        shown = "; ".join(error.problems)
        more = " (serialbot check lists them)" if len(error.problems) > 1 else ""
        raise DemoError(f"the configuration cannot be used: {shown}{more}") from None

    quorum = getattr(args, "quorum", None)
    if quorum is not None:
        if not 1 <= quorum <= 100:
            raise DemoError(f"--quorum must be from 1 to 100, not {quorum}")
        config = replace(config, next=replace(config.next, quorum=quorum))

    speed = float(args.speed)
    if not math.isfinite(speed) or not 0 < speed <= MAX_SPEED:
        raise DemoError(f"--speed must be more than 0 and at most {MAX_SPEED:,.0f}, not {speed:g}")

    schedule_given = args.schedule is not None
    schedule_text = args.schedule if schedule_given else config.default_schedule
    try:
        schedule = parse_schedule(schedule_text).text
    except ScheduleError as error:
        raise DemoError(f"bad schedule: {error}") from None

    library, serial, chosen = _choose_story(config, args.story)
    return DemoSetup(
        config=config,
        library=library,
        serial=serial,
        chosen=chosen,
        schedule=schedule,
        schedule_given=schedule_given,
        speed=speed,
    )


def _looks_like_file(story: str) -> bool:
    path = Path(story)
    return (
        path.suffix.lower() in STORY_SUFFIXES or os.sep in story or "/" in story or path.is_file()
    )


def _choose_story(config: Config, story: str | None) -> tuple[Library, Serial, bool]:
    if story is not None and _looks_like_file(story):
        path = Path(story)
        if not path.is_file():
            raise DemoError(f"no story file {story}")
        try:
            loaded = load_story(path, max_bytes=config.max_story_bytes)
        except StoryError as error:
            raise DemoError(f"cannot use the story {error}") from None
        serial = make_serial(loaded, config.words_per_part, config.tolerance)
        library = Library(
            path.parent,
            {serial.slug: serial},
            [],
            words_per_part=config.words_per_part,
            tolerance=config.tolerance,
            max_bytes=config.max_story_bytes,
        )
        return library, serial, True

    library = load_library(config)
    slug = story.strip().lower() if story is not None else DEFAULT_STORY
    serial = library.get(slug)
    if serial is not None:
        return library, serial, story is not None
    broken = next((p for p in library.problems if slug_for(p.path) == slug), None)
    if broken is not None:
        raise DemoError(f"cannot use the story {broken}")
    if story is None and len(library):
        # A library without the bundled story still makes a demo: its first story.
        return library, next(iter(library)), False
    known = ", ".join(library.serials) or "none"
    raise DemoError(f"no story '{slug}' in {config.stories} (stories there: {known})")
