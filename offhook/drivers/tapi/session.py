"""One agent's session with the driver, whichever way its messages come: its own WebSocket on
this server, or a tunnel from the server it connected to (several servers: the reverse proxy
chose one that does not run the phone system, see `web`).

The hello first (within `HELLO_TIMEOUT`), then every message in the order the agent sent it;
the session ends when the agent goes, is silent for three heartbeats, or the driver closes it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from pydantic import ValidationError

from offhook.drivers.tapi import connected
from offhook.drivers.tapi.driver import AgentLink, TapiDriver
from offhook.drivers.tapi.protocol import (
    KNOWN_TYPES,
    MAX_MESSAGE,
    CloseCode,
    Hello,
    agent_message,
)

log = logging.getLogger(__name__)

#: How long an agent has for its hello.
HELLO_TIMEOUT = 10.0

#: The agent's next message as text, waiting at most the given seconds (`TimeoutError`);
#: `AgentGone` once it is gone.
Receive = Callable[[float], Awaitable[str]]


class AgentGone(Exception):
    """The agent's connection ended."""


async def serve_agent(driver: TapiDriver, link: AgentLink, receive: Receive) -> None:
    try:
        hello = await _hello(receive)
    except (TimeoutError, ValueError, ValidationError):
        await link.close(CloseCode.BAD_HELLO, "the first message must be a valid hello")
        return
    except AgentGone:
        return
    grant = link.grant
    log.info(
        "agent %r (token %s) connected with %d lines", hello.agent, grant.token_id, len(hello.lines)
    )
    connected.add(link)
    try:
        await driver.attach(link, hello)
        await _serve(receive, driver, link)
    except AgentGone:
        pass
    finally:
        driver.detach(link)
        connected.remove(link)
        await link.close(CloseCode.STOPPING, "")
        log.info("agent %r (token %s) disconnected", hello.agent, grant.token_id)


async def _hello(receive: Receive) -> Hello:
    text = await receive(HELLO_TIMEOUT)
    if len(text) > MAX_MESSAGE:
        raise ValueError("too long")
    return Hello.model_validate_json(text)


async def _serve(receive: Receive, driver: TapiDriver, link: AgentLink) -> None:
    silent_after = 3 * driver.heartbeat
    while not link.closed:
        try:
            text = await receive(silent_after)
        except TimeoutError:
            await link.close(CloseCode.SILENT, "nothing heard for three heartbeats")
            return
        if len(text) > MAX_MESSAGE:
            await link.close(1009, "message too long")
            return
        try:
            raw = json.loads(text)
            kind = raw.get("type") if isinstance(raw, dict) else None
            if kind not in KNOWN_TYPES or kind == "hello":
                continue  # a newer agent's message: not for this server
            message = agent_message.validate_python(raw)
        except (ValueError, ValidationError) as exc:
            # One bad message is the agent's bug, not a reason to drop its lines.
            await link.send({"type": "error", "error": str(exc)[:500]})
            continue
        assert not isinstance(message, Hello)
        await driver.on_message(link, message)
