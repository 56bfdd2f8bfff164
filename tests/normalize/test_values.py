"""One rule for the normalized form of a stored number, whoever writes it."""

from __future__ import annotations

import pytest

from offhook.addresses import normalize_channel
from offhook.normalize import Normalizer, normalized
from offhook.numbers import NumberingPlan
from offhook.store.models import Channel

PLAN = NumberingPlan.build(country="CH", area_code="44")
SAMPLES = [
    ("phone", "044 668 18 12"),
    ("phone", "+41 44 668 18 00"),
    ("phone", "+41 44 668 18-0"),
    ("mobile", "079 123 45 00"),
    ("fax", "0041 (0)44 668 18 99"),
    ("phone", "231"),
    ("phone", "unknown"),
    ("phone", "12"),
    ("phone", "044 668 18 12, 044 668 18 13"),
    ("email", "anna@example.com"),
    ("phone", "sip:+4930123456@pbx;user=phone"),
]


@pytest.mark.parametrize(("kind", "value"), SAMPLES)
def test_same_as_saving_an_address(kind: str, value: str) -> None:
    channel = Channel(kind=kind, value=value)
    normalize_channel(channel, PLAN, "fp")
    expected = (channel.e164, channel.number_kind, channel.block_prefix, channel.normalize_error)
    assert tuple(normalized(kind, value, PLAN)) == expected


def test_mobiles_head_no_block() -> None:
    assert normalized("phone", "+41 79 123 45 00", PLAN).block_prefix is None  # a mobile number
    assert normalized("phone", "+41 44 123 45 00", PLAN).block_prefix == "+414412345"
    assert normalized("mobile", "+41 44 123 45 00", PLAN).block_prefix is None


def test_worker_processes_give_the_same_answers() -> None:
    pairs = SAMPLES * 3
    with Normalizer(PLAN, workers=0) as inline, Normalizer(PLAN, workers=2) as parallel:
        batches = [pairs[i : i + 7] for i in range(0, len(pairs), 7)]
        here = [r for _, rs in inline.pipeline(batches, list) for r in rs]
        there = [r for _, rs in parallel.pipeline(batches, list) for r in rs]
    assert here == there == [normalized(kind, value, PLAN) for kind, value in pairs]
