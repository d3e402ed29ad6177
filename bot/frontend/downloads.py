"""Fetching an attachment's bytes from Discord's CDN: the link must lead to one of the allowed
origins (``bot.origins``: Discord's attachment hosts over https, and what the operator added),
and so must every redirect, each checked before it is followed; the declared size is checked
before a byte is fetched, the bytes are counted while they arrive (a size that lied is caught at
the cap), and the whole download has a time limit."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import yarl

from bot.frontend import library_answers as say
from bot.origins import FileSources, origin_of
from bot.uploads import UploadError

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024
# Discord's CDN answers a signed link itself; a few hops leave room for a proxy in front of it.
MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


async def download(
    url: str, *, declared: int, limit: int, seconds: float, sources: FileSources
) -> bytes:
    """The file's bytes; ``UploadError`` saying what went wrong otherwise."""
    if declared > limit:
        raise UploadError(say.over_limit(declared, limit))
    if not sources.allows(url):
        log.warning("attachment link refused, not from an allowed origin: %s", origin_of(url))
        raise UploadError(say.NOT_FROM_DISCORD)
    try:
        async with asyncio.timeout(seconds), aiohttp.ClientSession() as session:
            data = await _fetch(session, yarl.URL(url, encoded=True), limit, sources)
    except TimeoutError:
        raise UploadError(say.too_slow(seconds)) from None
    except aiohttp.ClientError as error:
        log.info("attachment download failed: %s", error)
        raise UploadError(say.DOWNLOAD_FAILED) from None
    if len(data) != declared:
        raise UploadError(say.size_differs(len(data), declared))
    return data


async def _fetch(
    session: aiohttp.ClientSession, url: yarl.URL, limit: int, sources: FileSources
) -> bytes:
    for _ in range(MAX_REDIRECTS + 1):
        async with session.get(url, allow_redirects=False) as response:
            if response.status in _REDIRECTS:
                location = response.headers.get("Location")
                target = url.join(yarl.URL(location, encoded=True)) if location else None
                if target is None or not sources.allows(str(target)):
                    log.warning(
                        "attachment redirect refused, not to an allowed origin: %s",
                        origin_of(str(target)) if target is not None else None,
                    )
                    raise UploadError(say.REDIRECTED_AWAY)
                url = target
                continue
            if response.status != 200:
                log.info("attachment download answered HTTP %s", response.status)
                raise UploadError(say.not_handed_over(response.status))
            chunks: list[bytes] = []
            total = 0
            async for chunk in response.content.iter_chunked(_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise UploadError(say.larger_than_said(limit))
                chunks.append(chunk)
            return b"".join(chunks)
    raise UploadError(say.REDIRECTED_AWAY)
