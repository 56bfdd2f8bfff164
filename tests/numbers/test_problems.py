"""Every problem the parser writes has a stable code and parts, read back from its English text
(as stored with an address), so that the pages can show it in the reader's language."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offhook.numbers import NumberingPlan, parse, parse_incoming
from offhook.numbers.problems import TEMPLATES, Problem, problem_of

CH = NumberingPlan.build(country="CH")
DE = NumberingPlan.build(country="DE")
ZH = NumberingPlan.build(country="CH", area_code="44")


@pytest.mark.parametrize(
    ("text", "plan", "code", "params"),
    [
        ("123 45 67", CH, "too_short_add_area_code", {"country": "CH"}),
        ("044 123 45", CH, "too_short", {"country": "CH"}),
        ("+263 1", CH, "too_short", {"country": "+263"}),
        ("+49 30", CH, "too_short_area_code_missing", {"country": "DE"}),
        ("+43 1", CH, "too_short", {"country": "AT"}),
        ("+41 99 999 99 99", CH, "no_such_number", {"country": "CH"}),
        ("12345678901234567890123", CH, "too_long", {"country": "CH"}),
        ("+999 1", CH, "unknown_calling_code", {"code": "999"}),
        ("+0 44", CH, "calling_code_zero", {}),
        ("1+2", CH, "misplaced_plus", {}),
        ("abc", CH, "no_digits", {}),
        ("044 xxx xx xx", CH, "hidden_digits", {}),
        ("044 123 45 67 / 044 123 45 68", CH, "two_numbers", {}),
        ("1234567", DE, "local_without_area_code", {}),
        ("044\u00a0123§45", CH, "foreign_character", {"char": "§"}),
    ],
)
def test_each_problem_has_a_code_and_its_parts(
    text: str, plan: NumberingPlan, code: str, params: dict[str, str]
) -> None:
    number = parse(text, plan)
    assert number.problem == Problem(code, params)
    assert number.problem.text == number.error  # the English text is the template's


def test_stored_texts_of_earlier_releases_are_read_back() -> None:
    assert problem_of("too short for a Swiss number: add the area code") == Problem(
        "too_short_add_area_code", {"country": "CH"}
    )
    assert problem_of("too long for an Austrian number") == Problem("too_long", {"country": "AT"})
    assert problem_of("too short for a phone number") == Problem("too_short_any")
    assert problem_of("something else") is None
    assert problem_of(None) is None


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789+ -()/x.abc§,", max_size=24), st.booleans())
def test_every_error_the_parser_writes_is_a_known_problem(text: str, incoming: bool) -> None:
    for plan in (CH, DE, ZH):
        number = (parse_incoming if incoming else parse)(text, plan)
        if number.error is not None:
            problem = number.problem
            assert problem is not None, number.error
            assert problem.code in TEMPLATES
            assert problem.text == number.error
