"""The `asterisk` driver's options: where the manager interface is and how lines are named."""

from __future__ import annotations

import re

from pydantic import ConfigDict, Field, SecretStr, field_validator

from offhook.drivers.contract import Driver
from offhook.settings.language import N_

#: What may appear in a value sent to AMI: no line breaks (they would start a new header).
_SAFE = re.compile(r"^[^\r\n\x00]*$")
#: A channel endpoint: technology/resource, e.g. PJSIP/201, SIP/150010001, IAX2/trunk.
ENDPOINT = re.compile(r"^[A-Za-z0-9]+/[A-Za-z0-9_.+@-]+$")


def _single_line(value: str) -> str:
    if not _SAFE.match(value):
        raise ValueError("must be on one line")
    return value


class AsteriskOptions(Driver.Options):
    """One AMI connection serves every line of the phone system."""

    # Errors must not echo the input: it holds the AMI secret.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    host: str = Field(
        "127.0.0.1",
        title=N_("Host"),
        description=N_("Host of the Asterisk manager interface (AMI)"),
    )
    port: int = Field(
        5038, title=N_("Port"), ge=1, le=65535, description=N_("AMI port (5038; 5039 with TLS)")
    )
    username: str = Field(
        ..., title=N_("Username"), min_length=1, description=N_("AMI user from manager.conf")
    )
    secret: SecretStr = Field(
        ...,
        title=N_("Secret"),
        description=N_("That user's secret"),
        json_schema_extra={"secret": True},
    )
    tls: bool = Field(
        False,
        title=N_("TLS"),
        description=N_("Connect with TLS (manager.conf [general] tlsenable)"),
    )
    tls_verify: bool = Field(
        True, title=N_("TLS verify"), description=N_("TLS: check the server's certificate")
    )
    originate_context: str = Field(
        "from-internal",
        title=N_("Originate context"),
        description=N_(
            "Dialplan context click to dial calls the number in (FreePBX: from-internal)"
        ),
    )
    caller_name_token: SecretStr | None = Field(
        None,
        title=N_("Caller name token"),
        description=N_("Token the PBX sends to ask offhook for a caller's name (CURL, Superfecta)"),
        json_schema_extra={"secret": True},
    )

    @field_validator("host", "username", "originate_context")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return _single_line(value.strip())

    @field_validator("secret")
    @classmethod
    def _secret_one_line(cls, value: SecretStr) -> SecretStr:
        _single_line(value.get_secret_value())
        return value


class AsteriskLineOptions(Driver.LineOptions):
    endpoint: str | None = Field(
        None,
        title=N_("Endpoint"),
        description=N_(
            "The phone's channel endpoint, e.g. PJSIP/201 (default: the line's address; "
            "an address without a technology matches PJSIP/<address>, SIP/<address> …)"
        ),
    )

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not ENDPOINT.match(value):
            raise ValueError("must look like PJSIP/201 (technology/endpoint)")
        return value
