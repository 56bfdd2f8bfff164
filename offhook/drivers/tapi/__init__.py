"""The `tapi` line driver: Windows TAPI lines, brought by the offhook agent (see `driver`).

Layers, one module each: `protocol` (the agent's messages, checked), `driver` (agents and
lines), `web` (the agent's WebSocket endpoint and the agent-token pages), `cli` (`offhook tapi
…`). The agent itself is a package of its own in `agent/` of the repository.
"""

from offhook.drivers.tapi.driver import TapiDriver

__all__ = ["TapiDriver"]
