"""How a part reads in a chat: a header, the text in messages that fit Discord's limits, and the
name of its discussion thread. Discord and the console demo both show parts through this package,
so what the demo prints is what a channel receives.

Story text is shown as written, its markdown escaped; the only markdown in it is the emphasis a
loader found in the file, as ``*…*``, ``**…**`` or ``***…***`` around the escaped text. Text is
cut into messages at paragraph ends, then line breaks, then sentence ends, then between words.

The package's modules, by job: ``_markdown`` (escaping, and emphasis as markdown),
``_messages`` (text cut into messages within the limit), ``_parts`` (a part's header, messages
and thread name, and the closing message), ``_excerpts`` (a part's first and last lines as
posted, for previews) and ``_progress`` (progress bars and waits as readers
read them).
"""

from bot.limits import MESSAGE_LIMIT, THREAD_NAME_LIMIT
from bot.render._excerpts import part_lines
from bot.render._markdown import (
    URL_PATTERN,
    Emphasis,
    clip_emphasized,
    emphasize_text,
    escape_text,
    read_text,
    unescape_text,
)
from bot.render._messages import split_text
from bot.render._parts import (
    MIN_RENDER_LIMIT,
    SCENE_BREAK,
    RenderedPart,
    render_end,
    render_part,
    thread_name,
)
from bot.render._progress import format_duration, status_bar

__all__ = [
    "MESSAGE_LIMIT",
    "MIN_RENDER_LIMIT",
    "SCENE_BREAK",
    "THREAD_NAME_LIMIT",
    "URL_PATTERN",
    "Emphasis",
    "RenderedPart",
    "clip_emphasized",
    "emphasize_text",
    "escape_text",
    "format_duration",
    "part_lines",
    "read_text",
    "render_end",
    "render_part",
    "split_text",
    "status_bar",
    "thread_name",
    "unescape_text",
]
