"""AMI channel events → offhook call events, per line. Pure: no I/O, no clock of its own.

Asterisk reports channels, not calls. A call from 201 to 202 is the channel `PJSIP/201-…`
(the caller), a dial to `PJSIP/202-…`, often with `Local/…;1`/`;2` pairs in between (FreePBX
ring groups, follow-me, queues), a bridge, and hang-ups. Every channel of one call carries the
call's `Linkedid`. The mapper keeps a snapshot of each channel and turns what happens to the
channels of *lines* (those whose name starts with a line's endpoint, e.g. `PJSIP/201`) into
`CallEvent`s:

- a line channel that is dialled (`DialBegin` destination, or state Ringing) rings: incoming,
  the remote party is the channel's ConnectedLine (who is calling, as Asterisk presents it);
- a line channel that the phone opened (state Ring) is an outgoing call to the number it
  dialled, reported once it dials (`DialBegin`), is bridged or ends: until then it could still
  turn out to be a pickup of a colleague's ringing call (then it is that incoming call);
- a line channel rung by an `Originate` before any other line of that call is the user's own
  phone in click to dial: an outgoing call;
- the call reference is the Linkedid at the line's first channel, so a ring group or queue
  rings the same reference on several lines and the core ends the others as answered
  elsewhere when one answers;
- transfers (`BlindTransfer`, `AttendedTransfer`) and ConnectedLine updates after the answer
  change who the line talks to (`party_changed`);
- `Hangup` ends the line's call, with the reason from the hang-up cause and the dial status.

Caller numbers and names are text from the network: they are cut to a bounded length here and
`<unknown>` placeholders are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from offhook.calls.events import CallEvent, CallState, Direction, EndReason, HangupSide

#: The events the mapper reads; everything else is dropped before parsing values (a busy PBX
#: sends many more: VarSet, Newexten, RTCP…).
EVENTS = frozenset(
    {
        "Newchannel",
        "Newstate",
        "NewCallerid",
        "NewConnectedLine",
        "Rename",
        "DialBegin",
        "DialEnd",
        "Hangup",
        "BridgeEnter",
        "BridgeLeave",
        "BlindTransfer",
        "AttendedTransfer",
        "Pickup",
        "LocalBridge",
    }
)

UP, RING, RINGING = 6, 4, 5
MAX_TEXT = 200
#: ConnectedLine and CallerID values that mean "nothing".
_PLACEHOLDERS = {"", "<unknown>", "unknown", "<null>"}
# Hang-up causes (Q.850) that matter here.
_CAUSE_ANSWERED_ELSEWHERE = 26
_CAUSE_BUSY = 17
_CAUSE_REJECTED = 21


def clean(value: str) -> str:
    """A number or name as shown: placeholders dropped, control characters out, bounded."""
    value = value.strip()[:MAX_TEXT]
    if value.lower() in _PLACEHOLDERS:
        return ""
    if value.isprintable():  # nearly always: no character by character walk
        return value
    return "".join(ch for ch in value if ch.isprintable())


def endpoint_of(channel: str) -> str:
    """`PJSIP/201-0000001a` → `PJSIP/201`; Local channels keep their whole name."""
    if channel.startswith("Local/"):
        return channel
    base, dash, suffix = channel.rpartition("-")
    return (
        base if dash and suffix and all(c in "0123456789abcdefABCDEF" for c in suffix) else channel
    )


@dataclass
class Leg:
    """One line's part in one call."""

    line_id: int
    ref: str
    direction: Direction | None  # None: an outgoing channel not yet known to be a call
    dialled: str = ""
    remote_number: str = ""
    remote_name: str = ""
    state: CallState | None = None
    dial_status: str = ""
    dial_ref: str | None = None
    #: Click to dial: the user's phone was rung first; connected once the far end answers.
    ctd: bool = False
    #: A blind transfer's target: the party once the transferred call is bridged again.
    pending_party: str = ""
    #: Another line picked this ringing call up: it was answered elsewhere, whatever hang-up
    #: cause Asterisk gives (26 after PickupChan(), 16 after features.conf's pickupexten).
    taken: bool = False


