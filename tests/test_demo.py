"""``serialbot demo`` as a user runs it: a real process on the bundled story, driven through its
stdin, with a throwaway or a kept database."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import load_config
from bot.defaults import stories_folder
from bot.demo import Console
from bot.library import Library

ROOT = Path(__file__).resolve().parent.parent
SEEDS = stories_folder()
# A day of demo time passes in about a hundredth of a second.
FAST = "1e7"
# Demo time runs a thousand times slower than real time: nothing scheduled happens in a test.
FROZEN = "0.001"
TIMEOUT = 60
HEADER = re.compile(r"^Part (\d+) of (\d+) · about", re.MULTILINE)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A configuration of our own, so the shipped file's values do not change the tests."""
    path = tmp_path / "serialbot.yaml"
    path.write_text(
        f"stories: {SEEDS}\n"
        "schedule:\n  default: daily 18:00\n  timezone: UTC\n"
        "next:\n  cooldown_minutes: 30\n  quorum: 1\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def parts(config: Path) -> int:
    settings = load_config(config)
    library = Library.load(
        settings.stories, words_per_part=settings.words_per_part, tolerance=settings.tolerance
    )
    serial = library.get("you-left")
    assert serial is not None
    assert len(serial.parts) > 1, "the demo tests need a story of several parts"
    return len(serial.parts)


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    env.pop("NO_COLOR", None)
    return env


def demo(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "demo", *args],
        cwd=ROOT,
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT,
        env=_env(),
    )


def headers(output: str) -> list[tuple[int, int]]:
    return [(int(m.group(1)), int(m.group(2))) for m in HEADER.finditer(output)]


def test_demo_posts_every_part_once_in_order_then_the_end(config: Path, parts: int) -> None:
    run = demo("--config", str(config), "--speed", FAST)

    assert run.returncode == 0, run.stderr
    assert headers(run.stdout) == [(n, parts) for n in range(1, parts + 1)]
    last_part = run.stdout.index(f"Part {parts} of {parts} · about")
    assert run.stdout.index("The End", last_part) > last_part
    assert run.stdout.count("The End\n") == 1  # the closing message, posted once


def test_demo_shows_messages_thread_names_and_content_notes(config: Path) -> None:
    run = demo("--config", str(config), "--speed", FAST)

    out = run.stdout
    assert "🧵 thread: You Left · Part 1" in out
    assert re.search(r"message 1/\d+ · [\d,]+ chars", out)
    # The content notes come with part 1, before its text.
    notes = out.index("Content notes: self-hatred", out.index("#serial-demo · Part 1 of"))
    assert notes < out.index("Derek stood in front of the pack")
    # Plain text when not on a terminal: no escape codes, no markdown markers.
    assert "\033[" not in out
    assert "**" not in out


def test_next_and_status_typed_on_stdin_post_and_report(config: Path, parts: int) -> None:
    run = demo(
        "--config",
        str(config),
        "--speed",
        FROZEN,
        stdin="status\nnext\nstatus\nnext\nread 1\nread 2\ndance\nquit\n",
    )

    out = run.stdout
    assert run.returncode == 0, run.stderr
    # Nothing is due for hours of demo time: only the request posts part 1.
    assert headers(out)[0] == (1, parts)
    before, _, after = out.partition("You asked for the next part: Part 1 is up.")
    assert f"0/{parts} Part 0 of {parts}" in before
    assert f"1/{parts} Part 1 of {parts}" in after
    # The second request falls within the cooldown and says how long is left.
    assert "Try again in 30 min" in after
    assert "only you can see this · Part 1 again" in after
    assert "Part 2 has not been posted here yet" in after
    assert "Unknown command “dance”" in after
    # Re-reading shows part 1 again; part 2 never came.
    assert headers(out) == [(1, parts), (1, parts)]


def test_pause_holds_requests_until_resume(config: Path, parts: int) -> None:
    run = demo(
        "--config", str(config), "--speed", FROZEN, stdin="pause\nnext\nresume\nnext\nquit\n"
    )

    assert run.returncode == 0, run.stderr
    assert "is paused" in run.stdout
    assert "Resumed." in run.stdout
    assert headers(run.stdout) == [(1, parts)]


