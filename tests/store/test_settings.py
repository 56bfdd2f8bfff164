"""Settings > Telephony: validation, rounding of billable minutes, robustness."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from offhook.settings.telephony import TelephonySettings
from offhook.store import Store
from offhook.store.models import Setting


@pytest.mark.parametrize(
    ("mode", "step", "minimum", "seconds", "minutes"),
    [
        ("up", 5, 0, 1, 5),
        ("up", 5, 0, 300, 5),
        ("up", 5, 0, 301, 10),
        ("up", 6, 0, 7 * 60, 12),
        ("up", 15, 0, 16 * 60, 30),
        ("nearest", 5, 0, 7 * 60, 5),
        ("nearest", 5, 0, 8 * 60, 10),
        ("nearest", 10, 10, 60, 10),
        ("none", 5, 0, 61, 2),
        ("up", 5, 0, 0, 0),
        ("up", 5, 15, 0, 15),
    ],
)
def test_billable_minutes(mode: str, step: int, minimum: int, seconds: int, minutes: int) -> None:
    settings = TelephonySettings(rounding_mode=mode, rounding_step=step, rounding_minimum=minimum)
    assert settings.billable_minutes(seconds) == minutes


@given(st.floats(0, 10 * 3600), st.sampled_from([1, 5, 6, 10, 15]), st.integers(0, 30))
def test_rounding_up_never_bills_less_than_the_call(
    seconds: float, step: int, minimum: int
) -> None:
    minutes = TelephonySettings(rounding_step=step, rounding_minimum=minimum).billable_minutes(
        seconds
    )
    assert minutes * 60 >= seconds
    assert minutes % step == 0 or minutes == minimum
    assert minutes >= minimum


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("country", "Switzerland"),
        ("area_code", "4x"),
        ("timezone", "Mars/Olympus"),
        ("rounding_step", 0),
        ("internal_max_length", 99),
    ],
)
def test_bad_values_are_refused_with_a_reason(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        TelephonySettings.model_validate({field: value})


def test_a_broken_stored_document_keeps_what_is_valid(store: Store) -> None:
    with store.session() as session:
        session.add(
            Setting(
                key="telephony",
                value={"country": "DE", "area_code": "x!", "rounding_step": "nonsense", "junk": 1},
            )
        )
    with store.session() as session:
        settings = TelephonySettings.load(session)
    assert settings.country == "DE"
    assert settings.area_code == ""
    assert settings.rounding_step == 5


def test_a_stored_country_the_numbers_module_rejects_falls_back(store: Store) -> None:
    with store.session() as session:
        session.add(Setting(key="telephony", value={"country": "XX", "rounding_step": 10}))
    with store.session() as session:
        settings = TelephonySettings.load(session)
    assert settings.country == "CH"
    assert settings.rounding_step == 10


def test_unknown_country_code_is_refused_with_the_numbers_modules_reason() -> None:
    with pytest.raises(ValidationError, match="Unknown country"):
        TelephonySettings(country="XX")
