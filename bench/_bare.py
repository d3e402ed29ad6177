"""A bare discord.py poster, the floor the bot's CPU per part is measured against: connected to
the gateway like the bot, it makes the same four requests per channel (the header, the text, a
thread on the header, the message opening the thread), spaced at the same rate with a plain
sleep, with no scheduler, database, rendering or pacer of its own. Runs in its own process and
prints one JSON line:

    python -m bench._bare --api URL --gateway URL --channels FILE --rate R [--concurrency C]

(token from DISCORD_TOKEN; FILE holds one channel id a line, then the header, the text and the
thread's opening message as JSON on the last line).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence

import discord

from tests.discord_double.launch import point_discord_py


async def _post(
    token: str,
    channels: list[int],
    texts: tuple[str, str, str],
    rate: float,
    concurrency: int,
) -> dict[str, float]:
    header, text, opener = texts
    intents = discord.Intents.none()
    intents.guilds = True
    client = discord.Client(intents=intents, allowed_mentions=discord.AllowedMentions.none())
    loop = asyncio.get_running_loop()
    interval = 1.0 / rate
    next_slot = 0.0

    async def turn() -> None:
        nonlocal next_slot
        now = loop.time()
        slot = max(next_slot, now)
        next_slot = slot + interval
        await asyncio.sleep(slot - now)

    queue: asyncio.Queue[int] = asyncio.Queue()
    for channel_id in channels:
        queue.put_nowait(channel_id)

    async def worker() -> None:
        while not queue.empty():
            channel = client.get_channel(queue.get_nowait())
            assert isinstance(channel, discord.TextChannel)
            await turn()
            opening = await channel.send(header)
            await turn()
            await channel.send(text)
            await turn()
            thread = await opening.create_thread(name="Part 1", auto_archive_duration=1440)
            await turn()
            await thread.send(opener)

    async with client:
        runner = asyncio.ensure_future(client.start(token))
        await client.wait_until_ready()
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        await client.close()
        await asyncio.gather(runner, return_exceptions=True)
    return {"parts": len(channels), "cpu_seconds": cpu, "wall_seconds": wall}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._bare")
    parser.add_argument("--api", required=True)
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--channels", required=True, help="file: ids, then [header, text, opener]")
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    options = parser.parse_args(argv)
    point_discord_py(options.api, options.gateway)
    lines = open(options.channels, encoding="utf-8").read().splitlines()  # noqa: SIM115
    header, text, opener = json.loads(lines[-1])
    channels = [int(line) for line in lines[:-1]]
    token = os.environ["DISCORD_TOKEN"]
    texts = (header, text, opener)
    result = asyncio.run(_post(token, channels, texts, options.rate, options.concurrency))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
