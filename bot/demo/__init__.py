"""``serialbot demo``: the serial offline, in a terminal.

The real core runs here: the library and splitter, an SQLite store, the scheduler and the same
rendering Discord gets. Only the poster differs: ``ConsolePoster`` prints each post as it would
read in a channel (its messages, their sizes, the thread each part opens). A fast clock makes a
day pass in a second, so the whole story is told in moments.

Lines typed while it runs act like the slash commands (``next``, ``status``, ``pause``,
``resume``, ``read N``), so the demo shows the whole flow a reader and an admin see. Progress is
kept in a throwaway database unless ``--db`` names one, in which case a later run continues.

The package's modules, by job: ``_setup`` (what the command line chose), ``_console`` (the
terminal), ``_poster`` (each post printed), ``_stdin`` (typed lines), ``_commands`` (their
answers) and ``_runner`` (putting it together).
"""

from bot.demo._console import Console
from bot.demo._poster import ConsolePoster
from bot.demo._runner import main

__all__ = ["Console", "ConsolePoster", "main"]
