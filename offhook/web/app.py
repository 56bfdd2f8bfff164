"""The ASGI app: pages, the journal panel and the JSON API, over one `Offhook`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from offhook import __version__
from offhook.app import Offhook
from offhook.crm.work import CallNotFound
from offhook.settings import language
from offhook.settings.language import _
from offhook.settings.login_throttle import DeviceCookies, LoginThrottle
from offhook.web.api import journal
from offhook.web.api import lookup as api
from offhook.web.api import unbilled as unbilled_api
from offhook.web.database_outages import DatabaseOutages
from offhook.web.drivers import add_driver_parts
from offhook.web.limits import BodyLimits, RequestLimits
from offhook.web.pages import (
    activities,
    addresses,
    calls,
    imports,
    login,
    numbers,
    phone_systems,
    projects,
    services,
    settings,
    today,
    unbilled,
)
from offhook.web.security import LoginRequired
from offhook.web.templating import render

STATIC = Path(__file__).with_name("static")
SESSION_COOKIE = "offhook_session"
NO_SUCH_RECORD = (
    "There is no such record: a number in the request is larger than any offhook keeps."
)
ROUTERS = [
    module.router
    for module in (
        login,
        today,
        journal,
        api,
        addresses,
        activities,
        services,
        projects,
        calls,
        settings,
        phone_systems,
        numbers,
        imports,
        unbilled,
        unbilled_api,
    )
]


class SecurityHeaders:
    """Headers that keep injected content inert even if escaping were ever missed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (
                        b"content-security-policy",
                        b"default-src 'self'; img-src 'self' data:; "
                        b"style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; "
                        b"base-uri 'none'; form-action 'self'",
                    ),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class BrowserLanguage:
    """Every request speaks the browser's language (Accept-Language) until it is known whose it
    is: then the user's own choice (`security.current_user`). Texts are translated where they
    are made, so errors, form messages and pages all agree."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            header = dict(scope.get("headers") or []).get(b"accept-language", b"")
            language.activate(language.negotiate(header.decode("latin-1")))
        await self.app(scope, receive, send)


def create_app(offhook: Offhook) -> FastAPI:
    """The ASGI app. `offhook.prepare()` must have run (it creates the session secret)."""
    if not offhook.secret_key:
        offhook.prepare()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await offhook.start()
        try:
            yield
        finally:
            await offhook.stop()

    app = FastAPI(
        title="offhook",
        version=__version__,
        description="Telephony journal, caller lookup and call actions for a CRM.",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.offhook = offhook
    app.state.login_throttle = LoginThrottle()
    app.state.device_cookies = DeviceCookies(offhook.secret_key)
    app.add_middleware(
        SessionMiddleware,
        secret_key=offhook.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=int(offhook.config.session_max_age),
        same_site="lax",
        https_only=offhook.config.secure_cookies,
    )
    app.add_middleware(SecurityHeaders)
    # Around the session and the routes: a read that meets a dropped database connection runs
    # again from the start. Inside the language, so that what it answers is in the browser's.
    app.add_middleware(DatabaseOutages)
    app.add_middleware(BrowserLanguage)
    # Outermost: a body is bounded before anything, the session included, looks at it.
    app.add_middleware(
        RequestLimits,
        limits=BodyLimits(upload=offhook.config.upload_max_bytes),
        session_cookie=SESSION_COOKIE,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    for router in ROUTERS:
        app.include_router(router)
    add_driver_parts(app)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    # Starlette's own (a page that does not exist) as well as the app's.
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get(
            "accept", ""
        ):
            detail = _(exc.detail) if isinstance(exc.detail, str) else exc.detail
            return JSONResponse({"detail": detail}, status_code=exc.status_code)
        titles = {403: _("Not allowed"), 404: _("Not found"), 409: _("Not possible right now")}
        return render(
            request,
            "error.html",
            None,
            status_code=exc.status_code,
            title=titles.get(exc.status_code, _("Something went wrong")),
            detail=_("There is no such page.")
            if exc.detail == "Not Found"  # Starlette's, for a path no route serves
            else _(exc.detail),
        )

    @app.exception_handler(CallNotFound)
    async def call_not_found(request: Request, exc: CallNotFound) -> Response:
        return await http_error(request, HTTPException(404, str(exc)))

    @app.exception_handler(OverflowError)
    async def beyond_any_record(request: Request, _exc: OverflowError) -> Response:
        # SQLite cannot even compare an integer beyond 64 bits (an id of 30 digits in an
        # address or a form) and raises; PostgreSQL finds no row. Both mean: no such record.
        return await http_error(request, HTTPException(404, NO_SUCH_RECORD))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            f"{'.'.join(str(p) for p in error['loc'] if p != 'body')}: {error['msg']}"
            for error in exc.errors()
        ]
        return JSONResponse(
            {
                "detail": _("The request is not valid: {problems}").format(
                    problems="; ".join(problems)
                )
            },
            status_code=422,
        )

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return RedirectResponse("/static/favicon.svg")

    return app
