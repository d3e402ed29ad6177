"""A bare discord.py poster, the floor the bot's CPU per part is measured against: connected to
the gateway like the bot, it makes the same requests per channel as the bot does for a part (the
header, the text, a thread on the header, the message opening the thread, and from the second
part on the hand-off in the previous part's thread), spaced at the same rate with a plain sleep,
with no scheduler, database, rendering or pacer of its own. Runs in its own process:

    python -m bench._bare --api URL --gateway URL --channels FILE --rate R [--concurrency C]

(token from DISCORD_TOKEN; FILE holds a line per channel, its id and, for a second part, the id
of the previous part's thread; then the texts as JSON on the last line: ``header``, ``text``,
``opener`` and, for a second part, ``hand_off`` with ``{link}`` and ``opener`` with
``{previous}`` to fill in).

It prints ``{"ready": true}`` once connected and waits for a line on its standard input before
it posts, so that whoever measures it reads its CPU at the same moments as the bot's: then it
posts, prints one JSON line (``parts``, and ``threads``: each channel's new thread) and waits
for another line before it disconnects.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import discord

from tests.discord_double.launch import point_discord_py


async def _post(
    token: str,
    channels: list[tuple[int, int | None]],
    texts: dict[str, str],
    rate: float,
    concurrency: int,
) -> dict[str, Any]:
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

    queue: asyncio.Queue[tuple[int, int | None]] = asyncio.Queue()
    for entry in channels:
        queue.put_nowait(entry)
    threads: dict[str, int] = {}

    async def worker() -> None:
        while not queue.empty():
            channel_id, previous = queue.get_nowait()
            channel = client.get_channel(channel_id)
            assert isinstance(channel, discord.TextChannel)
            await turn()
            opening = await channel.send(texts["header"])
            await turn()
            await channel.send(texts["text"])
            await turn()
            thread = await opening.create_thread(name="Part", auto_archive_duration=1440)
            threads[str(channel_id)] = thread.id
            opener = texts["opener"]
            if previous is not None:
                opener = opener.replace("{previous}", f"<#{previous}>")
            await turn()
            await thread.send(opener)
            if previous is not None:
                link = opening.jump_url
                await turn()
                await client.get_partial_messageable(previous).send(
                    texts["hand_off"].replace("{link}", link)
                )

    async with client:
        runner = asyncio.ensure_future(client.start(token))
        await client.wait_until_ready()
        print(json.dumps({"ready": True}), flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        print(json.dumps({"parts": len(channels), "threads": threads}), flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)
        await client.close()
        await asyncio.gather(runner, return_exceptions=True)
    return {"parts": len(channels)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._bare")
    parser.add_argument("--api", required=True)
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--channels", required=True, help="file: ids, then the texts as JSON")
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    options = parser.parse_args(argv)
    point_discord_py(options.api, options.gateway)
    lines = open(options.channels, encoding="utf-8").read().splitlines()  # noqa: SIM115
    texts = json.loads(lines[-1])
    channels: list[tuple[int, int | None]] = []
    for line in lines[:-1]:
        ids = [int(word) for word in line.split()]
        channels.append((ids[0], ids[1] if len(ids) > 1 else None))
    token = os.environ["DISCORD_TOKEN"]
    asyncio.run(_post(token, channels, texts, options.rate, options.concurrency))
    return 0


if __name__ == "__main__":
    sys.exit(main())
