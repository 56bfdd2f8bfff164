"""Reaching the running `Offhook` from a request."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from offhook.app import Offhook


def offhook_of(request: HTTPConnection) -> Offhook:
    app: Offhook = request.app.state.offhook
    return app
