"""Fetching an attachment's bytes from Discord's CDN: the declared size is checked before a byte is
fetched, the bytes are counted while they arrive (a size that lied is caught at the cap), and the
whole download has a time limit."""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from bot.uploads import UploadError, mb

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024
AGAIN = "Upload the file again in a moment."


async def download(url: str, *, declared: int, limit: int, seconds: float) -> bytes:
    """The file's bytes; ``UploadError`` saying what went wrong otherwise."""
    if declared > limit:
        raise UploadError(f"The file is {mb(declared)}; a story may be at most {mb(limit)}.")
    try:
        async with (
            asyncio.timeout(seconds),
            aiohttp.ClientSession() as session,
            session.get(url) as response,
        ):
            if response.status != 200:
                log.info("attachment download answered HTTP %s", response.status)
                raise UploadError(
                    f"Discord did not hand over the file (HTTP {response.status}). {AGAIN}"
                )
            chunks: list[bytes] = []
            total = 0
            async for chunk in response.content.iter_chunked(_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise UploadError(
                        f"The file is larger than it said and over the {mb(limit)} limit."
                    )
                chunks.append(chunk)
    except TimeoutError:
        raise UploadError(
            f"Downloading the file took longer than {seconds:.0f} seconds. {AGAIN}"
        ) from None
    except aiohttp.ClientError as error:
        log.info("attachment download failed: %s", error)
        raise UploadError(f"The file could not be downloaded from Discord. {AGAIN}") from None
    data = b"".join(chunks)
    if len(data) != declared:
        raise UploadError(
            f"The file arrived with {len(data):,} bytes instead of {declared:,}. {AGAIN}"
        )
    return data
