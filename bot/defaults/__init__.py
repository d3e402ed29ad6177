"""What serialbot uses when nothing says otherwise, shipped inside the package so it is there
however serialbot was installed (a clone, ``pip install``, ``pipx``): the reference configuration
(every key, commented, at its default) and the bundled story. Without a configuration file the
bot reads the bundled stories and keeps its database in the user's data folder."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import platformdirs

APP_NAME = "serialbot"
CONFIG_NAME = "serialbot.yaml"
DATABASE_NAME = "serialbot.sqlite3"
BUNDLED_STORY = "you-left"


def _here() -> Path:
    # A regular package installed as files: its resources are real paths (Library reads folders).
    return Path(str(files(__name__)))


def stories_folder() -> Path:
    """The bundled stories (read-only: ``serialbot init`` copies them to a folder of yours)."""
    return _here() / "stories"


def reference_config() -> str:
    """The commented reference configuration, as ``serialbot init`` writes it."""
    return (_here() / CONFIG_NAME).read_text(encoding="utf-8")


def data_folder() -> Path:
    """Where the database goes when no configuration names one: ``~/.local/share/serialbot``
    on Linux (or ``$XDG_DATA_HOME/serialbot``), the platform's equivalent elsewhere."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def database() -> Path:
    return data_folder() / DATABASE_NAME
