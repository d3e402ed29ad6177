"""SIGTERM while Discord hangs: the bot (a process of its own, on a fast clock) does not wait for
a hanging request past a service manager's patience. It exits with status 0 well within 15 s,
leaves the part it was posting pending, and the next start posts it: every part once, in order."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from bot.library import Library
from bot.render import render_end, render_part
from tests.crash_harness import (
    BotProcess,
    installment_posts,
    subscribe_as_admin,
    until,
    write_config,
)
from tests.discord_double import DiscordDouble
from tests.frontend_harness import lighthouse_paragraphs, write_story

log = logging.getLogger(__name__)

# "every 1h" of virtual time is half a second of real time.
SPEED = 7200.0
HANG_SECONDS = 20.0
EXIT_WITHIN_SECONDS = 15.0


async def test_sigterm_during_a_hanging_request_exits_in_time_and_loses_nothing(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    double = discord_double
    stories = tmp_path / "stories"
    stories.mkdir()
    write_story(stories, "lighthouse", lighthouse_paragraphs(), title="The Lighthouse")
    serial = Library.load(stories).get("lighthouse")
    assert serial is not None
    expected: list[str] = []
    for part in serial.parts:
        rendered = render_part(serial, part)
        expected += [rendered.header, *rendered.messages]
    expected.append(render_end(serial))

    config = write_config(tmp_path, double, schedule="every 1h")
    bot = BotProcess(double, config, tmp_path / "bot.log", SPEED)
    general = double.channels["general"]
    try:
        identified = double.gateway.identifies
        await bot.start()
        await double.wait_until_connected(30, identified_after=identified)
        await subscribe_as_admin(double, general, "lighthouse", "every 1h")
        await until(lambda: len(double.threads(general)) == 1, timeout=30)

        double.pause_api(HANG_SECONDS)
        posting = len(double.requests)
        # the next part's first request is now hanging
        await until(lambda: bot.running and _arrived_since(double, posting, general), timeout=10)
        asked = time.monotonic()
        code = await bot.terminate(timeout=HANG_SECONDS + 10)
        took = time.monotonic() - asked

        assert code == 0
        assert took < EXIT_WITHIN_SECONDS, f"took {took:.1f} s to exit"
        assert "left pending" in bot.output()

        identified = double.gateway.identifies
        await bot.start()
        await until(
            lambda: [m.content for m in installment_posts(double, general)][-1:] == expected[-1:],
            timeout=HANG_SECONDS + 30,
        )
        await double.wait_until_connected(30, identified_after=identified)
        assert await bot.terminate() == 0
    except BaseException:
        bot.kill_now()
        log.error("bot output:\n%s", bot.output()[-20_000:])
        raise

    assert [m.content for m in installment_posts(double, general)] == expected
    assert len(double.threads(general)) == len(serial.parts)
    assert double.duplicate_messages() == []


def _arrived_since(double: DiscordDouble, count: int, channel_id: int) -> bool:
    """Whether a part's post to the channel reached the double after the first ``count``
    requests (the double records a request when it arrives, before a pause makes it wait).
    Messages in a part's thread (its opening message) do not count."""
    path = f"/channels/{channel_id}/messages"
    return any(r.method == "POST" and r.path == path for r in double.requests[count:])
