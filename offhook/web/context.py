"""Reaching the running `Offhook` from a request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

if TYPE_CHECKING:
    from offhook.app import Offhook


def offhook_of(request: HTTPConnection) -> Offhook:
    app: Offhook = request.app.state.offhook
    return app
