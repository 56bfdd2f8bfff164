"""Record real baresip 1.0.0 control conversations into `recordings/` for offline tests.

    .venv/bin/python tests/sip/record.py

Each flow runs a fresh baresip with SIPp on loopback and writes one JSON object per line:
`{"event": {…}}` for what baresip reported, `{"command": …, "params": …, "response": {…}}` for
what was asked and answered. `test_sip_mapping.py` replays them; they also show, better than any
description, what baresip says in each flow.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from peers import LOOPBACK, BaresipPeer, Peers, peers

from offhook.drivers.sip.ctrl import BaresipControl

RECORDINGS = Path(__file__).parent / "recordings"
HANS = '"Hans Muster" <sip:+41441234567@127.0.0.1>'


class Recorder:
    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self.control: BaresipControl | None = None
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def on_event(self, event: Any) -> None:
        self.lines.append({"event": dict(event)})
        self._events.put_nowait(dict(event))

    async def run(self, *commands: tuple[str, str | None]) -> list[str]:
        assert self.control is not None
        responses = await self.control.batch(list(commands))
        for (command, params), response in zip(commands, responses, strict=True):
            self.lines.append(
                {
                    "command": command,
                    "params": params,
                    "response": {"ok": response.ok, "data": response.data},
                }
            )
        return [response.data for response in responses]

    async def event(self, kind: str) -> dict[str, Any]:
        while True:
            event = await asyncio.wait_for(self._events.get(), 10)
            if event.get("type") == kind:
                return event


Flow = Callable[[Recorder, BaresipPeer, Peers], Awaitable[None]]


async def incoming_answered_caller_hangs_up(rec: Recorder, alice: BaresipPeer, p: Peers) -> None:
    caller = p.sipp("uac_cid", alice.contact, cid_from=HANS, pause_ms=50)
    call = await rec.event("CALL_INCOMING")
    await rec.run(("callfind", call["id"]), ("accept", None))
    await rec.event("CALL_CLOSED")
    await caller.result()


async def incoming_missed(rec: Recorder, alice: BaresipPeer, p: Peers) -> None:
    caller = p.sipp(
        "uac_cancel",
        alice.contact,
        cid_from='"Müller, Anna" <sip:0441234567@127.0.0.1;user=phone>',
        pause_ms=50,
    )
    await rec.event("CALL_CLOSED")
    await caller.result()


async def incoming_rejected(rec: Recorder, alice: BaresipPeer, p: Peers) -> None:
    caller = p.sipp(
        "uac_reject", alice.contact, cid_from="Anonymous <sip:anonymous@anonymous.invalid>"
    )
    call = await rec.event("CALL_INCOMING")
    await rec.run(("callfind", call["id"]), ("hangup", None))
    await rec.event("CALL_CLOSED")
    await caller.result()


async def outgoing_answered_we_hang_up(rec: Recorder, alice: BaresipPeer, p: Peers) -> None:
    callee = p.sipp("uas_answer")
    await rec.run(("dial", f"sip:+41441234567@{LOOPBACK}:{callee.port}"), ("callstat", None))
    call = await rec.event("CALL_ESTABLISHED")
    await rec.run(("callfind", call["id"]), ("hangup", None))
    await rec.event("CALL_CLOSED")
    await callee.result()


async def outgoing_busy(rec: Recorder, alice: BaresipPeer, p: Peers) -> None:
    callee = p.sipp("uas_busy")
    await rec.run(("dial", f"sip:+41441234567@{LOOPBACK}:{callee.port}"), ("callstat", None))
    await rec.event("CALL_CLOSED")
    await callee.result()


async def outgoing_cancelled(rec: Recorder, alice: BaresipPeer, p: Peers) -> None:
    callee = p.sipp("uas_noanswer")
    await rec.run(("dial", f"sip:+41441234567@{LOOPBACK}:{callee.port}"), ("callstat", None))
    call = await rec.event("CALL_RINGING")
    await rec.run(("callfind", call["id"]), ("hangup", None))
    await rec.event("CALL_CLOSED")
    await callee.result()


async def listing_two_calls(rec: Recorder, alice: BaresipPeer, p: Peers) -> None:
    """What the driver asks after a reconnect, with one call connected and one ringing."""
    first = p.sipp("uac_wait_bye", alice.contact, cid_from=HANS)
    call = await rec.event("CALL_INCOMING")
    await rec.run(("callfind", call["id"]), ("accept", None))
    await rec.event("CALL_ESTABLISHED")
    second = p.sipp("uac_wait_bye", alice.contact, cid_from='"Bert" <sip:+41442222222@127.0.0.1>')
    await rec.event("CALL_INCOMING")
    await rec.run(("reginfo", None))
    (listing,) = await rec.run(("listcalls", None))
    lines = [line.split("]")[0] for line in listing.split("[line ")[1:]]
    await rec.run(*[c for n in lines for c in (("line", n), ("callstat", None))])
    await rec.run(("hangup", None))
    await rec.event("CALL_CLOSED")
    await rec.run(("hangup", None))
    await rec.event("CALL_CLOSED")
    await first.result()
    await second.result()


FLOWS: list[Flow] = [
    incoming_answered_caller_hangs_up,
    incoming_missed,
    incoming_rejected,
    outgoing_answered_we_hang_up,
    outgoing_busy,
    outgoing_cancelled,
    listing_two_calls,
]


async def record(flow: Flow) -> None:
    rec = Recorder()
    with peers(Path(tempfile.mkdtemp(prefix="offhook-record-"))) as group:
        alice = group.baresip("alice")
        rec.control = await BaresipControl.connect(LOOPBACK, alice.ctrl_port, rec.on_event)
        try:
            await flow(rec, alice, group)
        finally:
            await rec.control.close()
    path = RECORDINGS / f"{flow.__name__}.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in rec.lines))
    print(f"{path.name}: {len(rec.lines)} messages")


async def main(names: list[str]) -> None:
    RECORDINGS.mkdir(exist_ok=True)
    for flow in FLOWS:
        if not names or flow.__name__ in names:
            await record(flow)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
