"""A throwaway PostgreSQL server for the tests: ``initdb`` in a temporary folder, started with
``pg_ctl`` on 127.0.0.1 at a free port, no durability (it is thrown away), stopped at the end.

It uses the server binaries installed on the machine (Debian's ``postgresql`` package puts them in
``/usr/lib/postgresql/<version>/bin``; ``SERIALBOT_TEST_PG_BIN`` names another folder). PostgreSQL
refuses to run as root, so when the tests run as root (as CI does) the server runs as the
``postgres`` user (or ``nobody``) through ``runuser``, in a folder that user owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.storage import SerialStore

ENV_BIN = "SERIALBOT_TEST_PG_BIN"
USER = "serialbot"
HOW_TO_GET_ONE = (
    "PostgreSQL server binaries not found: install them (Debian/Ubuntu: apt-get install "
    f"postgresql) or set {ENV_BIN} to the folder holding initdb and pg_ctl"
)


# url -> data folder of each server running now (benchmarks read its processes' CPU time)
DATA_FOLDERS: dict[str, Path] = {}


class ServerUnavailable(Exception):
    """No PostgreSQL server could be started here; the message says why."""


def find_binaries() -> Path:
    candidates: list[str] = []
    if os.environ.get(ENV_BIN):
        candidates.append(os.environ[ENV_BIN])
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates += versions
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for folder in candidates:
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    raise ServerUnavailable(HOW_TO_GET_ONE)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as() -> tuple[list[str], int | None]:
    """The command prefix that runs the server's programs as a user PostgreSQL accepts, and
    that user's uid (None: the current user)."""
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        try:
            uid = pwd.getpwnam(name).pw_uid
        except KeyError:
            continue
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        return [runuser, "-u", name, "--"], uid
    raise ServerUnavailable("running as root and neither a postgres nor a nobody user exists")


@contextlib.contextmanager
def throwaway_server() -> Iterator[str]:
    """Start a server; yields the URL of its (empty) ``postgres`` database as the superuser
    ``serialbot``, without a password (trust on loopback only)."""
    binaries = find_binaries()
    prefix, uid = _run_as()
    folder = Path(tempfile.mkdtemp(prefix="serialbot-pg-"))
    data = folder / "data"
    try:
        if uid is not None:
            os.chown(folder, uid, -1)
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}

        def run(*args: str) -> None:
            done = subprocess.run(
                [*prefix, *args], env=env, capture_output=True, text=True, timeout=120
            )
            if done.returncode != 0:
                raise ServerUnavailable(
                    f"{Path(args[0]).name} failed ({done.returncode}): "
                    f"{(done.stderr or done.stdout).strip()[-800:]}"
                )

        run(
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )
        port = _free_port()
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        run(
            str(binaries / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(folder / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        url = f"postgresql://{USER}@127.0.0.1:{port}/postgres"
        DATA_FOLDERS[url] = data
        try:
            yield url
        finally:
            DATA_FOLDERS.pop(url, None)
            with contextlib.suppress(ServerUnavailable, subprocess.TimeoutExpired):
                run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_schemas = itertools.count(1)


def fresh_schema(server_url: str) -> str:
    """Create an empty schema on the server; returns a URL whose connections use it (asyncpg
    passes unknown URL parameters on as server settings). Much quicker than a database each."""
    import asyncpg

    name = f"t{os.getpid()}_{next(_schemas)}"

    async def create() -> None:
        db = await asyncpg.connect(server_url)
        try:
            await db.execute(f"CREATE SCHEMA {name}")
        finally:
            await db.close()

    # Its own loop on its own thread: callers may be inside a running loop.
    with contextlib.closing(asyncio.new_event_loop()) as loop:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            pool.submit(loop.run_until_complete, create()).result()
    return f"{server_url}?search_path={name}"


async def open_test_store(location: Path | str) -> SerialStore:
    """A SQLite store for a path, a PostgreSQL store for a postgresql:// URL."""
    url = location if isinstance(location, str) else ""
    if url.startswith("postgresql://"):
        from bot.pgstore import PostgresStore

        return await PostgresStore.open(url)
    from bot.store import Store

    return await Store.open(location)
