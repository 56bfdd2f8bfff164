"""The journal's display rule and dial strings."""

from __future__ import annotations

from offhook.numbers import NumberingPlan, dial_string, display, parse

CH = NumberingPlan.build(country="CH", area_code="44", outside_line="0")
US = NumberingPlan.build(country="US")


def test_as_entered_when_the_caller_is_found() -> None:
    number = parse("+41441234567", CH)
    assert display(number, CH, as_entered=" 044 / 123 45 67 ") == "044 / 123 45 67"


def test_national_for_the_home_country_international_otherwise() -> None:
    assert display(parse("+41441234567", CH), CH) == "044 123 45 67"
    assert display(parse("+41441234567", US), US) == "+41 44 123 45 67"
    assert display(parse("+12125551234", US), US) == "(212) 555-1234"
    assert display(parse("+12125551234", CH), CH) == "+1 212 555 1234"  # spaces, not dashes
    assert display(parse("+14165550123", US), US) == "(416) 555-0123"  # +1 is home for Canada


def test_an_empty_as_entered_does_not_count() -> None:
    assert display(parse("+41441234567", CH), CH, as_entered="  ") == "044 123 45 67"


def test_dial_strings() -> None:
    assert dial_string(parse("044 123 45 67", CH), CH) == "00441234567"
    assert dial_string(parse("+49 30 1234567", CH), CH) == "00049301234567"
    assert dial_string(parse("+41 44 123 45 67", US), US) == "01141441234567"
    assert dial_string(parse("+39 06 1234 5678", US), US) == "011390612345678"
    assert dial_string(parse("+1 212 555 1234", US), US) == "12125551234"
    assert dial_string(parse("123", CH), CH) == "123"  # no outside line for extensions
    ru = NumberingPlan.build(country="RU")
    assert dial_string(parse("+41 44 123 45 67", ru), ru) == "81041441234567"
    assert dial_string(parse("+7 495 123-45-67", ru), ru) == "84951234567"
