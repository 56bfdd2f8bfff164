"""A line's reason (why it is connecting, reconnecting or failed) in the reader's language.

The core and the drivers give reasons as English text (`Runner.set_status`): the API, the logs
and the command line show that. Pages and the journal show it translated here: a reason that is
a text of the catalogue (marked N_ where it is written, by the core or a driver) is translated
as a whole; the reasons composed of another reason and a back-off are read back into their
parts, and the parts translated. Anything else (an operating system's error, a phone system's
own words) is shown as it came.
"""

from __future__ import annotations

import re

from offhook.settings.language import N_, gettext, number_text

# The composed reasons: the English template as the core and drivers write it. `{reason}` is a
# reason of its own (translated in turn), `{seconds}` a number.
COMPOSED = (
    N_("{reason}; restarting in {seconds} s"),
    N_("{reason}; retrying in {seconds} s"),
    N_("the driver failed ({problem})"),
    N_("could not start: {problem}"),
    N_("its offhook agent disconnected; {reason}"),
)
_PARTS = {
    "reason": r"(?P<reason>.+)",
    "seconds": r"(?P<seconds>\d+(?:\.\d+)?)",
    "problem": r"(?P<problem>.+)",
}
_READERS = tuple(
    (
        template,
        re.compile(re.sub(r"\\\{(\w+)\\\}", lambda m: _PARTS[m[1]], re.escape(template))),
    )
    for template in COMPOSED
)


def restarting(reason: str, seconds: float) -> str:
    """The core's reason for a driver it restarts after a back-off (English, as stored)."""
    return COMPOSED[0].format(reason=reason, seconds=f"{seconds:g}")


def reason_text(reason: str) -> str:
    """`reason` in the current language."""
    if not reason:
        return ""
    translated = gettext(reason)
    if translated != reason:
        return translated
    for template, pattern in _READERS:
        match = pattern.fullmatch(reason)
        if match is None:
            continue
        parts = match.groupdict()
        if "reason" in parts:
            parts["reason"] = reason_text(parts["reason"])
        if "seconds" in parts:
            parts["seconds"] = number_text(float(parts["seconds"]))
        return gettext(template).format(**parts)
    return reason
