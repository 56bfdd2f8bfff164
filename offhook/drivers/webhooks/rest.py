"""Calling a provider's REST API (click to dial, hang up): small JSON requests, in a worker
thread so the event loop never waits on the provider."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from offhook.drivers import DriverError

TIMEOUT = 10.0
#: The most of an answer read: the APIs answer with a few hundred bytes.
MAX_ANSWER = 64 * 1024


def _call(
    method: str, url: str, headers: Mapping[str, str], body: Mapping[str, Any] | None
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 (an https base URL from the admin)
        url,
        data=data,
        method=method,
        headers={"Accept": "application/json", "Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
            raw = answer.read(MAX_ANSWER)
            status = answer.status
    except urllib.error.HTTPError as exc:
        detail = exc.read(2000).decode("utf-8", "replace").strip()
        raise DriverError(_explain(exc.code, detail)) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DriverError(f"the provider's API cannot be reached ({reason})") from exc
    try:
        return status, json.loads(raw) if raw.strip() else None
    except ValueError:
        return status, None


def _explain(status: int, detail: str) -> str:
    if status in (401, 403):
        return "the provider refused the API token: check it (and its rights) in Settings"
    if status == 404:
        return "the provider does not know this device or call"
    detail = " ".join(detail.split())[:200]
    return f"the provider answered {status}" + (f": {detail}" if detail else "")


async def call_api(
    method: str, url: str, headers: Mapping[str, str], body: Mapping[str, Any] | None = None
) -> tuple[int, Any]:
    """Send one request; returns the status and the JSON answer (None when there is none).
    Raises `DriverError`, in words for the user, when the provider refuses or is away."""
    return await asyncio.to_thread(_call, method, url, headers, body)
