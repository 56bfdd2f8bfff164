"""Agent tokens: what lets an agent on a PC serve some lines of one phone system.

An agent (the TAPI agent, `agent/` in the repository) connects out to offhook and reports the
calls of lines that only its PC can see. Its token names one phone system and the lines it may
serve; an admin may grant any line of the phone system, a user only their own. Only a hash is
stored; revoking deletes the row, and the agent's connection is refused from then on.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from offhook.store.models import AgentToken, Line, PhoneSystem, User

AGENT_TOKEN_PREFIX = "ohka_"  # noqa: S105 - marks offhook agent tokens, not a secret


class AgentTokenError(ValueError):
    """Bad input for an agent token; the message is for the user."""


@dataclass(frozen=True, slots=True)
class AgentGrant:
    """What a valid agent token allows."""

    token_id: int
    phone_system_id: int
    line_ids: frozenset[int]
    name: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_agent_token(
    session: Session, user: User, phone_system_id: int, line_ids: Collection[int], name: str = ""
) -> str:
    """A new agent token for these lines of the phone system; shown once, only its hash kept."""
    system = session.get(PhoneSystem, phone_system_id)
    if system is None:
        raise AgentTokenError("there is no such phone system")
    wanted = set(line_ids)
    if not wanted:
        raise AgentTokenError("name at least one line the agent may serve")
    lines = session.scalars(select(Line).where(Line.id.in_(wanted))).all()
    found = {line.id: line for line in lines if line.phone_system_id == phone_system_id}
    if missing := sorted(wanted - set(found)):
        raise AgentTokenError(f"not lines of {system.name}: {', '.join(str(i) for i in missing)}")
    if not user.is_admin and any(line.user_id != user.id for line in found.values()):
        raise AgentTokenError("you may only let an agent serve your own lines")
    token = AGENT_TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        AgentToken(
            phone_system_id=phone_system_id,
            user_id=user.id,
            name=name.strip()[:200],
            token_hash=_hash(token),
            line_ids=sorted(wanted),
        )
    )
    session.flush()
    return token


def agent_grant(session: Session, token: str) -> AgentGrant | None:
    """What the token allows, or None for an unknown, revoked or malformed one."""
    if not token.startswith(AGENT_TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.scalar(select(AgentToken).where(AgentToken.token_hash == _hash(token)))
    if row is None or not row.user.active:
        return None
    now = datetime.now(UTC)
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        row.last_used_at = now
    return AgentGrant(row.id, row.phone_system_id, frozenset(row.line_ids or ()), row.name)


def agent_token_valid(session: Session, token_id: int) -> bool:
    """Whether the token still exists (its agent is disconnected as soon as it does not)."""
    row = session.get(AgentToken, token_id)
    return row is not None and row.user.active


def agent_tokens(
    session: Session, user: User, phone_system_id: int | None = None
) -> list[AgentToken]:
    """The agent tokens a user may see: an admin all, a user those they created."""
    query = select(AgentToken).order_by(AgentToken.created_at, AgentToken.id)
    if phone_system_id is not None:
        query = query.where(AgentToken.phone_system_id == phone_system_id)
    if not user.is_admin:
        query = query.where(AgentToken.user_id == user.id)
    return list(session.scalars(query))


def revoke_agent_token(session: Session, user: User, token_id: int) -> None:
    """Revoke a token: an admin any, a user their own (another's answers as if none)."""
    row = session.get(AgentToken, token_id)
    if row is None or (not user.is_admin and row.user_id != user.id):
        raise AgentTokenError("no such agent token")
    session.delete(row)
    session.flush()
