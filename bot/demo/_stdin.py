"""The lines typed while the demo runs, read without blocking the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from typing import TextIO


class StdinLines:
    """Lines typed on stdin, delivered to the event loop without blocking it. A pipe or terminal
    is watched by the loop itself; anything else (a regular file, a loop without ``add_reader``)
    is read by a daemon thread, which never holds up the exit. ``None`` marks the end."""

    def __init__(self, loop: asyncio.AbstractEventLoop, stream: TextIO) -> None:
        self._loop = loop
        self._stream = stream
        self.lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._buffer = b""
        self._fd: int | None = None

    def start(self) -> None:
        try:
            fd = self._stream.fileno()
        except (AttributeError, OSError, ValueError):
            self.lines.put_nowait(None)
            return
        try:
            self._loop.add_reader(fd, self._readable, fd)
        except (OSError, NotImplementedError, ValueError):
            threading.Thread(target=self._read_blocking, name="demo-stdin", daemon=True).start()
            return
        self._fd = fd

    def close(self) -> None:
        if self._fd is not None:
            self._loop.remove_reader(self._fd)
            self._fd = None

    def _readable(self, fd: int) -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.close()
            if self._buffer:
                self.lines.put_nowait(self._buffer.decode("utf-8", "replace"))
            self.lines.put_nowait(None)
            return
        *complete, self._buffer = (self._buffer + data).split(b"\n")
        for line in complete:
            self.lines.put_nowait(line.decode("utf-8", "replace"))

    def _read_blocking(self) -> None:
        try:
            for line in self._stream:
                self._loop.call_soon_threadsafe(self.lines.put_nowait, line.rstrip("\r\n"))
        except (OSError, ValueError, RuntimeError):
            pass
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is listening
            self._loop.call_soon_threadsafe(self.lines.put_nowait, None)
