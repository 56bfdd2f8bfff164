"""Caller IDs from recorded Asterisk traffic (../shared/conformance, read in place).

The cacofonisk recordings come from a Dutch PBX: callers appear as "+31150010001",
"0150010001" and "150010001", colleagues as "201", unknown callers as "<unknown>".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offhook.numbers import NumberingPlan, NumberKind, parse_incoming

RECORDINGS = Path(__file__).resolve().parents[2].parent / "shared/conformance/asterisk/cacofonisk"
NL = NumberingPlan.build(country="NL")


def _caller_ids() -> set[str]:
    found: set[str] = set()
    for path in RECORDINGS.rglob("*.json"):
        if path.name == "expected.json":
            continue
        for event in json.loads(path.read_text(encoding="utf-8")):
            for key in ("CallerIDNum", "ConnectedLineNum", "DestCallerIDNum"):
                if key in event:
                    found.add(event[key])
    return found


@pytest.fixture(scope="module")
def caller_ids() -> set[str]:
    if not RECORDINGS.is_dir():
        pytest.skip("../shared/conformance is not beside the checkout")
    return _caller_ids()


def test_every_recorded_caller_id_is_classified(caller_ids: set[str]) -> None:
    assert len(caller_ids) > 20
    for text in caller_ids:
        number = parse_incoming(text, NL)
        if text in ("", "<unknown>"):
            assert number.kind is NumberKind.WITHHELD, text
        elif text.isdigit() and len(text) <= 4:
            assert (number.kind, number.extension) == (NumberKind.INTERNAL, text)
        elif text.startswith("+31") and text[1:].isdigit():
            assert number.kind is NumberKind.EXTERNAL, text
        elif "x" in text or text.startswith("ID"):
            assert number.kind is NumberKind.INVALID, text  # sanitized by upstream


def test_the_forms_of_one_caller_agree(caller_ids: set[str]) -> None:
    for text in caller_ids:
        if text.startswith("+31") and text[1:].isdigit():
            national = text[3:]
            for form in (text, "0" + national, national, f"sip:{text}@pbx"):
                assert parse_incoming(form, NL).e164 == text, form
