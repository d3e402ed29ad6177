"""HTTP details every route shares: Discord's JSON responses (Content-Type exactly
``application/json``, as discord.py's ``json_or_text`` requires) and request bodies in either of the
two forms discord.py sends (JSON, or multipart with ``payload_json`` and ``files[n]``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .errors import ApiError, FormErrors

Json = dict[str, Any]

# Every Discord response passes Google's front end; discord.py trusts a 429 only when it has this.
VIA = "1.1 google"


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    response = web.Response(
        body=json.dumps(data).encode(), status=status, content_type="application/json"
    )
    response.headers["Via"] = VIA
    if headers:
        response.headers.update(headers)
    return response


def empty_response(*, headers: dict[str, str] | None = None) -> web.Response:
    response = web.Response(status=204)
    response.headers["Via"] = VIA
    if headers:
        response.headers.update(headers)
    return response


def error_response(error: ApiError, *, headers: dict[str, str] | None = None) -> web.Response:
    return json_response(error.body(), status=error.status, headers=headers)


@dataclass
class Upload:
    filename: str
    size: int
    content_type: str


@dataclass
class Body:
    """A request body: the JSON payload, plus uploaded files when it came as multipart."""

    payload: Any
    files: list[Upload] = field(default_factory=list)


async def read_body(request: web.Request, *, allow_list: bool = False) -> Body:
    if request.content_type.startswith("multipart/"):
        payload: Json = {}
        files: list[Upload] = []
        reader = await request.multipart()
        async for part in reader:
            if part.name == "payload_json":  # type: ignore[union-attr]
                payload = json.loads(await part.text())  # type: ignore[union-attr]
            else:
                data = await part.read()  # type: ignore[union-attr]
                files.append(
                    Upload(
                        filename=part.filename or "file",  # type: ignore[union-attr]
                        size=len(data),
                        content_type=part.headers.get("Content-Type", "application/octet-stream"),
                    )
                )
        return Body(payload, files)
    raw = await request.read()
    if not raw:
        return Body({})
    try:
        payload = json.loads(raw)
    except ValueError:
        raise ApiError(50109, "The request body contains invalid JSON.") from None
    if not isinstance(payload, dict) and not (allow_list and isinstance(payload, list)):
        errors = FormErrors()
        errors.add("_root", "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        errors.raise_if_any()
    return Body(payload)


def attachments_for(body: Body, new_id: Any) -> list[Json]:
    """Attachment objects for uploaded files, named as ``payload.attachments`` describes them."""
    described = {
        int(a.get("id", i)): a for i, a in enumerate(body.payload.get("attachments") or [])
    }
    result = []
    for index, upload in enumerate(body.files):
        meta = described.get(index, {})
        attachment_id = new_id()
        filename = meta.get("filename") or upload.filename
        result.append(
            {
                "id": str(attachment_id),
                "filename": filename,
                "size": upload.size,
                "url": f"https://cdn.invalid/attachments/{attachment_id}/{filename}",
                "proxy_url": f"https://media.invalid/attachments/{attachment_id}/{filename}",
                "content_type": upload.content_type,
                "description": meta.get("description"),
            }
        )
    return result


def query_flag(request: web.Request, name: str, default: bool = False) -> bool:
    value = request.query.get(name)
    if value is None:
        return default
    return value.lower() in ("1", "true", "yes")
