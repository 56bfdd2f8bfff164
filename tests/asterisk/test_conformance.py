"""Every public AMI recording, served by a fake manager port over TCP, gives its expected journal.

The recordings and their oracles stay in ../shared/conformance/asterisk/ (see its README); this
test skips when they are absent. Each is replayed through the real driver (its panoramisk-based
connection, framing and mapping) into the test kit's context, and the core's call machine makes
the journal that is compared with `expected.json`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from offhook.calls.events import CallState
from offhook.drivers.asterisk import AsteriskDriver
from offhook.drivers.asterisk.framing import AmiFramer
from offhook.drivers.asterisk.mapping import EVENTS, CallMapper
from offhook.drivers.testing import RecordingContext
from tests.asterisk.fakeami import Chunker, FakeAmi, mid_utf8, one_byte, random_chunks
from tests.asterisk.recordings import CONFORMANCE, Recording, compare, journal, recordings

RECORDINGS = recordings()
if not RECORDINGS:
    pytest.skip(
        "the AMI recordings are not in ../shared/conformance/asterisk", allow_module_level=True
    )


def _cases() -> list[object]:
    cases = []
    for rec in RECORDINGS:
        cases.append(pytest.param(rec, random_chunks(), id=f"{rec.id}-random"))
        if rec.folder == "freepbx-pjsip":  # small enough to send a byte at a time
            cases.append(pytest.param(rec, one_byte, id=f"{rec.id}-1byte"))
    return cases


def _addresses(rec: Recording) -> dict[int, str]:
    tech = "PJSIP" if rec.folder == "freepbx-pjsip" else "SIP"
    return {i + 1: f"{tech}/{name}" for i, name in enumerate(rec.lines())}


async def _replay(rec: Recording, chunker: Chunker) -> RecordingContext:
    fake = FakeAmi(stream=rec.wire(), chunker=chunker)
    await fake.start()
    lines = _addresses(rec)
    context = RecordingContext(
        options={"port": fake.port, "username": fake.username, "secret": fake.secret},
        lines=lines,
    )
    driver = AsteriskDriver(context)
    await driver.start()
    try:
        await context.connected()
        await context.wait_for(fake.streamed.is_set, "the recording sent")
        # The reply to a Ping comes after every byte sent before it: all events are handled.
        assert driver._client is not None
        await driver._client.action({"Action": "Ping"})
    finally:
        await driver.stop()
        await fake.close()
    assert fake.logins == 1 and context.crashes == []
    return context


@pytest.mark.parametrize(("rec", "chunker"), _cases())
async def test_recording_gives_its_journal(rec: Recording, chunker: Chunker) -> None:
    context = await _replay(rec, chunker)
    names = {line_id: address.split("/", 1)[1] for line_id, address in _addresses(rec).items()}
    assert compare(rec, journal(context.events, names)) == []


@pytest.mark.parametrize("rec", RECORDINGS, ids=[r.id for r in RECORDINGS])
def test_nothing_of_a_call_is_kept_once_its_channels_are_gone(rec: Recording) -> None:
    """A PBX connection lives for months: the mapper keeps per-call state only while a
    channel of that call exists."""
    tech = "PJSIP" if rec.folder == "freepbx-pjsip" else "SIP"
    lines = {f"{tech}/{name}".lower(): i for i, name in enumerate(rec.lines(), 1)}
    mapper = CallMapper(lambda endpoint: lines.get(endpoint.lower()))
    for message in AmiFramer(READ).feed(rec.wire()):
        mapper.handle(message.headers, _now())
    live = {c.linkedid for c in mapper.channels.values()}
    bridged = {uid for members in mapper.bridges.values() for uid in members}
    assert bridged <= set(mapper.channels) and all(mapper.bridges.values())
    for kept in (mapper._incoming, mapper._ctd_legs, mapper._ctd_claimed, mapper._leg_count):
        assert set(kept) <= live
    if not mapper.channels:  # the recording ends with every call hung up
        assert not (mapper._incoming or mapper._leg_count or mapper._ctd_claimed)


@pytest.mark.parametrize("rec", RECORDINGS, ids=[r.id for r in RECORDINGS])
def test_framing_does_not_depend_on_where_reads_end(rec: Recording) -> None:
    """The same events whether the bytes come whole, a byte at a time or cut inside UTF-8."""
    wire = rec.wire()

    def events(pieces: list[bytes]) -> list[dict[str, str]]:
        framer = AmiFramer()
        return [m.headers for p in pieces for m in framer.feed(p)]

    whole = events([wire])
    assert len(whole) == wire.count(b"\r\n\r\n")
    if len(wire) < 60_000:  # a byte at a time through pure Python: only the smaller ones
        assert events(list(one_byte(wire))) == whole
    assert events(list(mid_utf8(wire))) == whole


FRAMING = CONFORMANCE / "framing"
#: What the driver's connection reads: the mapper's events and the connection's own.
READ = EVENTS | {"FullyBooted", "Shutdown", "OriginateResponse"}


def _wire_files() -> list[tuple[str, bytes]]:
    """Every recording as sent, plus the framing dialogues (LF only, Asterisk 11 to 18)."""
    found = [(rec.id, rec.wire()) for rec in RECORDINGS]
    found += [(f"framing/{p.name}", p.read_bytes()) for p in sorted(FRAMING.glob("*.ami"))]
    return found


@pytest.mark.parametrize(("name", "wire"), _wire_files(), ids=[n for n, _ in _wire_files()])
def test_events_dropped_on_their_first_line_are_exactly_those_the_driver_does_not_read(
    name: str, wire: bytes
) -> None:
    """The framer that drops unread events early keeps every message the driver reads (its
    events, answers to actions, events answering an action), whatever the chunking."""
    everything = [m.headers for m in AmiFramer().feed(wire)]
    assert everything, name
    kept = [h for h in everything if "Event" not in h or h["Event"] in READ or "ActionID" in h]
    for chunker in (random_chunks(), mid_utf8):
        framer = AmiFramer(READ)
        assert [m.headers for piece in chunker(wire) for m in framer.feed(piece)] == kept


UTF8_CALL = (
    "Event: Newchannel\r\nChannel: PJSIP/trunk-00000001\r\nChannelState: 4\r\n"
    "CallerIDNum: +41446681812\r\nCallerIDName: Müller AG\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\n\r\n"
    "Event: DialBegin\r\nChannel: PJSIP/trunk-00000001\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\n"
    "DestChannel: PJSIP/201-00000002\r\nDestChannelState: 5\r\nDestUniqueid: 1.2\r\n"
    "DestLinkedid: 1.1\r\nDestConnectedLineNum: +41446681812\r\n"
    "DestConnectedLineName: Müller AG — Иван 東京\r\nDestExten: 201\r\n\r\n"
).encode()


@pytest.mark.parametrize("chunker", [one_byte, mid_utf8], ids=["1byte", "mid-utf8"])
async def test_utf8_names_survive_any_cut(chunker: Chunker) -> None:
    fake = FakeAmi(stream=UTF8_CALL, chunker=chunker)
    await fake.start()
    context = RecordingContext(
        options={"port": fake.port, "username": fake.username, "secret": fake.secret},
        lines={1: "201"},
    )
    driver = AsteriskDriver(context)
    await driver.start()
    try:
        call = await context.call(CallState.RINGING)
    finally:
        await driver.stop()
        await fake.close()
    assert call.remote_number == "+41446681812"
    assert call.remote_name == "Müller AG — Иван 東京"


def test_mapper_ignores_events_it_does_not_read() -> None:
    mapper = CallMapper(lambda endpoint: 1)
    assert "VarSet" not in EVENTS
    assert mapper.handle({"Event": "VarSet", "Channel": "PJSIP/201-1"}, _now()) == []


def _now() -> datetime:
    return datetime.now(UTC)
