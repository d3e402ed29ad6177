"""``serialbot init [FOLDER]``: a place to run the bot from. Writes the reference configuration
(every key, commented, at its default) and a stories folder holding the bundled story, then says
what to do next. Never overwrites: an existing configuration or story file is left as it is."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from bot import defaults

STORIES = "stories"


def main(args: argparse.Namespace) -> int:
    folder: Path = args.folder
    config = folder / defaults.CONFIG_NAME
    if config.exists():
        print(
            f"serialbot init: {config} already exists; nothing was changed "
            "(move it away to start again)",
            file=sys.stderr,
        )
        return 1
    stories = folder / STORIES
    try:
        stories.mkdir(parents=True, exist_ok=True)
        copied = _copy_bundled_stories(stories)
        config.write_text(defaults.reference_config(), encoding="utf-8")
    except OSError as error:
        print(
            f"serialbot init: cannot write to {folder}: {error.strerror or error}", file=sys.stderr
        )
        return 1
    where = folder.resolve()
    print(f"Wrote {config} (every setting, commented, at its default)")
    if copied:
        print(f"and {stories}/ with the bundled story ({', '.join(copied)}).")
    else:
        print(f"and kept {stories}/ as it was.")
    cd = "" if where == Path.cwd().resolve() else f"  cd {where}\n"
    print(
        "\nNext:\n"
        f"{cd}"
        "  serialbot check            # the configuration and every story\n"
        "  serialbot demo             # the serial, offline, in this terminal\n"
        "  export DISCORD_TOKEN=...   # the bot's token, from the Discord Developer Portal\n"
        "  serialbot invite-url       # the link that adds the bot to your server\n"
        "  serialbot run              # connect and start posting\n"
        f"Add stories as .txt, .md, .html or .epub files in {stories}/."
    )
    return 0


def _copy_bundled_stories(target: Path) -> list[str]:
    copied = []
    for source in sorted(defaults.stories_folder().iterdir()):
        destination = target / source.name
        if source.is_file() and not destination.exists():
            shutil.copyfile(source, destination)
            copied.append(source.name)
    return copied
