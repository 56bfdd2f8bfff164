"""A push's body: bounded before it is read, parsed with bounds, and refused when it is not a
push.

Providers post small forms (sipgate, Placetel, most PBX scripts) or small JSON objects (the
generic CTI format); a real push is well under a kilobyte. Anything larger, deeper or with more
fields than a push has is refused before any work is done on it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser

#: The largest body a push may have. sipgate's biggest push (a group call with every user's
#: name and ids) stays far below.
MAX_BODY = 16 * 1024
#: The most fields a push may have (repeated `user[]` included).
MAX_FIELDS = 100
#: The longest field name and value. Names and numbers are short; a caller's name is the
#: provider's text and is cut later anyway.
MAX_KEY = 64
MAX_VALUE = 1000

#: A push's fields: each name with its values in order (`user[]` arrives as `user`).
Fields = Mapping[str, list[str]]


class Refused(Exception):
    """The request is not accepted; `status` and the message are the answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def too_large() -> Refused:
    return Refused(413, f"A push has at most {MAX_BODY // 1024} KB.")


async def read_bounded(announced: str | None, stream: AsyncIterator[bytes]) -> bytes:
    """The body, refused from its Content-Length without reading it when that is too large, and
    refused while it arrives once it passes the bound."""
    if announced is not None:
        if not announced.isdigit():
            raise Refused(400, "The Content-Length header is not a number.")
        if int(announced) > MAX_BODY:
            raise too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > MAX_BODY:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _add(fields: dict[str, list[str]], key: str, value: str) -> None:
    if len(key) > MAX_KEY or len(value) > MAX_VALUE:
        raise Refused(400, "A field of the push is too long.")
    fields.setdefault(key.removesuffix("[]"), []).append(value)
    if sum(len(v) for v in fields.values()) > MAX_FIELDS:
        raise Refused(400, "The push has too many fields.")


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(400, "The push is not UTF-8 text.") from exc


def parse_form(body: bytes) -> dict[str, list[str]]:
    """An `application/x-www-form-urlencoded` body."""
    try:
        pairs = parse_qsl(
            _text(body),
            keep_blank_values=True,
            max_num_fields=MAX_FIELDS,
            separator="&",
            errors="strict",
        )
    except UnicodeDecodeError as exc:
        raise Refused(400, "The push is not UTF-8 text.") from exc
    except ValueError as exc:
        raise Refused(400, "The push has too many fields.") from exc
    fields: dict[str, list[str]] = {}
    for key, value in pairs:
        _add(fields, key, value)
    return fields


def parse_json(body: bytes) -> dict[str, list[str]]:
    """A JSON object of strings, numbers and lists of them (the generic CTI format)."""
    try:
        data = json.loads(_text(body))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise Refused(400, "The push is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise Refused(400, "The push must be a JSON object.")
    fields: dict[str, list[str]] = {}
    for key, value in data.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, bool) or item is None:
                item = "" if item is None else str(item).lower()
            if not isinstance(item, str | int | float):
                raise Refused(400, f"The field {key[:MAX_KEY]!r} must be text or a list of text.")
            _add(fields, str(key), str(item))
    return fields


async def parse_multipart(body: bytes, content_type: str) -> dict[str, list[str]]:
    """A `multipart/form-data` body of plain fields (what `curl --form` sends); no files."""

    async def once() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(
        Headers({"content-type": content_type}),
        once(),
        max_files=0,
        max_fields=MAX_FIELDS,
        max_part_size=MAX_VALUE,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise Refused(400, f"The push is not a valid form: {exc.message}") from exc
    fields: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            raise Refused(400, "A push carries no files.")
        _add(fields, key, value)
    return fields


async def parse_fields(body: bytes, content_type: str, json_allowed: bool) -> dict[str, list[str]]:
    """The fields of a push, by its content type (a form when it names none)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in ("", "application/x-www-form-urlencoded"):
        return parse_form(body)
    if kind == "multipart/form-data":
        return await parse_multipart(body, content_type)
    if json_allowed and kind == "application/json":
        return parse_json(body)
    raise Refused(415, "Send the push as a form (application/x-www-form-urlencoded).")


def first(fields: Fields, key: str) -> str:
    """The field's first value, trimmed; empty when it is missing."""
    values = fields.get(key)
    return values[0].strip() if values else ""
