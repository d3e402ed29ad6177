"""``serialbot preview STORY [--words N] [--config FILE]``: show how a story is cut into
installments, offline (no token, no database).

STORY is a story file or the slug of a story in the configured stories folder. The target size is
``--words`` if given, else the story's own ``words_per_part``, else the configured one.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bot.config import Config, ConfigError, load_config
from bot.library import STORY_SUFFIXES, StoryError, load_story, refuse_outside, slug_for
from bot.splitter import split
from bot.story import Break, Part, Story

_RULE = "=" * 72
_OPENING_CHARS = 40
_ASIDE_LINES = 6

ENDS_AT = {
    Break.END: "end of story",
    Break.CHAPTER: "chapter end",
    Break.SCENE: "scene break",
    Break.PARAGRAPH: "paragraph",
    Break.SENTENCE: "sentence (inside a paragraph)",
    Break.WORD: "word (inside a sentence)",
}


def main(args: argparse.Namespace) -> int:
    if args.words is not None and args.words < 1:
        print(f"--words must be a positive number, not {args.words}", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        story = _find_story(args.story, config)
    except StoryError as error:
        print(error, file=sys.stderr)
        return 1
    target = args.words or story.meta.words_per_part or config.words_per_part
    parts = split(story, target, config.tolerance)
    try:
        for line in render(story, parts, target):
            print(line)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader closed the pipe (``| head``): stop quietly, as the Python docs advise.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


def render(story: Story, parts: tuple[Part, ...], target: int) -> list[str]:
    """The preview as lines of text: the story's card, every part, then the summary table."""
    meta = story.meta
    lines = [meta.title if meta.author is None else f"{meta.title}, by {meta.author}"]
    lines.append(f"Rating: {meta.rating.value}")
    if meta.content_notes:
        lines.append("Content notes: " + "; ".join(meta.content_notes))
    if meta.summary:
        lines.append(meta.summary)
    lines.append(
        f"{story.words:,} words in {len(parts)} part{'s' if len(parts) != 1 else ''} "
        f"(target {target:,} words per part)"
    )
    if story.source != "UTF-8":
        lines.append(f"Read from: {story.source}")
    for label, value in meta.details:
        lines.append(f"{label}: {value}")
    for warning in story.warnings:
        lines.append(f"Warning: {warning}")
    for aside in story.asides:
        shown = [line for line in story.span(aside.start, aside.end).split("\n") if line.strip()]
        count = f"{len(shown)} line{'s' if len(shown) != 1 else ''}"
        lines += ["", f"Left out ({aside.kind}, {count}, not posted):"]
        lines += [f"  | {line.strip()}" for line in shown[:_ASIDE_LINES]]
        if len(shown) > _ASIDE_LINES:
            lines.append("  | …")
    for part in parts:
        heading = f" · {part.heading}" if part.heading else ""
        lines += [
            "",
            _RULE,
            f"{meta.title} · Part {part.index} of {len(parts)}{heading}",
            f"{part.words:,} words · about {part.minutes} min · ends at: {ENDS_AT[part.ends_with]}",
            _RULE,
        ]
        for piece in part.paragraphs:
            lines += ["", piece]
    lines += ["", _RULE, "Summary", _RULE, ""]
    lines.append(f"{'Part':>4}  {'Words':>6}  {'Min':>3}  {'Ends at':<29}  Opens with")
    for part in parts:
        lines.append(
            f"{part.index:>4}  {part.words:>6,}  {part.minutes:>3}  "
            f"{ENDS_AT[part.ends_with]:<29}  {_opening(part)}"
        )
    total_minutes = sum(p.minutes for p in parts)
    lines.append(f"{'All':>4}  {story.words:>6,}  {total_minutes:>3}")
    return lines


def _opening(part: Part) -> str:
    if not part.paragraphs:
        return ""
    first = " ".join(part.paragraphs[0].split())
    if len(first) <= _OPENING_CHARS:
        return first
    return first[: _OPENING_CHARS - 1].rstrip() + "…"


def _find_story(name: str, config: Config) -> Story:
    path = Path(name)
    if path.is_file():
        return load_story(path, max_bytes=config.max_story_bytes)
    if path.suffix.lower() in STORY_SUFFIXES or len(path.parts) > 1:
        raise StoryError(path, "file not found")
    # Only the asked-for story is loaded: the others' problems are not this command's business.
    folder = config.stories
    files = sorted(folder.iterdir()) if folder.is_dir() else []
    stories = [f for f in files if f.suffix.lower() in STORY_SUFFIXES and f.is_file()]
    for candidate in stories:
        if slug_for(candidate) == name:
            refuse_outside(candidate, folder)
            return load_story(candidate, max_bytes=config.max_story_bytes)
    known = ", ".join(slug_for(f) for f in stories) or "none"
    raise StoryError(
        Path(name), f"no such file, and no story with that slug in {folder}/ (stories: {known})"
    )
