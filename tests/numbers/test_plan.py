"""Settings > Telephony as a NumberingPlan."""

from __future__ import annotations

import pytest

from offhook.numbers import NumberingPlan


@pytest.mark.parametrize(
    ("given", "region"),
    [
        ("CH", "CH"),
        ("ch", "CH"),
        (" ch ", "CH"),
        ("41", "CH"),
        ("+41", "CH"),
        ("0041", "CH"),
        ("UK", "GB"),
        ("gb", "GB"),
        ("1", "US"),
        ("+49", "DE"),
        ("it", "IT"),
    ],
)
def test_country_as_users_write_it(given: str, region: str) -> None:
    assert NumberingPlan.build(country=given).country == region


@pytest.mark.parametrize(
    ("country", "given", "area_code"),
    [
        ("CH", "044", "44"),
        ("CH", "44", "44"),
        ("CH", "0 44", "44"),
        ("CH", 44, "44"),
        ("DE", "(089)", "89"),
        ("IT", "02", "02"),
        ("IT", "06", "06"),
        ("CH", "", ""),
        ("CH", None, ""),
    ],
)
def test_area_code_without_trunk_prefix(
    country: str, given: str | int | None, area_code: str
) -> None:
    plan = NumberingPlan.build(country=country, area_code=given)
    assert plan.area_code == area_code


def test_defaults_and_plain_constructor() -> None:
    plan = NumberingPlan()
    assert (plan.country, plan.area_code, plan.outside_line) == ("CH", "", "")
    assert (plan.incoming_with_outside_line, plan.internal_max_length) == (False, 4)
    assert NumberingPlan(country="ch", area_code="044") == NumberingPlan.build(area_code="44")
    assert hash(NumberingPlan(country="41")) == hash(NumberingPlan())
    assert NumberingPlan.build(outside_line=0).outside_line == "0"
    assert NumberingPlan.build(internal_max_length="3").internal_max_length == 3


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"country": "XX"}, "Unknown country 'XX'"),
        ({"country": "Switzerland"}, "Unknown country"),
        ({"country": "+999"}, "Unknown country"),
        ({"country": ""}, "Unknown country"),
        ({"area_code": "abc"}, "area code 'abc' must consist of digits"),
        ({"area_code": "1234567"}, "too long"),
        ({"outside_line": "x"}, "outside-line prefix 'x' must consist of digits"),
        ({"outside_line": "12345"}, "too long"),
        ({"internal_max_length": -1}, "from 0 to 7"),
        ({"internal_max_length": 8}, "from 0 to 7"),
        ({"internal_max_length": "four"}, "from 0 to 7"),
    ],
)
def test_nonsense_is_refused_with_a_message(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NumberingPlan.build(**settings)  # type: ignore[arg-type]