@dataclass
class Channel:
    uniqueid: str
    name: str
    linkedid: str
    line_id: int | None
    state: int = 0
    cid_num: str = ""
    cid_name: str = ""
    cl_num: str = ""
    cl_name: str = ""
    exten: str = ""
    originated: bool = False
    dialled: bool = False
    bridge: str | None = None
    #: Every bridge the channel was in, and who dialled it: transfers are read from these.
    bridges_seen: list[str] = field(default_factory=list)
    dialled_by: str = ""
    leg: Leg | None = None


@dataclass
class CallMapper:
    """Feed it AMI events in order; it returns the call events they mean."""

    #: The line of a channel's endpoint (`PJSIP/201`), if it is one.
    line_of: Callable[[str], int | None]
    channels: dict[str, Channel] = field(default_factory=dict)
    bridges: dict[str, set[str]] = field(default_factory=dict)
    #: Calls (Linkedids) whose originate already rang a line: later lines are called parties.
    _ctd_claimed: set[str] = field(default_factory=set)
    #: How many legs each line had in each call (Linkedid), for a new reference when one
    #: rings again.
    _leg_count: dict[str, dict[int, int]] = field(default_factory=dict)
    #: Originates offhook started: channel uniqueid → (dial_ref, number).
    pending_dials: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: Click-to-dial legs by Linkedid, and the dials to their destinations by channel.
    _ctd_legs: dict[str, Leg] = field(default_factory=dict)
    _ctd_dials: dict[str, Leg] = field(default_factory=dict)
    #: Incoming legs by Linkedid, for a pickup to find the call it takes.
    _incoming: dict[str, Leg] = field(default_factory=dict)

    # --- entry point ----------------------------------------------------------------------------

    def handle(self, msg: Mapping[str, str], at: datetime) -> list[CallEvent]:
        kind = msg.get("Event", "")
        out: list[CallEvent] = []
        self._adopted(msg, at, out)
        if kind == "DialBegin":
            self._dial_begin(msg, at, out)
        elif kind == "DialEnd":
            self._dial_end(msg, at, out)
        elif kind == "Hangup":
            self._hangup(msg, at, out)
        elif kind == "BridgeEnter":
            self._bridge_enter(msg, at, out)
        elif kind == "BridgeLeave":
            chan = self._snapshot(msg)
            if chan is not None:
                self._leave_bridge(chan, msg.get("BridgeUniqueid", ""))
        elif kind == "BlindTransfer":
            self._blind_transfer(msg, at, out)
        elif kind == "AttendedTransfer":
            self._attended_transfer(msg, at, out)
        elif kind == "Pickup":
            self._pickup(msg, at, out)
        elif kind == "LocalBridge":
            one = self._by_name(msg.get("LocalOneChannel", ""))
            two = self._by_name(msg.get("LocalTwoChannel", ""))
            if one is not None and two is not None and one.originated:
                two.originated = True
        elif kind in EVENTS:
            chan = self._snapshot(msg)
            if chan is not None:
                self._progress(chan, at, out)
        return out

    def _adopted(self, msg: Mapping[str, str], at: datetime, out: list[CallEvent]) -> None:
        """A channel the phone opened that joins another call's Linkedid picked that call up."""
        chan = self.channels.get(msg.get("Uniqueid", ""))
        linkedid = msg.get("Linkedid", "")
        if chan is None or not linkedid or linkedid == chan.linkedid:
            return
        chan.linkedid = linkedid
        target = self._incoming.get(linkedid)
        if chan.leg is not None and chan.leg.direction is None and target is not None:
            self._picked_up(chan, target, at, out)

    # --- channel snapshots ----------------------------------------------------------------------

    def _snapshot(self, msg: Mapping[str, str], prefix: str = "") -> Channel | None:
        uid = msg.get(prefix + "Uniqueid", "")
        name = msg.get(prefix + "Channel", "")
        if not uid or not name:
            return None
        chan = self.channels.get(uid)
        if chan is None:
            chan = Channel(
                uid,
                name,
                msg.get(prefix + "Linkedid", "") or uid,
                self.line_of(endpoint_of(name)),
            )
            self.channels[uid] = chan
            if name.endswith(";2"):
                one = self._by_name(name[:-1] + "1")
                if one is not None and one.originated:
                    chan.originated = True
        chan.name = name
        chan.linkedid = msg.get(prefix + "Linkedid", "") or chan.linkedid
        state = msg.get(prefix + "ChannelState", "")
        if state.isdigit():
            chan.state = int(state)
        for attr, key in (
            ("cid_num", "CallerIDNum"),
            ("cid_name", "CallerIDName"),
            ("cl_num", "ConnectedLineNum"),
            ("cl_name", "ConnectedLineName"),
        ):
            if prefix + key in msg:
                setattr(chan, attr, clean(msg[prefix + key]))
        exten = clean(msg.get(prefix + "Exten", ""))
        if exten and exten not in ("s", "h", "onhangup", "hangup"):
            chan.exten = exten
        return chan

    def _by_name(self, name: str) -> Channel | None:
        return next((c for c in self.channels.values() if c.name == name), None)

    # --- legs -----------------------------------------------------------------------------------

    def _new_leg(self, chan: Channel, direction: Direction | None) -> Leg:
        assert chan.line_id is not None
        counts = self._leg_count.setdefault(chan.linkedid, {})
        count = counts.get(chan.line_id, 0) + 1
        counts[chan.line_id] = count
        ref = chan.linkedid if count == 1 else f"{chan.linkedid}/{count}"
        chan.leg = Leg(chan.line_id, ref, direction)
        pending = self.pending_dials.pop(chan.uniqueid, None)
        if pending is not None:
            chan.leg.dial_ref, chan.leg.dialled = pending
            chan.leg.direction = Direction.OUTGOING
            chan.leg.remote_number = pending[1]
        return chan.leg

    def _emit(
        self,
        leg: Leg,
        state: CallState,
        at: datetime,
        out: list[CallEvent],
        reason: EndReason | None = None,
        party_changed: bool = False,
        hangup_by: HangupSide | None = None,
    ) -> None:
        assert leg.direction is not None
        out.append(
            CallEvent(
                line_id=leg.line_id,
                call_ref=leg.ref,
                direction=leg.direction,
                state=state,
                at=at,
                remote_number=leg.remote_number,
                remote_name=leg.remote_name,
                end_reason=reason,
                hangup_by=hangup_by,
                dial_ref=leg.dial_ref,
                party_changed=party_changed,
            )
        )
        if leg.state is None or state.rank > leg.state.rank:
            leg.state = state

    def _ring(self, chan: Channel, at: datetime, out: list[CallEvent]) -> None:
        """A line channel is being rung."""
        if chan.leg is not None or chan.line_id is None:
            return
        ours = chan.uniqueid in self.pending_dials
        if ours or (chan.originated and chan.linkedid not in self._ctd_claimed):
            # Click to dial: the user's own phone is rung first.
            self._ctd_claimed.add(chan.linkedid)
            leg = self._new_leg(chan, Direction.OUTGOING)
            leg.ctd = True
            self._ctd_legs[chan.linkedid] = leg
            self._emit(leg, CallState.DIALLING, at, out)
            return
        self._ctd_claimed.add(chan.linkedid)
        leg = self._new_leg(chan, Direction.INCOMING)
        leg.remote_number, leg.remote_name = chan.cl_num, chan.cl_name
        self._incoming.setdefault(chan.linkedid, leg)
        self._emit(leg, CallState.RINGING, at, out)

    def _start_outgoing(self, chan: Channel, at: datetime, out: list[CallEvent]) -> Leg:
        leg = chan.leg if chan.leg is not None else self._new_leg(chan, None)
        if leg.direction is None:
            leg.direction = Direction.OUTGOING
            leg.dialled = leg.dialled or chan.exten
            leg.remote_number = leg.dialled
            self._emit(leg, CallState.DIALLING, at, out)
        return leg

    def _connect(self, chan: Channel, at: datetime, out: list[CallEvent]) -> None:
        leg = chan.leg
        if (
            leg is None
            or leg.direction is None
            or leg.state in (CallState.CONNECTED, CallState.ENDED)
        ):
            return
        self._name_outgoing(chan, leg)
        self._emit(leg, CallState.CONNECTED, at, out)

    def _name_outgoing(self, chan: Channel, leg: Leg) -> None:
        """An outgoing call's remote name: what Asterisk presents for the dialled number."""
        outgoing = leg.direction is Direction.OUTGOING and not leg.remote_name
        if outgoing and chan.cl_name and chan.cl_num and chan.cl_num == leg.remote_number:
            leg.remote_name = chan.cl_name

    def _progress(self, chan: Channel, at: datetime, out: list[CallEvent]) -> None:
        if chan.line_id is None:
            return
        if chan.leg is None:
            if chan.state == RING and not chan.originated:
                # The phone dials: wait and see what it becomes; keep the digits it sent.
                self._new_leg(chan, None).dialled = chan.exten
            elif chan.state == RINGING or (
                chan.state == UP and (chan.dialled or chan.uniqueid in self.pending_dials)
            ):
                self._ring(chan, at, out)
        leg = chan.leg
        if leg is None or leg.direction is None:
            return
        if chan.state == UP and leg.direction is Direction.INCOMING:
            self._connect(chan, at, out)
        elif leg.state is CallState.CONNECTED:
            self._party_from_connected_line(chan, leg, at, out)

    def _party_from_connected_line(
        self, chan: Channel, leg: Leg, at: datetime, out: list[CallEvent]
    ) -> None:
        """After the answer, a new ConnectedLine means a new party (transfer, pickup)."""
        num, name = chan.cl_num, chan.cl_name
        if not num or num in (chan.cid_num, leg.remote_number) or leg.ctd:
            if num and num == leg.remote_number and name and not leg.remote_name:
                leg.remote_name = name
                self._emit(leg, CallState.CONNECTED, at, out)
            return
        leg.remote_number, leg.remote_name = num, name
        self._emit(leg, CallState.CONNECTED, at, out, party_changed=True)

    # --- events ---------------------------------------------------------------------------------

    def _dial_begin(self, msg: Mapping[str, str], at: datetime, out: list[CallEvent]) -> None:
        caller = self._snapshot(msg)
        dest = self._snapshot(msg, "Dest")
        if dest is None:
            return
        dest.dialled = True
        if caller is not None:
            dest.dialled_by = caller.uniqueid
        if (caller is None or caller.originated) and dest.linkedid not in self._ctd_claimed:
            dest.originated = True
            if dest.name.endswith(";1") and (two := self._by_name(dest.name[:-1] + "2")):
                two.originated = True
        ctd = self._ctd_legs.get(dest.linkedid)
        if (
            ctd is not None
            and dest.line_id is None
            and ctd.state is not CallState.ENDED
            and (not ctd.remote_number or ctd.remote_number == ctd.dialled)
        ):
            # The click-to-dial call now dials its destination.
            ctd.remote_number = ctd.remote_number or _dialled_number(dest)
            self._ctd_dials[dest.uniqueid] = ctd
            if ctd.remote_number:
                self._emit(ctd, ctd.state or CallState.DIALLING, at, out)
        if caller is not None and caller.line_id is not None:
            leg = caller.leg
            if leg is None or leg.direction is None:
                self._start_outgoing(caller, at, out)
        # A phone that is dialled but never rings (unreachable, DND) gets no entry.
        self._progress(dest, at, out)

    def _dial_end(self, msg: Mapping[str, str], at: datetime, out: list[CallEvent]) -> None:
        caller = self._snapshot(msg)
        dest = self._snapshot(msg, "Dest")
        status = msg.get("DialStatus", "").upper()
        if dest is not None and dest.leg is not None:
            dest.leg.dial_status = status
        ctd = self._ctd_dials.pop(dest.uniqueid, None) if dest is not None else None
        if ctd is not None and ctd.state is not CallState.ENDED:
            ctd.dial_status = status
            if status == "ANSWER":
                self._emit(ctd, CallState.CONNECTED, at, out)
        if caller is not None and caller.leg is not None and caller.leg.direction is not None:
            caller.leg.dial_status = status
            if status == "ANSWER" and caller.leg.direction is Direction.OUTGOING:
                self._connect(caller, at, out)

    def _hangup(self, msg: Mapping[str, str], at: datetime, out: list[CallEvent]) -> None:
        chan = self._snapshot(msg)
        if chan is None:
            return
        self.channels.pop(chan.uniqueid, None)
        if chan.bridge is not None:
            self._leave_bridge(chan, chan.bridge)
        self.pending_dials.pop(chan.uniqueid, None)
        self._forget_ended_calls()
        leg = chan.leg
        if leg is None or leg.state is CallState.ENDED:
            return
        if leg.direction is None:
            self._start_outgoing(chan, at, out)
        cause = msg.get("Cause", "")
        code = int(cause) if cause.isdigit() else 0
        reason: EndReason | None = None
        if leg.state is not CallState.CONNECTED:
            reason = _end_reason(leg, code, chan.state)
            self._name_outgoing(chan, leg)
        self._emit(leg, CallState.ENDED, at, out, reason=reason)

    def _bridge_enter(self, msg: Mapping[str, str], at: datetime, out: list[CallEvent]) -> None:
        chan = self._snapshot(msg)
        bridge = msg.get("BridgeUniqueid", "")
        if chan is None or not bridge:
            return
        members = self.bridges.setdefault(bridge, set())
        swap = msg.get("SwapUniqueid", "")
        if swap:
            members.discard(swap)
        members.add(chan.uniqueid)
        chan.bridge = bridge
        chan.bridges_seen.append(bridge)
        if chan.line_id is None:
            return
        pending = chan.leg.pending_party if chan.leg is not None else ""
        if pending and len(members) > 1:
            assert chan.leg is not None
            chan.leg.pending_party = ""
            self._change_party(chan, pending, "", at, out)
        leg = chan.leg
        if leg is not None and leg.direction is None:
            target = self._ringing_leg_in(self._peers(chan))
            if target is not None:
                self._picked_up(chan, target, at, out)
                return
            if len(members) < 2:
                return  # a holding bridge (as during a pickup): nobody to talk to yet
            self._start_outgoing(chan, at, out)
        if chan.leg is not None and not chan.leg.ctd and chan.state == UP and len(members) > 1:
            self._connect(chan, at, out)

    def _leave_bridge(self, chan: Channel, bridge: str) -> None:
        members = self.bridges.get(bridge)
        if members is not None:
            members.discard(chan.uniqueid)
            if not members:
                del self.bridges[bridge]
        if chan.bridge == bridge:
            chan.bridge = None

    def _forget_ended_calls(self) -> None:
        """What was kept per call, for calls none of whose channels exist any more (a channel
        may have moved to another call's Linkedid meanwhile): a PBX connection lives for
        months, and nothing can join or pick up such a call. As cheap as the live channels
        are many."""
        live = {c.linkedid for c in self.channels.values()}
        kept = {*self._incoming, *self._ctd_legs, *self._ctd_claimed, *self._leg_count}
        for linkedid in kept - live:
            self._incoming.pop(linkedid, None)
            self._ctd_legs.pop(linkedid, None)
            self._ctd_claimed.discard(linkedid)
            self._leg_count.pop(linkedid, None)

    def _peers(self, chan: Channel) -> list[Channel]:
        """The channels bridged with `chan`, looking through Local pairs."""
        found: list[Channel] = []
        seen = {chan.uniqueid}
        todo = [chan]
        while todo:
            here = todo.pop()
            if here.bridge is None:
                continue
            for uid in self.bridges.get(here.bridge, ()):
                if uid in seen or (other := self.channels.get(uid)) is None:
                    continue
                seen.add(uid)
                if other.name.startswith("Local/") and other.name[-2:] in (";1", ";2"):
                    partner = self._by_name(
                        other.name[:-1] + ("2" if other.name[-1] == "1" else "1")
                    )
                    if partner is not None and partner.uniqueid not in seen:
                        seen.add(partner.uniqueid)
                        todo.append(partner)
                else:
                    found.append(other)
        return found

    def _ringing_leg_in(self, peers: Iterable[Channel]) -> Leg | None:
        """A line's incoming leg still ringing in the call of one of `peers` (being picked up)."""
        linkedids = {p.linkedid for p in peers}
        for other in self.channels.values():
            leg = other.leg
            if (
                leg is not None
                and leg.direction is Direction.INCOMING
                and leg.state is CallState.RINGING
                and other.linkedid in linkedids
            ):
                return leg
        return None

    def _picked_up(self, chan: Channel, target: Leg, at: datetime, out: list[CallEvent]) -> None:
        """`chan`'s line took over `target`'s ringing call: an incoming call, answered here."""
        assert chan.line_id is not None and chan.leg is not None
        target.taken = True
        chan.leg.direction = Direction.INCOMING
        chan.leg.ref = target.ref
        chan.leg.remote_number = target.remote_number
        # A name only as Asterisk presents it on this line's own channel.
        same = chan.cl_num == target.remote_number
        chan.leg.remote_name = chan.cl_name if same else ""
        self._emit(chan.leg, CallState.RINGING, at, out)
        self._emit(chan.leg, CallState.CONNECTED, at, out)

    def _pickup(self, msg: Mapping[str, str], at: datetime, out: list[CallEvent]) -> None:
        chan = self._snapshot(msg)
        target = self._snapshot(msg, "Target")
        if chan is None or target is None or chan.line_id is None:
            return
        if chan.leg is None:
            self._new_leg(chan, None)
        if chan.leg is not None and chan.leg.direction is None and target.leg is not None:
            self._picked_up(chan, target.leg, at, out)

    def _blind_transfer(self, msg: Mapping[str, str], at: datetime, out: list[CallEvent]) -> None:
        transferee = self._snapshot(msg, "Transferee")
        transferer = self._snapshot(msg, "Transferer")
        target = clean(msg.get("Extension", ""))
        if msg.get("Result", "Success") != "Success" or transferee is None or not target:
            return
        for chan in [transferee, *self._line_peers(transferee)]:
            if transferer is not None and chan.uniqueid == transferer.uniqueid:
                continue
            if chan.leg is not None and chan.leg.state is CallState.CONNECTED:
                # Only once the transferred call is bridged again: a target that never
                # answers leaves the line with the party it had.
                chan.leg.pending_party = target

    def _attended_transfer(
        self, msg: Mapping[str, str], at: datetime, out: list[CallEvent]
    ) -> None:
        if msg.get("Result", "Success") != "Success":
            return
        first = self._snapshot(msg, "OrigTransferer")
        second = self._snapshot(msg, "SecondTransferer")
        if first is None or second is None or first.leg is None or second.leg is None:
            return
        orig_bridge = msg.get("OrigBridgeUniqueid", "")
        second_bridge = msg.get("SecondBridgeUniqueid", "")
        transferers = {first.uniqueid, second.uniqueid}

        # The transferee talked to the transferer in the first bridge (it may have moved on
        # by now); the target is in the second bridge, or still being dialled (blonde).
        def first_seen(chan: Channel) -> str:
            """Which of the two bridges the channel was in first (it may be in both now)."""
            return next((b for b in chan.bridges_seen if b in (orig_bridge, second_bridge)), "")

        others = [c for c in self.channels.values() if c.uniqueid not in transferers]
        transferee_side = [c for c in others if orig_bridge and first_seen(c) == orig_bridge]
        target_side = [c for c in others if second_bridge and first_seen(c) == second_bridge]
        # Newer Asterisk names both; older ones only the transferers and bridges.
        named_transferee = self._snapshot(msg, "Transferee")
        named_target = self._snapshot(msg, "TransferTarget")
        if named_transferee is not None:
            transferee_side = [named_transferee]
        if named_target is not None:
            target_side = [named_target]
        target_side += self._dialled_from(second)
        for chan in self._lines_behind(transferee_side, transferers):
            self._change_party(chan, second.leg.remote_number, "", at, out)
        # The target now talks to the transferee: as Asterisk presents an outside party (a
        # trunk's caller ID, e.g. +31260010001), not as the transferer dialled it (0260010001).
        transferee_number = _outside_number(transferee_side) or first.leg.remote_number
        for chan in self._lines_behind(target_side, transferers):
            self._change_party(chan, transferee_number, "", at, out)

    def _dialled_from(self, chan: Channel) -> list[Channel]:
        """The channels `chan` is dialling, through Local pairs."""
        found: list[Channel] = []
        callers = {chan.uniqueid}
        grew = True
        while grew:
            grew = False
            for other in self.channels.values():
                if other.dialled_by in callers and other.uniqueid not in callers:
                    callers.add(other.uniqueid)
                    found.append(other)
                    grew = True
                    two = (
                        self._by_name(other.name[:-1] + "2") if other.name.endswith(";1") else None
                    )
                    if two is not None:
                        callers.add(two.uniqueid)
        return found

    def _lines_behind(self, side: Iterable[Channel], exclude: set[str]) -> list[Channel]:
        """The line channels a transfer party stands for.

        A Local half stands for what is bridged behind its partner (its own bridge may already
        hold the other side of the transfer, as with a click-to-dial call's `;1`).
        """
        lines: dict[str, Channel] = {}
        for chan in side:
            partner = self._local_partner(chan) if chan.line_id is None else None
            if chan.line_id is not None:
                candidates = [chan]
            elif partner is not None:
                candidates = [partner] if partner.line_id is not None else self._peers(partner)
            else:
                candidates = self._peers(chan)
            for c in candidates:
                if c.line_id is not None and c.uniqueid not in exclude:
                    lines[c.uniqueid] = c
        return list(lines.values())

    def _local_partner(self, chan: Channel) -> Channel | None:
        """The other half of a Local channel pair (`;1` ↔ `;2`), if it still exists."""
        if not chan.name.startswith("Local/") or chan.name[-2:] not in (";1", ";2"):
            return None
        return self._by_name(chan.name[:-1] + ("2" if chan.name[-1] == "1" else "1"))

    def _line_peers(self, chan: Channel) -> list[Channel]:
        return [p for p in self._peers(chan) if p.line_id is not None]

    def _change_party(
        self, chan: Channel, number: str, name: str, at: datetime, out: list[CallEvent]
    ) -> None:
        leg = chan.leg
        if leg is None or leg.direction is None or not number or number == leg.remote_number:
            return
        if leg.state is CallState.ENDED:
            return
        leg.remote_number, leg.remote_name = number, name
        self._emit(leg, leg.state or CallState.CONNECTED, at, out, party_changed=True)

    # --- reconciliation -------------------------------------------------------------------------

    def reconcile(
        self,
        listing: Iterable[Mapping[str, str]],
        at: datetime,
        known_before: Iterable[str] | None = None,
    ) -> tuple[list[CallEvent], set[str]]:
        """After a (re)connect: the channels Asterisk has now (CoreShowChannel events).

        `known_before`: the channels known when the listing was asked for (events keep coming
        while it is on its way). Those not listed are forgotten; line channels we did not know
        get a leg from what the listing says. Returns the events to report and every live
        call reference.
        """
        present: dict[str, Mapping[str, str]] = {m.get("Uniqueid", ""): m for m in listing}
        # Channels first heard of after the listing was asked for are newer than it: kept.
        before = set(self.channels if known_before is None else known_before)
        for uid in list(self.channels):
            if uid not in present and uid in before:
                gone = self.channels.pop(uid)
                if gone.bridge is not None:
                    self._leave_bridge(gone, gone.bridge)
        out: list[CallEvent] = []
        for uid, entry in present.items():
            if not uid:
                continue
            known = uid in self.channels
            chan = self._snapshot(entry)
            if chan is None:
                continue
            bridge = entry.get("BridgeId", "")
            if bridge:
                chan.bridge = bridge
                self.bridges.setdefault(bridge, set()).add(uid)
            if chan.line_id is None or known:
                continue
            app = entry.get("Application", "")
            if app == "AppDial" or chan.state == RINGING:
                chan.dialled = True
                self._ring(chan, at, out)
            else:
                self._start_outgoing(chan, at, out)
            if chan.state == UP:
                self._connect(chan, at, out)
        self._forget_ended_calls()
        live = {c.leg.ref for c in self.channels.values() if c.leg is not None}
        return out, live


def _dialled_number(chan: Channel) -> str:
    """The number a dial goes to: a Local channel's extension is in its name."""
    if chan.name.startswith("Local/"):
        return clean(chan.name[len("Local/") :].split("@", 1)[0])
    return chan.exten or chan.cid_num


def _outside_number(side: Iterable[Channel]) -> str:
    """The caller ID of the outside channel (a trunk: neither a line nor Local) on one side."""
    for chan in side:
        if chan.line_id is None and not chan.name.startswith("Local/") and chan.cid_num:
            return chan.cid_num
    return ""


def _end_reason(leg: Leg, cause: int, channel_state: int) -> EndReason | None:
    if leg.direction is Direction.INCOMING:
        if cause == _CAUSE_ANSWERED_ELSEWHERE or leg.taken:
            return EndReason.ANSWERED_ELSEWHERE
        if cause in (_CAUSE_BUSY, _CAUSE_REJECTED) and channel_state == RINGING:
            return EndReason.REJECTED
        return EndReason.MISSED
    status = leg.dial_status
    if status == "BUSY" or cause == _CAUSE_BUSY:
        return EndReason.BUSY
    if status in ("CONGESTION", "CHANUNAVAIL"):
        return EndReason.FAILED
    return EndReason.CANCELLED
