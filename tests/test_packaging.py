"""The built wheel, installed in a fresh virtual environment, works from an empty folder: it
carries its configuration and story, and `init` gives the operator a folder to start from.

The wheel is built and installed offline: setuptools comes from the test environment, and the
new environment borrows the test environment's dependencies rather than downloading them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import aiosqlite
import discord
import platformdirs
import prometheus_client
import pytest
import tzdata
import yaml

from bot import __version__

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120
DEPENDENCIES: Sequence[ModuleType] = (
    aiosqlite,
    discord,
    platformdirs,
    prometheus_client,
    tzdata,
    yaml,
)


@dataclass(frozen=True)
class Installed:
    bin: Path
    home: Path

    def run(self, *args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PYTHON", "SERIALBOT_", "XDG_", "VIRTUAL_ENV"))
        }
        env |= {
            "HOME": str(self.home),
            "XDG_DATA_HOME": str(self.home / "data"),
            "PYTHONIOENCODING": "utf-8",
            "NO_COLOR": "1",
        }
        run = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=TIMEOUT,
        )
        if check:
            assert run.returncode == 0, run.stdout + run.stderr
        return run


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("package")
    # Built from a copy of the sources, so nothing left over in a build/ folder slips in.
    source = work / "source"
    source.mkdir()
    shutil.copytree(
        ROOT / "bot", source / "bot", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(work), source],
        check=True,
        timeout=TIMEOUT,
        capture_output=True,
    )
    (wheel,) = work.glob("serialbot-*.whl")

    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        check=True,
        timeout=TIMEOUT,
        capture_output=True,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Only the folders holding the dependencies, added after the environment's own
    # site-packages: the serialbot found first is the wheel's, never the source tree's.
    borrowed = sorted({str(Path(m.__file__).resolve().parent.parent) for m in DEPENDENCIES})
    Path(site, "borrowed-dependencies.pth").write_text("\n".join(borrowed) + "\n")
    home = work / "home"
    home.mkdir()
    return Installed(env_dir / "bin", home)


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def test_the_installed_package_is_the_wheel_not_the_source_tree(
    installed: Installed, empty: Path
) -> None:
    where = installed.run("python", "-c", "import bot; print(bot.__file__)", cwd=empty).stdout
    assert Path(where.strip()).is_relative_to(installed.bin.parent)
    assert installed.run("serialbot", "--version", cwd=empty).stdout.strip() == (
        f"serialbot {__version__}"
    )


def test_demo_runs_the_bundled_story_from_an_empty_folder(
    installed: Installed, empty: Path
) -> None:
    run = installed.run("serialbot", "demo", "--speed", "1e7", cwd=empty)
    assert "You Left" in run.stdout
    assert "The End" in run.stdout
    assert list(empty.iterdir()) == []


def test_check_from_an_empty_folder_checks_the_defaults(installed: Installed, empty: Path) -> None:
    run = installed.run("serialbot", "check", cwd=empty)
    assert "Configuration: no file, defaults · ok" in run.stdout
    assert str(installed.home / "data" / "serialbot" / "serialbot.sqlite3") in run.stdout
    assert "you-left" in run.stdout
    assert "All is well." in run.stdout


def test_init_writes_a_folder_that_check_and_demo_then_use(
    installed: Installed, empty: Path
) -> None:
    run = installed.run("serialbot", "init", "bot-home", cwd=empty)
    home = empty / "bot-home"
    assert "serialbot check" in run.stdout
    assert "serialbot run" in run.stdout
    assert sorted(p.name for p in (home / "stories").iterdir()) == [
        "you-left.txt",
        "you-left.yaml",
    ]
    config = (home / "serialbot.yaml").read_text(encoding="utf-8")
    assert config.startswith("# Serialbot configuration.")

    # A story of the operator's own, added to the folder init made.
    (home / "stories" / "lighthouse.txt").write_text(
        "The Lighthouse\n\n" + "The keeper climbed the stairs and counted every step. " * 30,
        encoding="utf-8",
    )
    checked = installed.run("serialbot", "check", cwd=home)
    assert "Configuration: serialbot.yaml · ok" in checked.stdout
    assert "Stories: stories · 2 stories" in checked.stdout
    assert "lighthouse" in checked.stdout
    assert "All is well." in checked.stdout
    demo = installed.run("serialbot", "demo", "--story", "lighthouse", "--speed", "1e7", cwd=home)
    assert "The Lighthouse" in demo.stdout
    assert "The End" in demo.stdout

    again = installed.run("serialbot", "init", "bot-home", cwd=empty, check=False)
    assert again.returncode == 1
    assert "already exists; nothing was changed" in again.stderr
    assert (home / "serialbot.yaml").read_text(encoding="utf-8") == config
