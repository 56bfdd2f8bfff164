"""One rule for the normalized form of a stored number, whoever writes it."""

from __future__ import annotations

import pytest

from offhook.directory.names import normalize_channel
from offhook.directory.normalization import Normalizer, normalized
from offhook.numbers import NumberingPlan
from offhook.store.models import Address, Channel

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


ABROAD = [
    ("phone", "089 / 3816 - 230", "DE"),  # a Munich number, written the German way
    ("phone", "0711 12345-0", "DE"),
    ("mobile", "0664 123 45 67", "AT"),
    ("phone", "079 412 33 18", "DE"),  # a Swiss mobile stays Swiss
    ("phone", "+33 1 42 71 20 14", "DE"),
    ("phone", "nonsense", "DE"),
    ("phone", "668 18 12", "CH"),
    ("phone", "0211 868 20", "XX"),  # no such country: read at home only
]


@pytest.mark.parametrize(("kind", "value"), SAMPLES)
def test_same_as_saving_an_address(kind: str, value: str) -> None:
    channel = Channel(kind=kind, value=value)
    normalize_channel(channel, PLAN, "fp")
    expected = (channel.e164, channel.number_kind, channel.block_prefix, channel.normalize_error)
    assert tuple(normalized(kind, value, PLAN)) == expected


@pytest.mark.parametrize(("kind", "value", "country"), ABROAD)
def test_same_as_saving_an_address_abroad(kind: str, value: str, country: str) -> None:
    for address in (
        Address(kind="person", country=country),
        # A contact person without a country of their own is where their company is.
        Address(kind="contact", company=Address(kind="company", country=country)),
    ):
        channel = Channel(kind=kind, value=value)
        normalize_channel(channel, PLAN, "fp", address)
        expected = (
            channel.e164,
            channel.number_kind,
            channel.block_prefix,
            channel.normalize_error,
        )
        assert tuple(normalized(kind, value, PLAN, country)) == expected, (value, country)
    assert normalized("phone", "089 / 3816 - 230", PLAN, "DE").e164 == "+49893816230"


def test_mobiles_head_no_block() -> None:
    assert normalized("phone", "+41 79 123 45 00", PLAN).block_prefix is None  # a mobile number
    assert normalized("phone", "+41 44 123 45 00", PLAN).block_prefix == "+414412345"
    assert normalized("mobile", "+41 44 123 45 00", PLAN).block_prefix is None


def test_worker_processes_give_the_same_answers() -> None:
    pairs = [(kind, value, "") for kind, value in SAMPLES] * 3 + ABROAD
    with Normalizer(PLAN, workers=0) as inline, Normalizer(PLAN, workers=2) as parallel:
        batches = [pairs[i : i + 7] for i in range(0, len(pairs), 7)]
        here = [r for _, rs in inline.pipeline(batches, list) for r in rs]
        there = [r for _, rs in parallel.pipeline(batches, list) for r in rs]
    assert here == there == [normalized(kind, value, PLAN, land) for kind, value, land in pairs]
