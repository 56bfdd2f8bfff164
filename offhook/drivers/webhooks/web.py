"""The HTTP side of a webhook driver: the URL the provider posts to, and the set-up page.

`hook_router(DriverClass)` gives each driver its routes under /drivers/<name>/:

- `POST hooks/<token>`: the provider's pushes. No login (the token is the credential); bounded
  before it is read; refused unless it is for a running phone system of this driver. With
  several servers, a push for a phone system another server runs is passed on to that server
  through Redis and answered with its answer (see `WebhookDriver.relayed` for why there).
- `GET setup/<system id>` (admins): the exact address to paste into the provider's portal,
  what to click there, the lines and what the last requests did.
- `POST setup/<system id>/test` (admins): offhook posts a test event to itself through that
  public address, as the provider will, and says whether it arrived.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from offhook.drivers.webhooks.body import Refused, read_bounded
from offhook.drivers.webhooks.driver import (
    RELAYED_ISSUE_TEST,
    RELAYED_PUSH,
    RELAYED_SETUP,
    RELAYED_TEST_RECEIVED,
    HookAnswer,
    HookRequest,
    Receipt,
    WebhookDriver,
)
from offhook.lines.relay import RelayError
from offhook.settings.language import N_, _
from offhook.store.models import PhoneSystem
from offhook.web.context import offhook_of
from offhook.web.security import Admin, csrf_protect
from offhook.web.templating import add_template_dir, flash, render

TEMPLATES = Path(__file__).with_name("templates")
#: How long the test event may take to come back, in seconds.
TEST_TIMEOUT = 15.0
UNKNOWN = "No phone system here has this address, or it is switched off."
#: How long a push passed on to the server that runs its phone system may take there, stored
#: included; then it is answered 503 and the provider sends it again.
RELAY_TIMEOUT = 10.0

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


def _system_of_token(session: Session, cls: type[WebhookDriver], token: str) -> int | None:
    """The enabled phone system of this driver whose URL has `token` (run by any server)."""
    found = None
    systems = session.scalars(
        select(PhoneSystem).where(PhoneSystem.driver == cls.name, PhoneSystem.enabled.is_(True))
    )
    for system in systems:
        mine = str((system.options or {}).get("url_token") or "")
        # Each compared in constant time, as `_driver` does.
        if mine and hmac.compare_digest(mine.encode(), token.encode()):
            found = system.id
    return found


async def _pass_on(request: Request, cls: type[WebhookDriver], token: str) -> Response | None:
    """A push for a phone system another server runs: passed on, answered with its answer;
    None if no phone system of this driver has the token."""
    lines = offhook_of(request).lines
    if not lines.relay.connected:
        return None
    store = offhook_of(request).store
    system_id = await asyncio.to_thread(store.read_only, lambda s: _system_of_token(s, cls, token))
    if system_id is None:
        return None
    try:
        body = await read_bounded(request.headers.get("content-length"), request.stream())
    except Refused as refused:
        return _refusal(refused)
    hook_request = HookRequest(
        body=body,
        content_type=request.headers.get("content-type", ""),
        headers={key.lower(): value for key, value in request.headers.items()},
    )
    payload = hook_request.relayed(_base_url(request))
    try:
        result = await lines.ask_system(system_id, RELAYED_PUSH, payload, RELAY_TIMEOUT)
        answer = HookAnswer.from_relayed(result)
    except (RelayError, KeyError, ValueError, TypeError) as exc:
        # Not known to be stored: the provider must send it again (a retry that was stored
        # after all changes nothing, see `replay`).
        why = f"The call event could not be taken now ({exc}); send it again."
        return _refusal(Refused(503, why))
    return Response(answer.body, status_code=answer.status, media_type=answer.media_type)


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
            passed_on = await _pass_on(request, cls, token)
            return passed_on or _refusal(Refused(404, UNKNOWN))
        try:
            body = await read_bounded(request.headers.get("content-length"), request.stream())
        except Refused as refused:
            return _refusal(refused)
        hook_request = HookRequest(
            body=body,
            content_type=request.headers.get("content-type", ""),
            headers={key.lower(): value for key, value in request.headers.items()},
        )
        answer = await driver.handle(hook_request, _base_url(request))
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

    async def _ask(
        request: Request, system_id: int, kind: str, payload: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Ask the server that runs the phone system (several servers); None if none does."""
        lines = offhook_of(request).lines
        if not lines.relay.connected:
            return None
        try:
            return await lines.ask_system(system_id, kind, payload, RELAY_TIMEOUT)
        except RelayError:
            return None

    async def _address(request: Request, system_id: int) -> tuple[str | None, list[Receipt]]:
        """The URL to paste and the last requests, from the driver here or on its server."""
        base = _base_url(request)
        driver = _running(request, system_id)
        if driver is not None:
            return driver.hook_url(base), list(driver.receipts)
        found = await _ask(request, system_id, RELAYED_SETUP, {"base_url": base})
        if found is None:
            return None, []
        receipts = [Receipt.from_relayed(receipt) for receipt in found.get("receipts", [])]
        return str(found["url"]), receipts

    @router.get(f"/drivers/{name}/setup/{{system_id}}", include_in_schema=False)
    async def setup(request: Request, system_id: int, user: Admin) -> Response:
        context = await asyncio.to_thread(_setup, request, system_id)
        url, receipts = await _address(request, system_id) if context["enabled"] else (None, [])
        return render(
            request,
            "webhooks_setup.html",
            user,
            cls=cls,
            system_id=system_id,
            receipts=receipts,
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
        url, _receipts = await _address(request, system_id)
        issued = (
            {"nonce": driver.issue_test()}
            if driver is not None
            else await _ask(request, system_id, RELAYED_ISSUE_TEST, {})
        )
        if url is None or issued is None:
            flash(request, N_("The phone system is not running: load its driver first."), "error")
            return back
        nonce = str(issued["nonce"])
        problem = await asyncio.to_thread(_post_test, url, nonce)
        if driver is not None:
            received = nonce in driver.tests_received
        else:  # it arrived, through whichever server, at the one that runs the phone system
            asked = await _ask(request, system_id, RELAYED_TEST_RECEIVED, {"nonce": nonce})
            received = bool(asked and asked.get("received"))
        if not problem and received:
            address = urlsplit(url).netloc
            if _is_local(url):
                text = _(
                    "The test event arrived through {address} (a local address: the provider "
                    "cannot reach it)."
                )
            else:
                text = _("The test event arrived through {address}.")
            flash(request, text.format(address=address))
        else:
            text = _(
                "The test event did not arrive: {problem}. Check offhook's public address and "
                "the reverse proxy."
            )
            flash(request, text.format(problem=problem or _("another server answered")), "error")
        return back

    return router


__all__ = ["hook_router"]
