"""Discord sharding on the wire: the double splits guilds by ``(guild_id >> 22) % shard_count`` as
Discord does, recommends a shard count, and refuses an unsharded session over 2,500 guilds with
4011; the bot runs as an ``AutoShardedClient`` and a process schedules and posts only for the
servers on its own shards, while commands are answered by whichever shard receives them."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import discord
import pytest

from bot.clock import ManualClock
from bot.config import CommandSettings, ShardSettings
from bot.frontend.client import SerialBot
from bot.library import Library
from bot.shards import ShardSet, shard_of
from bot.store import Store
from tests.discord_double import FAST_GUILD_READY_TIMEOUT, DiscordDouble, connected_client
from tests.discord_double.limits import SHARD_GUILDS_MAX, CloseCode, GatewayOp
from tests.frontend_harness import (
    START,
    config_for,
    lighthouse_paragraphs,
    stories_folder,
    write_story,
)


def _guild_intents() -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True
    return intents


async def _identify(double: DiscordDouble, shard: list[int] | None) -> tuple[int | None, dict]:
    """IDENTIFY on a raw socket: (close code, READY payload)."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(str(double.gateway_url)) as ws,
    ):
        hello = await ws.receive_json()
        assert hello["op"] == GatewayOp.hello
        data = {"token": double.token, "intents": 1, "properties": {}}
        if shard is not None:
            data["shard"] = shard
        await ws.send_json({"op": GatewayOp.identify, "d": data})
        message = await ws.receive(timeout=10)
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            return ws.close_code or message.data, {}
        payload = json.loads(message.data)
        assert payload["t"] == "READY"
        return None, payload["d"]


# --- the double ------------------------------------------------------------------------------


@pytest.mark.discord_double(default_world=False)
async def test_the_double_shards_guilds_as_discord_does(discord_double: DiscordDouble) -> None:
    guilds = [await discord_double.add_guild(f"g{i}") for i in range(9)]
    # Guilds made at different times fall on different shards.
    assert {shard_of(g, 3) for g in guilds} == {0, 1, 2}
    seen: set[int] = set()
    for shard_id in range(3):
        code, ready = await _identify(discord_double, [shard_id, 3])
        assert code is None and ready["shard"] == [shard_id, 3]
        ids = {int(g["id"]) for g in ready["guilds"]}
        assert ids == {g for g in guilds if shard_of(g, 3) == shard_id}
        seen |= ids
    assert seen == set(guilds)
    code, _ = await _identify(discord_double, [3, 3])
    assert code == CloseCode.invalid_shard


@pytest.mark.discord_double(default_world=False)
async def test_unsharded_over_2500_guilds_is_refused_with_4011(
    discord_double: DiscordDouble,
) -> None:
    for i in range(SHARD_GUILDS_MAX + 1):
        discord_double.world.add_guild(f"g{i}").bot_present = True
    headers = {"Authorization": f"Bot {discord_double.token}"}
    url = f"{discord_double.api_base}/gateway/bot"
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        assert (await response.json())["shards"] == 3  # one per 1,000 guilds
    code, _ = await _identify(discord_double, None)
    assert code == CloseCode.sharding_required
    code, ready = await _identify(discord_double, [1, 2])
    assert code is None and len(ready["guilds"]) <= SHARD_GUILDS_MAX
    # discord.py raises it from connect() rather than reconnecting forever.
    client = discord.Client(intents=_guild_intents())
    with pytest.raises(discord.ConnectionClosed) as raised:
        async with connected_client(discord_double, client):
            pass
    assert raised.value.code == CloseCode.sharding_required


async def test_a_sharded_client_receives_only_its_shards_guilds(
    discord_double: DiscordDouble,
) -> None:
    for i in range(5):
        await discord_double.add_guild(f"g{i}")
    every = set(discord_double.world.guilds)
    received: list[set[int]] = []
    for shard_id in (0, 1):
        client = discord.AutoShardedClient(
            intents=_guild_intents(),
            shard_count=2,
            shard_ids=[shard_id],
            guild_ready_timeout=FAST_GUILD_READY_TIMEOUT,
        )
        async with connected_client(discord_double, client):
            ids = {g.id for g in client.guilds}
        assert ids and all(shard_of(g, 2) == shard_id for g in ids)
        received.append(ids)
    assert received[0] | received[1] == every


