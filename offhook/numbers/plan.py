"""The numbering plan of the firm's phone system: Settings > Telephony."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from offhook.numbers.countries import Country, country_for_region, region_for_country_input

# Everything a person might put between the digits of an area code or a prefix.
_SEPARATORS = str.maketrans("", "", " \u00a0-./()")

MAX_INTERNAL_LENGTH = 7  # longer extensions would swallow real (short) national numbers
MAX_OUTSIDE_LINE_LENGTH = 4
MAX_AREA_CODE_LENGTH = 6


@dataclass(frozen=True, slots=True)
class NumberingPlan:
    """How numbers are written and dialled where the firm is.

    Construct it with `NumberingPlan.build(...)` from what a user entered: it accepts "ch",
    "+41" or "UK" for the country and "044" for the area code, and raises `ValueError` with a
    message for the user when a value makes no sense. The plain constructor normalizes and
    validates the same way.
    """

    country: str = "CH"  # ISO 3166 region code of the home country
    area_code: str = ""  # home area code, digits without trunk prefix ("44")
    outside_line: str = ""  # dialled to get an outside line ("0", "9"); "" if none
    incoming_with_outside_line: bool = False  # the PBX prepends it to incoming external numbers
    internal_max_length: int = 4  # numbers with at most this many digits are extensions

    def __post_init__(self) -> None:
        region = region_for_country_input(str(self.country))
        if region is None:
            raise ValueError(
                f"Unknown country {self.country!r}: enter a two-letter country code such as "
                "CH, DE or US, or a calling code such as +41."
            )
        home = country_for_region(region)
        if home is None:  # pragma: no cover - every supported region has a calling code
            raise ValueError(f"No numbering plan is known for {region}.")
        object.__setattr__(self, "country", region)
        object.__setattr__(self, "area_code", _area_code(str(self.area_code), home))
        object.__setattr__(self, "outside_line", _outside_line(str(self.outside_line)))
        object.__setattr__(self, "internal_max_length", _internal_max(self.internal_max_length))
        object.__setattr__(
            self, "incoming_with_outside_line", bool(self.incoming_with_outside_line)
        )

    @classmethod
    def build(
        cls,
        *,
        country: str = "CH",
        area_code: str | int | None = "",
        outside_line: str | int | None = "",
        incoming_with_outside_line: bool = False,
        internal_max_length: int | str | None = 4,
    ) -> NumberingPlan:
        """A plan from form or CLI values; raises ValueError with a message for the user."""
        return cls(
            country=country,
            area_code="" if area_code is None else str(area_code),
            outside_line="" if outside_line is None else str(outside_line),
            incoming_with_outside_line=incoming_with_outside_line,
            internal_max_length=_internal_max(
                4 if internal_max_length is None else internal_max_length
            ),
        )

    @property
    def home(self) -> Country:
        """The home country's numbering facts."""
        return _home(self.country)


@lru_cache(maxsize=64)
def _home(region: str) -> Country:
    country = country_for_region(region)
    assert country is not None  # validated in NumberingPlan.__post_init__
    return country


def _area_code(text: str, home: Country) -> str:
    digits = text.translate(_SEPARATORS)
    if not digits:
        return ""
    if not (digits.isdigit() and digits.isascii()):
        raise ValueError(
            f"The area code {text!r} must consist of digits only, for example 44 for Zurich."
        )
    # "044" is how people write the Zurich area code; the 0 is the trunk prefix, which the
    # plan does not include. Italy has no trunk prefix: its area codes keep the 0 ("02").
    trunk = home.trunk_prefix
    if trunk and digits.startswith(trunk) and len(digits) > len(trunk):
        digits = digits[len(trunk) :]
    if len(digits) > MAX_AREA_CODE_LENGTH:
        raise ValueError(
            f"The area code {text!r} is too long: area codes have at most "
            f"{MAX_AREA_CODE_LENGTH} digits."
        )
    return digits


def _outside_line(text: str) -> str:
    digits = text.translate(_SEPARATORS)
    if digits and not (digits.isdigit() and digits.isascii()):
        raise ValueError(
            f"The outside-line prefix {text!r} must consist of digits only, for example 0 or 9."
        )
    if len(digits) > MAX_OUTSIDE_LINE_LENGTH:
        raise ValueError(
            f"The outside-line prefix {text!r} is too long: at most "
            f"{MAX_OUTSIDE_LINE_LENGTH} digits."
        )
    return digits


def _internal_max(value: object) -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        number = -1
    if isinstance(value, bool) or not 0 <= number <= MAX_INTERNAL_LENGTH:
        raise ValueError(
            f"The longest internal number must be a number of digits from 0 to "
            f"{MAX_INTERNAL_LENGTH} (got {value!r})."
        )
    return number
