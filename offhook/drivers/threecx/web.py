"""What 3CX's CRM integration calls, and the template an admin downloads for it.

- `GET /api/drivers/3cx/systems/{id}/lookup?number=…`: who a number is (name, company, a link
  into offhook), in the shape the template's lookup scenario reads.
- `POST /api/drivers/3cx/systems/{id}/journal`: a call that ended (the ReportCall scenario).
- `GET /drivers/3cx/systems/{id}/crm-template.xml`: the template for that 3CX (admins only).

3CX authenticates with the phone system's token as the password of HTTP basic authentication
(a bearer token works too). It is checked before anything else is read or looked up, and every
failure looks the same, whether the phone system exists or not.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import joinedload

from offhook.directory.lookup import find_caller
from offhook.drivers.threecx.driver import ThreeCxDriver
from offhook.drivers.threecx.report import CallReport
from offhook.drivers.threecx.template import crm_template
from offhook.settings.language import N_
from offhook.settings.telephony import SettingsCache
from offhook.store.models import Address
from offhook.web.context import offhook_of
from offhook.web.security import Admin

log = logging.getLogger(__name__)

router = APIRouter(tags=["3CX"])

#: A ReportCall body is a dozen short values; anything much larger is not one.
MAX_REPORT = 8 * 1024
REFUSED = "Unknown 3CX phone system or wrong token."


def _presented_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def _driver(request: Request, system_id: int) -> ThreeCxDriver:
    """The running 3CX phone system the request is for, once its token is right."""
    runner = offhook_of(request).lines.running.get(system_id)
    driver = runner.driver if runner is not None else None
    token = _presented_token(request)
    if not isinstance(driver, ThreeCxDriver) or token is None:
        raise HTTPException(401, REFUSED, headers={"WWW-Authenticate": 'Basic realm="offhook"'})
    if not hmac.compare_digest(token.encode(), driver.token().encode()):
        raise HTTPException(401, REFUSED, headers={"WWW-Authenticate": 'Basic realm="offhook"'})
    return driver


def _base_url(request: Request, driver: ThreeCxDriver) -> str:
    return driver.options.public_url or str(request.base_url).rstrip("/")


@router.get("/api/drivers/3cx/systems/{system_id}/lookup")
async def lookup(
    request: Request, system_id: int, number: Annotated[str, Query(max_length=100)] = ""
) -> dict[str, Any]:
    """The contact a number belongs to, for the 3CX clients; `{}` when nobody."""
    driver = _driver(request, system_id)
    base = _base_url(request, driver)

    def work() -> dict[str, Any]:
        with offhook_of(request).store.session() as session:
            settings = SettingsCache.get(session)
            matches = find_caller(session, number, settings).matches
            found = next((m for m in matches if m.address_id is not None), None)
            if found is None:
                return {}
            address = session.get(
                Address,
                found.address_id,
                options=[joinedload(Address.company), joinedload(Address.channels)],
            )
            if address is None:
                return {}
            return {"contact": _contact(address, found.number_as_entered, base)}

    return await asyncio.to_thread(work)


def _contact(address: Address, number: str, base: str) -> dict[str, str]:
    company = address.company.company_name if address.company else address.company_name
    first, last = address.first_name, address.last_name
    if not first and not last:
        last = company  # a company: 3CX shows first and last name
    channels = {c.kind: c.value for c in reversed(address.channels)}
    return {
        "id": str(address.id),
        "first_name": first,
        "last_name": last,
        "company": company,
        "email": channels.get("email", ""),
        "phone": number if channels.get("phone") is None else channels["phone"],
        "mobile": channels.get("mobile", ""),
        "url": f"{base}/addresses/{address.id}",
    }


@router.post("/api/drivers/3cx/systems/{system_id}/journal")
async def journal(request: Request, system_id: int) -> dict[str, Any]:
    """A call 3CX reports at its end (the template's ReportCall scenario)."""
    driver = _driver(request, system_id)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_REPORT:
            raise HTTPException(413, N_("A call report is at most 8 KB."))
    try:
        data = json.loads(body or b"{}")
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        report = CallReport.model_validate(
            {k: v if isinstance(v, str) else str(v) for k, v in data.items() if v is not None}
        )
        return driver.journal(report)
    except (ValueError, ValidationError) as exc:
        # Said plainly for 3CX's log; nothing of the body is echoed.
        message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise HTTPException(422, f"Not a call report: {message}"[:200]) from None


@router.get("/drivers/3cx/systems/{system_id}/crm-template.xml", include_in_schema=False)
async def template(request: Request, system_id: int, user: Admin) -> Response:
    """The CRM template for this 3CX, with offhook's URL and the token filled in."""
    runner = offhook_of(request).lines.running.get(system_id)
    driver = runner.driver if runner is not None else None
    if not isinstance(driver, ThreeCxDriver):
        raise HTTPException(
            404,
            N_("That 3CX phone system is not running: switch it on, or load the 3CX driver."),
        )

    def country() -> str:
        with offhook_of(request).store.session() as session:
            return SettingsCache.get(session).country

    xml = crm_template(
        base_url=_base_url(request, driver),
        system_id=system_id,
        token=driver.token(),
        country=await asyncio.to_thread(country),
        digits_compared=driver.options.digits_compared,
    )
    return Response(
        xml,
        media_type="application/xml",
        headers={
            "Content-Disposition": f'attachment; filename="offhook-3cx-{system_id}.xml"',
            "Cache-Control": "no-store",  # it holds the token
        },
    )
