"""Story text that tries to do things, posted on the wire: mass and member mentions, markdown,
spoiler bars, code fences, zero-width and right-to-left characters, a "word" longer than a message.
Every message fits Discord's 2,000 characters, reads back as exactly the author's text (markdown
escaped, nothing dropped) and pings no one."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from bot.render import unescape_text
from tests.crash_harness import installment_posts
from tests.discord_double import DiscordDouble
from tests.discord_double.limits import MESSAGE_CONTENT_MAX, THREAD_NAME_MAX
from tests.frontend_harness import running_bot, stories_folder, write_story

LONG_WORD = "A" * 2001


def _hostile_paragraphs(double: DiscordDouble) -> list[str]:
    reader, role, channel = double.reader_id, double.admin_role_id, double.channels["general"]
    return [
        "@everyone and @here, the keeper has news for all of you.",
        f"He wrote <@{reader}> and <@!{reader}> and <@&{role}> and <#{channel}> on the wall.",
        "**bold** __underlined__ *slanted* _also slanted_ ~~struck~~ `code` "
        "[a link](https://example.invalid/x) <https://example.invalid/y>",
        # Lines that Discord would read as block markdown (sentences, so that the library keeps
        # them as paragraphs rather than taking them for chapter headings; a line starting "# "
        # is a heading to the library, and shown as one).
        "> Not a quote, only a line that starts with an angle.",
        "- Not a list item, only a line that starts with a dash.",
        "1. Not a numbered item, only a line that starts with a number.",
        "-# Not small print, only a line that starts with a dash and a hash.",
        "The answer is ||the keeper himself||, and \\|| a half-escaped bar.",
        "```python import os; os.system('rm -rf /') ``` and ` ``odd`` `",
        "zero\u200bwidth\u200c non\u200djoiner\u2060 and \u202eright to left\u202c "
        "שלום עולם and مرحبا بالعالم.",
        LONG_WORD,
        "The end of the night, at last.",
    ]


def _visible(text: str) -> str:
    return re.sub(r"\s+", "", text)


async def test_hostile_story_text_is_posted_literally_within_limits_and_pings_no_one(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    folder = stories_folder(tmp_path)
    paragraphs = _hostile_paragraphs(discord_double)
    write_story(
        folder,
        "hostile",
        paragraphs,
        title="@everyone The **Loud** Keeper ||spoiler||",
        words_per_part=40,
    )
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("hostile")
        serial = harness.library.get("hostile")
        assert serial is not None and len(serial.parts) > 1
        await harness.until_first_post()
        for _ in serial.parts:
            await harness.advance(timedelta(days=1))

        sub = await harness.bot.scheduler.subscription(harness.general)
        assert sub is not None and sub.completed
        posts = installment_posts(discord_double, harness.general)
        headers = {d.message_ids[0] for d in await harness.bot.store.deliveries(harness.general)}
        text_messages = [m.content for m in posts[:-1] if m.id not in headers]
        # The title is shown as written too, in every header.
        assert all(
            "@everyone The \\*\\*Loud\\*\\* Keeper \\|\\|spoiler\\|\\|" in m.content
            for m in posts
            if m.id in headers
        )

        for message in posts:
            assert 0 < len(message.content) <= MESSAGE_CONTENT_MAX
            assert not message.would_ping
            assert message.allowed_mentions is not None
            assert message.allowed_mentions.get("parse") == []
        for thread in discord_double.threads(harness.general):
            assert len(thread.name) <= THREAD_NAME_MAX

        # Read back, the messages are the author's text: every character, nothing added.
        read_back = "".join(unescape_text(m) for m in text_messages)
        assert _visible(read_back) == _visible("".join(paragraphs))
        joined = "\n".join(text_messages)
        for literal in ("\\*\\*bold\\*\\*", "\\|\\|the keeper himself\\|\\|", "\\`\\`\\`python"):
            assert literal in joined
        for line in ("\\> Not a quote", "\\- Not a list", "1\\. Not a", "\\-# Not small"):
            assert any(m.startswith(line) or f"\n{line}" in m for m in text_messages), line
        assert "\u202eright to left\u202c" in joined and "שלום עולם" in joined
        assert "zero\u200bwidth\u200c" in joined
        # The 2,001-character word is cut across messages, every piece within the limit.
        assert LONG_WORD not in joined
        assert _visible("".join(text_messages)).count("A" * 1000) >= 2
