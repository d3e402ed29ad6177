"""Every sentence the ``/serial library`` commands say to an admin, besides what the core says
of a file (``bot.uploads``) and of a server's limits (``bot.uploads_db``)."""

from __future__ import annotations

from discord.utils import escape_markdown

from bot.limits import shorten
from bot.uploads import mb

AGAIN = "Upload the file again in a moment."
NOT_ADMIN = (
    "Only members who can manage channels (Manage Channels) may manage this server's stories."
)
GONE = "That story is no longer in this server's library."
NOTHING_TO_CHANGE = (
    "Say what to change: `title`, `rating`, `content_notes`, `summary` or `words_per_part`."
)

# --- downloading ---------------------------------------------------------------------------

NOT_FROM_DISCORD = (
    "That file's link does not lead to Discord's file servers, so it was not downloaded. "
    "Attach the file to the command itself (drag it into Discord) rather than linking to it."
)
REDIRECTED_AWAY = (
    "Discord's file link sent the download elsewhere, so it was stopped and nothing was "
    f"kept. {AGAIN}"
)
DOWNLOAD_FAILED = f"The file could not be downloaded from Discord. {AGAIN}"


def over_limit(declared: int, limit: int) -> str:
    return f"The file is {mb(declared)}; a story may be at most {mb(limit)}."


def too_slow(seconds: float) -> str:
    return f"Downloading the file took longer than {seconds:.0f} seconds. {AGAIN}"


def not_handed_over(status: int) -> str:
    return f"Discord did not hand over the file (HTTP {status}). {AGAIN}"


def larger_than_said(limit: int) -> str:
    return f"The file is larger than it said and over the {mb(limit)} limit."


def size_differs(got: int, declared: int) -> str:
    return f"The file arrived with {got:,} bytes instead of {declared:,}. {AGAIN}"


# --- choosing a story ----------------------------------------------------------------------


def taken(slug: str) -> str:
    return (
        f"This server already has a story `{slug}`. Upload a new version with "
        f"`/serial library replace story:{slug}`, or choose another `slug`."
    )


def shared_slug(slug: str) -> str:
    return (
        f"`{slug}` is the slug of one of the bot's shared stories. Choose another "
        "with the `slug` option."
    )


def unknown(typed: str, *, shared: bool = False) -> str:
    shown = escape_markdown(shorten(typed, 60))
    if shared:
        return (
            f"`{shown}` is one of the bot's shared stories: only its operator can change it. "
            "Pick one of this server's stories from the list."
        )
    return (
        f"This server has no story `{shown}`. Pick one from the list as you type, or see "
        "`/serial stories`."
    )


# --- what follows a story ------------------------------------------------------------------


def channels(channel_ids: list[int]) -> str:
    shown = [f"<#{c}>" for c in channel_ids[:10]]
    more = len(channel_ids) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _follow(count: int) -> str:
    return "follows" if count == 1 else "follow"


def followers_keep_place(channel_ids: list[int]) -> str:
    return (
        f"{channels(channel_ids)} {_follow(len(channel_ids))} it: each keeps its place in the "
        "text and is told if its parts were renumbered."
    )


def cannot_remove(title: str, channel_ids: list[int]) -> str:
    return (
        f"{title} cannot be removed while {channels(channel_ids)} "
        f"{_follow(len(channel_ids))} it. Run `/serial unsubscribe` there first."
    )


def removed(title: str) -> str:
    return f"Removed {title} from this server's library."


# --- what the file did not say -------------------------------------------------------------


def unrated(slug: str) -> str:
    return (
        f"No rating: the story is kept as **unrated** and no channel can follow it until "
        f"an admin sets one: `/serial library edit story:{slug} rating:…`."
    )


def no_content_notes(slug: str) -> str:
    return (
        "No content notes: if the story needs any, add them with "
        f"`/serial library edit story:{slug} content_notes:…`."
    )


# --- a story's card and its preview --------------------------------------------------------


def every_part(slug: str) -> str:
    return f"… `/serial library preview story:{slug}` shows every part."


def kept_from(filename: str, size: int) -> str:
    return f"From `{filename}` ({mb(size)}), kept for this server only."


def note(warning: str) -> str:
    return f"Note: {warning}"


def letters_look_wrong(slug: str) -> str:
    return (
        "If letters look wrong in the preview, save the file as UTF-8 and upload it with "
        f"`/serial library replace story:{slug}`."
    )


def preview_unrated(unrated: str) -> str:
    return f"Rated: **{unrated}**: set a rating with `/serial library edit` to subscribe."
