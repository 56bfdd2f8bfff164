"""The caller-name endpoint: the PBX asks offhook whose number is calling, before the phones ring.

    GET /api/drivers/asterisk/caller-name/{phone system id}?number=+41446681812&token=…

answers the CRM's name for the number as plain text (empty when nobody has it), for Asterisk's
`CURL()` in the dialplan and FreePBX's CallerID Superfecta ("Send to URL"). It is authenticated
by the phone system's own token (its option `caller_name_token`; the endpoint is off without
one), not by a user's login: the PBX has none. The lookup gets a budget shorter than the PBX's
own timeout; a lookup that takes longer answers empty, so a call never waits on the CRM.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session

from offhook.directory.lookup import find_caller
from offhook.drivers.asterisk.driver import AsteriskDriver
from offhook.settings.language import N_
from offhook.settings.telephony import SettingsCache
from offhook.store.models import PhoneSystem
from offhook.web.context import offhook_of

router = APIRouter(prefix="/api/drivers/asterisk", tags=["Asterisk"])

#: Seconds the lookup may take; CURL() and Superfecta wait a few seconds at most.
BUDGET = 1.5
#: Longest name answered: a desk phone shows about this much.
MAX_NAME = 80


def _name_for(session: Session, number: str) -> str:
    caller = find_caller(session, number, SettingsCache.get(session))
    if not caller.matches:
        return ""
    return caller.matches[0].name


def _plain(name: str) -> str:
    """One printable line without the characters a dialplan or SIP header treats specially."""
    kept = "".join(c for c in name if c.isprintable() and c not in '"<>\\;,')
    return " ".join(kept.split())[:MAX_NAME]


@router.get("/caller-name/{system_id}", response_class=PlainTextResponse)
async def caller_name(
    request: Request,
    system_id: int,
    number: Annotated[str, Query(max_length=64)],
    token: Annotated[str | None, Query(max_length=200)] = None,
    authorization: Annotated[str | None, Header(max_length=220)] = None,
) -> PlainTextResponse:
    """The CRM's name for `number`, as plain text; empty when unknown."""
    given = token or (authorization or "").removeprefix("Bearer ").strip()
    store = offhook_of(request).store

    def wanted_token() -> str | None:
        with store.session() as session:
            system = session.get(PhoneSystem, system_id)
            if system is None or system.driver != AsteriskDriver.name:
                return None
            value = (system.options or {}).get("caller_name_token")
            return value if isinstance(value, str) and value else None

    expected = await asyncio.to_thread(wanted_token)
    if expected is None or not given or not hmac.compare_digest(given, expected):
        raise HTTPException(403, N_("Unknown phone system or wrong token"))

    def lookup() -> str:
        return store.read(lambda session: _name_for(session, number))

    try:
        name = await asyncio.wait_for(asyncio.to_thread(lookup), BUDGET)
    except TimeoutError:
        name = ""
    return PlainTextResponse(_plain(name))
