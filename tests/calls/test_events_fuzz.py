"""Fuzzing the call-event path (issue 8, deliverable 6): events with absurd fields (huge
numbers, names and references, any text) are recorded without a crash, and what is stored
stays bounded. Run longer for a release check with OFFHOOK_FUZZ_EXAMPLES (see
tests/sip/test_sip_fuzz.py)."""

from __future__ import annotations

import itertools
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offhook.calls.events import CallEvent, CallState, Direction
from offhook.calls.recorder import record
from offhook.store import Store
from offhook.store.models import Call
from tests import factories

EXAMPLES = int(os.environ.get("OFFHOOK_FUZZ_EXAMPLES", "60"))

texts = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="0123456789+ ()-", max_size=60),
    st.integers(min_value=1, max_value=6).map(lambda n: "9" * 10**n),
    st.integers(min_value=1, max_value=6).map(lambda n: "\u00fc" * 10**n),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    ref=texts.filter(bool),
    number=texts,
    name=texts,
    states=st.lists(st.sampled_from(list(CallState)), min_size=1, max_size=4),
    direction=st.sampled_from(list(Direction)),
)
def test_absurd_events_are_recorded_and_bounded(
    sqlite_store: Store,
    ref: str,
    number: str,
    name: str,
    states: list[CallState],
    direction: Direction,
) -> None:
    line = _line(sqlite_store)
    for state in states:
        event = CallEvent(line, ref, direction, state, remote_number=number, remote_name=name)
        with sqlite_store.session() as session:
            change = record(session, event)
        with sqlite_store.session() as session:
            call = session.get(Call, change.call_id)
            assert call is not None
            assert len(call.call_ref) <= 200
            assert len(call.remote_number) <= 300 and len(call.remote_name) <= 300


_lines: dict[int, int] = {}
_names = itertools.count()


def _line(store: Store) -> int:
    """One line per store (hypothesis runs many examples on the one test's store)."""
    if id(store) not in _lines:
        _, line = factories.user_with_line(store, login=f"fuzz{next(_names)}")
        _lines[id(store)] = line.id
    return _lines[id(store)]
