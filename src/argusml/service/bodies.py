"""Request bodies: which content types are read how, and reading one within the size limit.

Shared by the ingest routes and the request middleware, which reads a body
itself (the ingest fast path, and the relabelling of JSON sent without its
type before FastAPI parses it).
"""

from __future__ import annotations

from typing import Any

import orjson

from argusml.service.errors import ApiError

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines")
JSON_TYPES = ("application/json", "text/json")
FORM_TYPE = "application/x-www-form-urlencoded"
"""What ``curl -d`` sends when told no type: a body of that type that parses as JSON is read as JSON, so
that the shortest curl command works; a real form body is still refused (415)."""


async def body_chunks(receive: Any) -> Any:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


async def read_stream(chunks: Any, limit: int) -> bytes:
    parts = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "body_too_large", f"body exceeds the limit of {limit} bytes; send smaller batches")
        parts.append(chunk)
    return b"".join(parts)


def _accepted(ndjson: bool) -> str:
    return ("send application/json (a list of objects) or application/x-ndjson (one object per line)" if ndjson
            else "send application/json")


def body_format(content_type: str | None, ndjson: bool = True) -> str:
    """How an ingest body of this content type is read: ``json``, ``ndjson``, or ``form`` (curl's default
    type: JSON if the body parses as JSON, see ``require_json``). A body with no content type is JSON, as
    it always was. Any other type is a 415 naming the accepted ones."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ndjson and ctype in NDJSON_TYPES:
        return "ndjson"
    if ctype in (*JSON_TYPES, ""):
        return "json"
    if ctype == FORM_TYPE:
        return "form"
    raise ApiError(415, "unsupported_media_type", f"content type {ctype!r}: {_accepted(ndjson)}")


def require_json(body: bytes, ndjson: bool = True) -> None:
    """A body sent with the form content type is read as JSON only when it is JSON: 415 otherwise, saying
    how to send it (curl sends that type with ``-d`` unless told another)."""
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(415, "unsupported_media_type",
                       f"content type {FORM_TYPE!r} with a body that is not JSON: {_accepted(ndjson)} "
                       "(with curl: -H 'Content-Type: application/json')") from None
