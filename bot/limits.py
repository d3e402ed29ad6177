"""Discord's limits, in one place: every message, embed, name and answer deadline the bot
produces is measured against these numbers (Discord's developer documentation; a payload over
them is refused with 400, code 50035). Nothing here imports discord.py, so the core may use it.
"""

from __future__ import annotations

# Messages and threads
MESSAGE_LIMIT = 2000
THREAD_NAME_LIMIT = 100
# Minutes a thread may stay quiet before Discord archives it: only these four are accepted.
ARCHIVE_MINUTES = (60, 1440, 4320, 10080)
NONCE_LIMIT = 25

# Embeds (each field, and all the text of all embeds of one message together)
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_LIMIT = 256
EMBED_FIELD_VALUE_LIMIT = 1024
EMBED_FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000

# Files: an attachment's ``url`` (and its ``proxy_url``) is a signed https link on Discord's CDN,
# served from these hosts only.
ATTACHMENT_HOSTS = ("cdn.discordapp.com", "media.discordapp.net")

# Application commands
AUTOCOMPLETE_MAX = 25
CHOICE_NAME_LIMIT = 100
CHOICE_VALUE_LIMIT = 100
STRING_OPTION_LIMIT = 6000
CUSTOM_ID_LIMIT = 100

# The first answer to an interaction must reach Discord within this many seconds of its
# creation (later: 404, code 10062); the token then serves follow-ups for 15 minutes.
INTERACTION_ANSWER_SECONDS = 3.0
INTERACTION_TOKEN_MINUTES = 15

ELLIPSIS = "…"
# How much of a story's title, author or pause reason an answer shows: anyone's text, which must
# leave room for the rest of the answer within one message.
TITLE_SHOWN = 200
AUTHOR_SHOWN = 100
REASON_SHOWN = 200


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending with … when cut."""
    if len(text) <= limit:
        return text
    if limit < 1:
        return ""
    return text[: limit - 1].rstrip() + ELLIPSIS


def quoted_title(title: str) -> str:
    """A story's title in quotes, as answers and notices show it."""
    return f"“{shorten(title, TITLE_SHOWN)}”"