def test_a_vote_and_read_counts_show_in_the_terminal(config: Path, parts: int) -> None:
    run = demo(
        "--config",
        str(config),
        "--speed",
        FROZEN,
        "--quorum",
        "3",
        stdin="next\nmetoo\nmetoo\nmetoo\nmark\nmark 1\nstatus\nquit\n",
    )

    assert run.returncode == 0, run.stderr
    assert "1 of 3 readers has asked" in run.stdout
    assert "wants Part 1 now · 1 of 3 · ⏭ Me too" in run.stdout
    assert "wants Part 1 now · 2 of 3 · ⏭ Me too" in run.stdout
    assert "Part 1 is out: 3 readers asked for it" in run.stdout
    assert headers(run.stdout) == [(1, parts)]  # one part, however many pressed
    assert "No vote is open" in run.stdout  # the fourth press came after the part
    assert "Marked read: Part 1 (1 reader so far)." in run.stdout
    assert "You had already marked Part 1 read." in run.stdout
    assert "Read so far: 1 read Part 1" in run.stdout


def test_kept_database_lets_a_second_run_continue(config: Path, parts: int, tmp_path: Path) -> None:
    db = tmp_path / "progress.sqlite3"

    first = demo("--config", str(config), "--speed", FROZEN, "--db", str(db), stdin="next\nquit\n")
    second = demo("--config", str(config), "--speed", FAST, "--db", str(db))
    third = demo("--config", str(config), "--speed", FAST, "--db", str(db))

    assert first.returncode == 0, first.stderr
    assert headers(first.stdout) == [(1, parts)]
    assert second.returncode == 0, second.stderr
    assert "Continuing: ▰" in second.stdout
    assert headers(second.stdout) == [(n, parts) for n in range(2, parts + 1)]
    assert "The End" in second.stdout
    assert third.returncode == 0, third.stderr
    assert headers(third.stdout) == []
    assert "is finished" in third.stdout


def test_ctrl_c_stops_cleanly_with_status_130(config: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--config", str(config), "--speed", FROZEN],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=_env(),
    )
    try:
        assert process.stdout is not None
        # The introduction is printed once the scheduler runs and the signal handlers are in.
        for line in process.stdout:
            if line.startswith("Type help"):
                break
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 130, err
    assert "Stopping (SIGINT)" in out
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--story", "no-such-story"], "no story 'no-such-story'"),
        (["--story", "missing/story.txt"], "no story file missing/story.txt"),
        (["--schedule", "sometimes"], "bad schedule"),
        (["--speed", "0"], "--speed must be"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_status_2(
    config: Path, args: list[str], says: str
) -> None:
    run = demo("--config", str(config), *args)

    assert run.returncode == 2
    assert says in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert run.stdout == ""


def test_broken_configuration_is_named_and_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("stories: seeds\nwords_per_prat: 300\n", encoding="utf-8")

    run = demo("--config", str(bad))

    assert run.returncode == 2
    assert f"{bad}: words_per_prat: unknown key" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_a_story_file_path_can_be_given(tmp_path: Path) -> None:
    story = tmp_path / "little-tale.txt"
    story.write_text("The Little Tale\n\nOnce there was a tale.\n\nIt ended.\n", encoding="utf-8")

    run = demo("--story", str(story), "--speed", FAST)

    assert run.returncode == 0, run.stderr
    assert "“The Little Tale”" in run.stdout
    assert headers(run.stdout) == [(1, 1)]
    assert "The End" in run.stdout


def test_console_shows_discord_markdown_as_read() -> None:
    plain = Console(io.StringIO(), colour=False)
    styled = Console(io.StringIO(), colour=True)

    assert plain.discord("**The End**\n*You Left* · \\*stars\\* \\# no heading") == (
        "The End\nYou Left · *stars* # no heading"
    )
    assert styled.discord("**Bold**") == "\033[1mBold\033[22m"
