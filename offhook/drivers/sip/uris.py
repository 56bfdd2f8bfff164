"""SIP addresses for baresip: what to dial, and checks of the addresses a line's options hold."""

from __future__ import annotations

import re

#: The only address a managed baresip's control port listens on.
LOOPBACK = "127.0.0.1"
SIP_URI = re.compile(r"^sips?:[^@\s<>;]+@[^@\s<>;]+(;[^\s<>]*)?$", re.IGNORECASE)
HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[^:\s\[\]]+):([0-9]{1,5})$")


def valid_template(template: str) -> bool:
    """A SIP or tel address with `{number}` once, where the number goes."""
    rest = template.replace("{number}", "", 1)
    return (
        "{number}" in template
        and "{" not in rest
        and "}" not in rest
        and re.match(r"^(sips?|tel):[^\s<>]+$", template, re.IGNORECASE) is not None
    )


def dial_target(dial_string: str, template: str | None) -> str:
    """What baresip dials for the core's dial string: the template filled in, if there is one.

    A dial string that is already a SIP or tel URI is dialled as it is. `#` (a PBX feature
    code) is escaped, as a SIP URI's user part may not hold it raw.
    """
    if not template or re.match(r"^(sips?|tel):", dial_string, re.IGNORECASE):
        return dial_string
    return template.replace("{number}", dial_string.replace("#", "%23"))


def valid_host_port(text: str) -> bool:
    """`host:port` or `[IPv6]:port`, with a port baresip can use."""
    match = HOST_PORT.match(text)
    return match is not None and 0 < int(match.group(2)) <= 65535


def outbound_proxy(account: str, registrar: str | None) -> str | None:
    """baresip registers at the account's domain; a registrar elsewhere is an outbound proxy."""
    if not registrar:
        return None
    uri = registrar if re.match(r"^sips?:", registrar, re.IGNORECASE) else f"sip:{registrar}"
    domain = account.split("@", 1)[1].split(";", 1)[0].lower()
    target = re.sub(r"^sips?:", "", uri, flags=re.IGNORECASE).split(";", 1)[0].lower()
    return None if target == domain else uri
