"""Attachments a member hands to a slash command (option type 11), and the CDN that serves them.

Discord's client uploads the file first, then sends the interaction with the attachment
*resolved* in ``data.resolved.attachments``: ``id``, ``filename``, ``size``, ``content_type``
(guessed from the name), ``url`` and ``proxy_url`` (signed CDN links that expire: ``ex``, ``is``,
``hm`` query parameters), ``ephemeral: true``. The client refuses a file over the member's upload
limit (500 MiB with the largest Nitro plan); the CDN answers an unsigned, altered or expired link
with 404. Here the CDN is ``/attachments/...`` on the double's own address (127.0.0.1).

A test can make a file misbehave as a real download may: ``serve="fail"`` (HTTP 500),
``"hang"`` (headers, then nothing), ``"truncate"`` (the connection drops half-way),
``"redirect"`` (302 to another file's link, ``redirect_to``), and a ``size`` that differs from
the bytes (a client that lied). ``host`` names the file's link by another host name than
127.0.0.1 (``localhost``: the same server, another origin). ``requests`` counts every fetch, so
a test can tell that a file was never downloaded.
"""

# Test-facing waits take a ``timeout`` argument, as asyncio's own waits do.

from __future__ import annotations

import asyncio
import hashlib
import hmac
import mimetypes
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import yarl
from aiohttp import web

if TYPE_CHECKING:
    from .state import World

Json = dict[str, Any]
Serve = Literal["ok", "fail", "hang", "truncate", "redirect"]

# The largest file any member can upload (Nitro); the client refuses bigger ones.
UPLOAD_MAX = 500 * 1024 * 1024
LINK_LIFETIME_SECONDS = 24 * 3600


@dataclass(eq=False)
class HostedFile:
    id: int
    filename: str
    data: bytes
    size: int
    content_type: str
    expires: float
    serve: Serve = "ok"
    requests: int = 0
    host: str | None = None
    redirect_to: HostedFile | None = None

    @property
    def key(self) -> str:
        return f"{self.id}/{self.filename}"


class AttachmentHost:
    def __init__(self, world: World, base_url: Any) -> None:
        self.world = world
        self._base_url = base_url  # callable: the double's http://127.0.0.1:port
        self._secret = secrets.token_bytes(16)
        self.files: dict[int, HostedFile] = {}

    def add(
        self,
        filename: str,
        data: bytes,
        *,
        size: int | None = None,
        content_type: str | None = None,
        serve: Serve = "ok",
        host: str | None = None,
        redirect_to: HostedFile | None = None,
    ) -> HostedFile:
        if (serve == "redirect") != (redirect_to is not None):
            raise ValueError('serve="redirect" goes with redirect_to, and only with it')
        declared = len(data) if size is None else size
        if declared > UPLOAD_MAX:
            raise ValueError(f"Discord's client refuses files over {UPLOAD_MAX} bytes")
        guessed = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        if guessed.startswith("text/") and "charset" not in guessed:
            guessed += "; charset=utf-8"
        hosted = HostedFile(
            id=self.world.new_id(),
            filename=filename,
            data=data,
            size=declared,
            content_type=guessed,
            expires=self.world.now() + LINK_LIFETIME_SECONDS,
            serve=serve,
            host=host,
            redirect_to=redirect_to,
        )
        self.files[hosted.id] = hosted
        return hosted

    def _signature(self, hosted: HostedFile, expires: str, issued: str) -> str:
        message = f"{hosted.key}:{expires}:{issued}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def url(self, hosted: HostedFile) -> str:
        expires = f"{int(hosted.expires):x}"
        issued = f"{int(hosted.expires - LINK_LIFETIME_SECONDS):x}"
        signature = self._signature(hosted, expires, issued)
        base = self._base_url()
        if hosted.host is not None:
            base = str(yarl.URL(base).with_host(hosted.host))
        return f"{base}/attachments/{hosted.key}?ex={expires}&is={issued}&hm={signature}&"

    def resolved(self, value: Any) -> Json:
        """The attachment object as ``data.resolved.attachments`` carries it."""
        attachment_id = int(getattr(value, "id", value))
        hosted = self.files.get(attachment_id)
        if hosted is None:
            raise ValueError(f"no attachment {attachment_id}: make one with double.attachment()")
        return {
            "id": str(hosted.id),
            "filename": hosted.filename,
            "size": hosted.size,
            "url": self.url(hosted),
            "proxy_url": self.url(hosted).replace("/attachments/", "/media/attachments/", 1),
            "content_type": hosted.content_type,
            "ephemeral": True,
        }

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/attachments/{attachment_id}/{filename}", self.serve_file)]

    async def serve_file(self, request: web.Request) -> web.StreamResponse:
        try:
            hosted = self.files[int(request.match_info["attachment_id"])]
        except (KeyError, ValueError):
            raise web.HTTPNotFound(text="This content is no longer available.") from None
        hosted.requests += 1
        expires, issued = request.query.get("ex", ""), request.query.get("is", "")
        given = request.query.get("hm", "")
        valid = hmac.compare_digest(given, self._signature(hosted, expires, issued))
        try:
            expired = int(expires, 16) < self.world.now()
        except ValueError:
            expired = True
        if request.match_info["filename"] != hosted.filename or not valid or expired:
            raise web.HTTPNotFound(text="This content is no longer available.")
        if hosted.serve == "fail":
            raise web.HTTPInternalServerError()
        if hosted.redirect_to is not None:
            raise web.HTTPFound(self.url(hosted.redirect_to))
        # The CDN says how many bytes it holds, whatever size the interaction declared.
        response = web.StreamResponse(
            headers={"Content-Type": hosted.content_type, "Content-Length": str(len(hosted.data))}
        )
        await response.prepare(request)
        if hosted.serve == "hang":
            await asyncio.sleep(3600)
        if hosted.serve == "truncate":
            await response.write(hosted.data[: len(hosted.data) // 2])
            if request.transport is not None:
                request.transport.close()
            return response
        body = hosted.data
        for start in range(0, len(body), 64 * 1024):
            await response.write(body[start : start + 64 * 1024])
        await response.write_eof()
        return response
