"""Projects as the journal offers them: the caller's own projects first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from offhook.store.models import Address, Project

LIMIT = 50


def projects_for(session: Session, address_id: int | None, q: str = "") -> list[dict[str, Any]]:
    """Active projects; those of the address (or of its company) first, then all others."""
    owners: list[int] = []
    if address_id is not None:
        address = session.get(Address, address_id)
        if address is not None:
            owners = [address.id] + ([address.company_id] if address.company_id else [])
    query = select(Project).where(Project.active.is_(True))
    if q.strip():
        pattern = f"%{q.strip()}%"
        query = query.where(or_(Project.code.ilike(pattern), Project.description.ilike(pattern)))
    own = case((Project.customer_id.in_(owners), 0), else_=1) if owners else None
    query = query.order_by(own, Project.code) if own is not None else query.order_by(Project.code)
    return [
        {
            "id": project.id,
            "code": project.code,
            "description": project.description,
            "own": project.customer_id in owners,
        }
        for project in session.scalars(query.limit(LIMIT))
    ]