# --- the bot ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _shard_bot(
    double: DiscordDouble, tmp_path: Path, shards: ShardSettings, clock: ManualClock
) -> AsyncIterator[SerialBot]:
    # Commands registered globally, so every guild offers them.
    config = config_for(double, tmp_path, shards=shards, commands=CommandSettings())
    library = Library.load(config.stories, words_per_part=config.words_per_part)
    store = await Store.open(config.database)
    try:
        bot = SerialBot(
            config=config,
            store=store,
            library=library,
            clock=clock,
            sync_state=None,
            guild_ready_timeout=FAST_GUILD_READY_TIMEOUT,
        )

        async def at_once(shard_id: int | None, *, initial: bool = False) -> None:
            """discord.py waits 5 s between IDENTIFYs, which only slows the test."""

        bot.before_identify_hook = at_once  # type: ignore[method-assign]
        async with connected_client(double, bot) as connected:
            yield connected
    finally:
        await store.close()


async def test_each_process_posts_only_for_its_shards(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    write_story(stories_folder(tmp_path), "lighthouse", lighthouse_paragraphs(), title="Light")
    guilds = [discord_double.guild_id] + [
        await discord_double.add_guild(f"g{i}", channels=("serial",)) for i in range(5)
    ]
    # the first channel of each guild ("general", "serial")
    channels = {g: discord_double.world.guild(g).channel_ids[0] for g in guilds}
    clocks = [ManualClock(START), ManualClock(START)]
    async with (
        _shard_bot(discord_double, tmp_path, ShardSettings(2, (0,)), clocks[0]) as first,
        _shard_bot(discord_double, tmp_path, ShardSettings(2, (1,)), clocks[1]) as second,
    ):
        bots = (first, second)
        assert first.shard_set == ShardSet.of(2, [0]) and second.shard_set == ShardSet.of(2, [1])
        for guild_id, channel_id in channels.items():
            admin = (
                discord_double.admin_id
                if guild_id == discord_double.guild_id
                else discord_double.world.guild(guild_id).owner_id
            )
            # Whichever process runs the guild's shard gets the command and answers it.
            record = await discord_double.invoke(
                "serial subscribe",
                {"story": "lighthouse", "schedule": "daily 18:00"},
                channel_id=channel_id,
                user_id=admin,
            )
            await record.reply(10)
            assert await first.store.subscription(channel_id) is not None

        # Only the first process's clock reaches 18:00: only its shard's channels get part 1.
        clocks[0].advance(timedelta(hours=6, minutes=1))
        await first.scheduler.idle()
        await second.scheduler.idle()
        for guild_id, channel_id in channels.items():
            posts = [m for m in discord_double.bot_messages(channel_id) if m.interaction is None]
            assert bool(posts) == (shard_of(guild_id, 2) == 0), guild_id

        clocks[1].advance(timedelta(hours=6, minutes=1))
        await second.scheduler.idle()
        for channel_id in channels.values():
            posted = [d for d in await first.store.deliveries(channel_id) if d.state == "posted"]
            assert len(posted) == 1
            assert len(discord_double.threads(channel_id)) == 1

        # /serial status names the shard that answered.
        guild_id = guilds[1]
        status = await discord_double.invoke(
            "serial status",
            channel_id=channels[guild_id],
            user_id=discord_double.world.guild(guild_id).owner_id,
        )
        assert f"Shard: {shard_of(guild_id, 2)} of 2" in await status.text(10)
        assert all(b.shard_count == 2 for b in bots)


async def test_without_a_shard_count_the_bot_takes_discords_recommendation(
    discord_double: DiscordDouble, tmp_path: Path
) -> None:
    discord_double.recommended_shards = 3
    stories_folder(tmp_path)
    async with _shard_bot(discord_double, tmp_path, ShardSettings(), ManualClock(START)) as bot:
        assert bot.shard_count == 3
        assert bot.shard_set == ShardSet.of(3)
        assert bot.get_guild(discord_double.guild_id) is not None
    assert discord_double.requests_to("GET", r"^/gateway/bot$")
