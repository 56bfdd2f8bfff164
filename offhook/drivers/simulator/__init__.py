"""The `simulator` driver: a made-up phone system with extensions and ring groups (`driver`),
its HTTP API (`web`), its command (`cli`) and the demo's "Simulate call" strip (`static`)."""

from offhook.drivers.simulator.driver import Outcome, SimulatedCall, SimulatorDriver

__all__ = ["Outcome", "SimulatedCall", "SimulatorDriver"]
