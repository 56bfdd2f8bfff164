"""A phone number as offhook understands it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from offhook.numbers.problems import Problem, problem_of


class NumberKind(StrEnum):
    EXTERNAL = "external"  # a number of the public phone network, with an E.164 form
    INTERNAL = "internal"  # an extension on the firm's own phone system
    WITHHELD = "withheld"  # the caller suppressed their number (or none was given)
    INVALID = "invalid"  # not usable as a number; `error` says why


@dataclass(frozen=True, slots=True)
class ParsedNumber:
    """What a piece of text says as a phone number.

    `input` is the text exactly as given. For external numbers `e164` is the normalized form
    stored and looked up ("+41441234567"), `national` and `international` are the number's
    usual written forms in its own country. `extension` holds the digits of an internal
    number, or an extension written after an external number ("ext. 12").

    `block` is set when the text is written like the switchboard number of a number block
    ("+41 44 123 45 00", "0711 12345-0"): the E.164 digits the block's numbers start with.
    See `offhook.numbers.blocks`.
    """

    input: str
    kind: NumberKind
    e164: str | None = None
    national: str | None = None
    international: str | None = None
    extension: str | None = None
    region: str | None = None
    error: str | None = None
    block: str | None = None

    @property
    def problem(self) -> Problem | None:
        """Why the text is no usable number, as a stable code and its parts (`error` is the
        English text)."""
        return problem_of(self.error)

    def to_json(self) -> dict[str, Any]:
        problem = self.problem
        return {
            "input": self.input,
            "kind": self.kind.value,
            "e164": self.e164,
            "national": self.national,
            "international": self.international,
            "extension": self.extension,
            "region": self.region,
            "error": self.error,
            "problem": None
            if problem is None
            else {"code": problem.code, "params": problem.params},
        }
