"""The HTTP side of a webhook driver: the URL the provider posts to, and the set-up page.

`hook_router(DriverClass)` gives each driver its routes under /drivers/<name>/:

- `POST hooks/<token>`: the provider's pushes. No login (the token is the credential); bounded
  before it is read; refused unless it is for a running phone system of this driver.
- `GET setup/<system id>` (admins): the exact address to paste into the provider's portal,
  what to click there, the lines and what the last requests did.
- `POST setup/<system id>/test` (admins): offhook posts a test event to itself through that
  public address, as the provider will, and says whether it arrived.
"""

from __future__ import annotations

import asyncio
import ipaddress
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from offhook.drivers.webhooks.body import Refused, read_bounded
from offhook.drivers.webhooks.driver import TEST_HEADER, HookRequest, WebhookDriver
from offhook.settings.language import N_
from offhook.store.models import PhoneSystem
from offhook.web.context import offhook_of
from offhook.web.security import Admin, csrf_protect
from offhook.web.templating import add_template_dir, flash, render

TEMPLATES = Path(__file__).with_name("templates")
#: How long the test event may take to come back, in seconds.
TEST_TIMEOUT = 15.0
UNKNOWN = "No phone system here has this address, or it is switched off."

add_template_dir(TEMPLATES)


def _refusal(refused: Refused) -> Response:
    # Plain text: the provider's log shows it to whoever sets the account up.
    return Response(
        refused.message + "\n", status_code=refused.status, media_type="text/plain; charset=utf-8"
    )


def _driver(request: Request, cls: type[WebhookDriver], token: str) -> WebhookDriver | None:
    found = None
    for runner in offhook_of(request).lines.running.values():
        driver = runner.driver
        # Every candidate is compared, in constant time: the answer takes as long for a token
        # that shares a prefix with a real one as for any other.
        if isinstance(driver, cls) and driver.token_matches(token):
            found = driver
    return found


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _is_local(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local


def _post_test(url: str, nonce: str) -> str:
    """Post a test event to `url`; returns what went wrong, or '' when it was received."""
    data = b"event=offhook-test"
    request = urllib.request.Request(  # noqa: S310 (the admin's own http(s) address)
        url,
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Offhook-Test": nonce,
            "User-Agent": "offhook set-up test",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TEST_TIMEOUT) as answer:  # noqa: S310
            answer.read(4096)
            return ""
    except urllib.error.HTTPError as exc:
        return f"the address answered {exc.code} {exc.reason}"
    except urllib.error.URLError as exc:
        return f"the address cannot be reached ({exc.reason})"
    except (OSError, ValueError) as exc:
        return f"the address cannot be reached ({exc})"


def hook_router(cls: type[WebhookDriver]) -> APIRouter:
    name = cls.name
    router = APIRouter()

    @router.post(
        f"/drivers/{name}/hooks/{{token}}",
        response_class=Response,
        # Not the API's: the provider's, documented in the driver's README (the API's docs
        # list /api/ only).
        include_in_schema=False,
    )
    async def hook(request: Request, token: str) -> Response:
        driver = _driver(request, cls, token)
        if driver is None:
            return _refusal(Refused(404, UNKNOWN))
        try:
            body = await read_bounded(request.headers.get("content-length"), request.stream())
            nonce = request.headers.get(TEST_HEADER)
            if nonce is not None:
                if not driver.take_test(nonce):
                    raise Refused(403, "This test event was not sent by offhook.")
                return Response("offhook received the test event.\n", media_type="text/plain")
            hook_request = HookRequest(
                body=body,
                content_type=request.headers.get("content-type", ""),
                headers={key.lower(): value for key, value in request.headers.items()},
            )
            answer = await driver.receive(hook_request, driver.hook_url(_base_url(request)))
        except Refused as refused:
            return _refusal(refused)
        return Response(answer.body, status_code=answer.status, media_type=answer.media_type)

    def _setup(request: Request, system_id: int) -> dict[str, Any]:
        with offhook_of(request).store.session() as session:
            system = session.get(PhoneSystem, system_id)
            if system is None or system.driver != name:
                raise HTTPException(404, f"There is no such {cls.title} phone system.")
            lines = [
                {
                    "address": line.address,
                    "numbers": (line.options or {}).get("numbers") or [],
                    "user": line.user.name,
                    "enabled": line.enabled,
                }
                for line in sorted(system.lines, key=lambda line: line.address)
            ]
            return {"system_name": system.name, "enabled": system.enabled, "lines": lines}

    def _running(request: Request, system_id: int) -> WebhookDriver | None:
        runner = offhook_of(request).lines.running.get(system_id)
        driver = runner.driver if runner is not None else None
        return driver if isinstance(driver, cls) else None

    @router.get(f"/drivers/{name}/setup/{{system_id}}", include_in_schema=False)
    async def setup(request: Request, system_id: int, user: Admin) -> Response:
        context = await asyncio.to_thread(_setup, request, system_id)
        driver = _running(request, system_id)
        url = driver.hook_url(_base_url(request)) if driver else None
        return render(
            request,
            "webhooks_setup.html",
            user,
            cls=cls,
            system_id=system_id,
            driver=driver,
            url=url,
            local=bool(url and _is_local(url)),
            steps=[step.format(url=url or "…") for step in cls.portal_steps],
            **context,
        )

    @router.post(
        f"/drivers/{name}/setup/{{system_id}}/test",
        include_in_schema=False,
        dependencies=[Depends(csrf_protect)],
    )
    async def send_test(request: Request, system_id: int, user: Admin) -> Response:
        driver = _running(request, system_id)
        back = RedirectResponse(f"/drivers/{name}/setup/{system_id}", status_code=303)
        if driver is None:
            flash(request, N_("The phone system is not running: load its driver first."), "error")
            return back
        url = driver.hook_url(_base_url(request))
        nonce = driver.issue_test()
        problem = await asyncio.to_thread(_post_test, url, nonce)
        if not problem and nonce in driver.tests_received:
            where = " (a local address: the provider cannot reach it)" if _is_local(url) else ""
            flash(request, f"The test event arrived through {urlsplit(url).netloc}{where}.")
        else:
            flash(
                request,
                f"The test event did not arrive: {problem or 'another server answered'}. Check "
                "offhook's public address and the reverse proxy.",
                "error",
            )
        return back

    return router


__all__ = ["hook_router"]
