"""PostgreSQL out of reach while the bot runs: nothing is posted that could not be recorded,
nothing is lost, posting picks up by itself once the server is back, and a member asking for
``/serial status`` meanwhile is told what is going on. The outage is a TCP proxy in front of the
real test server, cut and restored."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bot.clock import ManualClock
from bot.pgstore import PostgresStore
from bot.scheduler import Scheduler, SchedulerSettings
from bot.storage import StoreUnavailable
from tests.discord_double import DiscordDouble
from tests.frontend_harness import lighthouse_paragraphs, running_bot, stories_folder, write_story
from tests.recording_poster import RecordingPoster
from tests.test_scheduler import START, FakeLibrary, make_serial


class Outage:
    """A TCP proxy to the server that can be cut (every connection dropped, new ones refused)
    and restored."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 5432
        self._target = parts
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        netloc = self._target.netloc.rsplit(":", 1)[0] + f":{self.port}"
        return urlunsplit(self._target._replace(netloc=netloc))

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._link, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._links):
            writer.close()
        await self._server.wait_closed()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
        self._links |= {writer, up_writer}

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self._links -= {writer, up_writer}


@contextlib.asynccontextmanager
async def outage_for(url: str) -> AsyncIterator[Outage]:
    proxy = Outage(url)
    await proxy.restore()
    try:
        yield proxy
    finally:
        with contextlib.suppress(Exception):
            await proxy.cut()


async def test_nothing_is_posted_or_lost_while_the_database_is_away(postgres_url: str) -> None:
    clock = ManualClock(START)
    async with outage_for(postgres_url) as proxy:
        store = await PostgresStore.open(proxy.url)
        poster = RecordingPoster(clock)
        settings = SchedulerSettings(poll_seconds=0.05, claim_seconds=5)
        scheduler = Scheduler(store, FakeLibrary(make_serial(parts=3)), poster, clock, settings)
        try:
            await scheduler.subscribe(
                guild_id=1, channel_id=1, slug="tale", schedule="every 1h", subscribed_by=7
            )
            await scheduler.start()
            await proxy.cut()
            clock.advance(timedelta(hours=1))
            scheduler.wake()
            await asyncio.sleep(0.5)
            assert poster.of("part") == []
            assert store.write_problem is not None
            assert scheduler.running  # it waits and tries again; it does not die
            await proxy.restore()
            # Whatever failed is tried again after its backoff, in the scheduler's time.
            for _ in range(100):
                if poster.of("part"):
                    break
                clock.advance(timedelta(minutes=5))
                scheduler.wake()
                await asyncio.sleep(0.05)
            assert poster.parts(1) == [1]
            assert store.write_problem is None
            assert (await store.delivery(1, 1)).state == "posted"
        finally:
            await scheduler.stop()
            await store.close()


async def test_status_says_the_database_is_out_of_reach(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="Light")
    async with running_bot(discord_double, tmp_path) as harness:
        await harness.subscribe("lighthouse")

        async def unreachable(*args: object, **kwargs: object) -> None:
            raise StoreUnavailable("the database server cannot be reached (test)")

        harness.store.subscription = unreachable  # type: ignore[method-assign]
        answer = await harness.invoke("serial status")
        text = await answer.text(10)
        assert answer.ephemeral
        assert "cannot reach its database" in text and "Nothing is lost" in text
