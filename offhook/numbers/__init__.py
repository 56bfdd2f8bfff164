"""Phone numbers: normalize, classify, display and dial. Pure functions, no I/O.

    plan = NumberingPlan.build(country="CH", area_code="44", outside_line="0")
    number = parse("044/123.45.67", plan)          # as typed into the CRM
    number.e164                                     # "+41441234567"
    caller = parse_incoming("sip:+41441234567@pbx;user=phone", plan)
    display(caller, plan)                           # "044 123 45 67"
    dial_string(number, plan)                       # "00441234567"

Built on `phonenumbers`; configured by Settings > Telephony (`NumberingPlan`).
"""

from offhook.numbers.blocks import block_prefixes, switchboard_prefix
from offhook.numbers.format import dial_string, display
from offhook.numbers.number import NumberKind, ParsedNumber
from offhook.numbers.parse import parse, parse_incoming
from offhook.numbers.plan import NumberingPlan

__all__ = [
    "NumberKind",
    "NumberingPlan",
    "ParsedNumber",
    "block_prefixes",
    "dial_string",
    "display",
    "parse",
    "parse_incoming",
    "switchboard_prefix",
]
