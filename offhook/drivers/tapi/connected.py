"""The agents connected to this server process, by token id: revoking a token through this
server closes its agents at once (another process notices within `web.TOKEN_RECHECK`)."""

from __future__ import annotations

import contextlib

from offhook.drivers.tapi.driver import AgentLink
from offhook.drivers.tapi.protocol import CloseCode

_by_token: dict[int, set[AgentLink]] = {}


def add(link: AgentLink) -> None:
    _by_token.setdefault(link.grant.token_id, set()).add(link)


def remove(link: AgentLink) -> None:
    links = _by_token.get(link.grant.token_id)
    if links is not None:
        links.discard(link)
        if not links:
            del _by_token[link.grant.token_id]


async def disconnect_token(token_id: int) -> None:
    for link in list(_by_token.pop(token_id, ())):
        with contextlib.suppress(Exception):  # already gone is fine
            await link.close(CloseCode.REFUSED, "this agent token was revoked")
