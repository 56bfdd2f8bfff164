"""JSON API beside the journal: caller lookup, projects for the journal's dropdowns."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from offhook.crm.choices import projects_for
from offhook.directory.lookup import find_caller
from offhook.settings.telephony import SettingsCache
from offhook.store.models import Address
from offhook.web.context import offhook_of
from offhook.web.security import User_, csrf_protect

router = APIRouter(prefix="/api", dependencies=[Depends(csrf_protect)], tags=["directory"])


@router.get("/lookup")
async def api_lookup(
    request: Request, user: User_, number: Annotated[str, Query(max_length=300)]
) -> list[dict[str, Any]]:
    """Every address (or colleague) the number belongs to, best first."""

    def work(session: Session) -> list[dict[str, Any]]:
        settings = SettingsCache.get(session)
        return [m.to_json() for m in find_caller(session, number, settings).matches]

    # A PBX may ask for every call it rings: one round trip (see `Store.read_only`).
    return await asyncio.to_thread(offhook_of(request).store.read_only, work)


@router.get("/projects")
async def api_projects(
    request: Request,
    user: User_,
    address_id: int | None = None,
    q: Annotated[str, Query(max_length=100)] = "",
) -> list[dict[str, Any]]:
    """Active projects, the given address's (and its company's) first."""

    def work() -> list[dict[str, Any]]:
        with offhook_of(request).store.session() as session:
            return projects_for(session, address_id, q)

    return await asyncio.to_thread(work)


@router.get("/companies")
async def api_companies(
    request: Request, user: User_, q: Annotated[str, Query(max_length=100)] = ""
) -> list[dict[str, Any]]:
    """Companies whose name starts with (or contains) `q`, for the address form."""
    if len(q.strip()) < 1:
        return []

    def work() -> list[dict[str, Any]]:
        with offhook_of(request).store.session() as session:
            pattern = f"%{q.strip()}%"
            rows = session.scalars(
                select(Address)
                .where(Address.kind == "company", or_(Address.company_name.ilike(pattern)))
                .order_by(Address.company_name)
                .limit(20)
            )
            return [{"id": a.id, "name": a.company_name, "city": a.city} for a in rows]

    return await asyncio.to_thread(work)


def not_found(what: str) -> HTTPException:
    return HTTPException(404, f"There is no such {what}.")
