"""The `3cx` driver's options: how 3CX reaches offhook (CRM integration) and, for the live
journal, how offhook reaches 3CX (Call Control API)."""

from __future__ import annotations

import secrets
from typing import Self

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from offhook.drivers.contract import Driver
from offhook.settings.language import N_

#: A token 3CX sends with every CRM request (HTTP basic authentication's password).
TOKEN_BYTES = 32


def _new_token() -> SecretStr:
    return SecretStr(secrets.token_urlsafe(TOKEN_BYTES))


def _https_url(value: str, what: str) -> str:
    value = value.strip().rstrip("/")
    if not value:
        return value
    if not value.startswith(("https://", "http://")) or any(c.isspace() for c in value):
        raise ValueError(f"{what} must be a URL like https://offhook.example.com")
    if "?" in value or "#" in value:
        raise ValueError(f"{what} must not have a query or fragment")
    return value


class ThreeCxOptions(Driver.Options):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    public_url: str = Field(
        "",
        title=N_("Public URL"),
        max_length=300,
        description=N_(
            "Where 3CX reaches offhook, with HTTPS (your reverse proxy), e.g. "
            "https://offhook.example.com. The CRM template points there."
        ),
    )
    crm_token: SecretStr = Field(
        title=N_("CRM token"),
        default_factory=_new_token,
        description=N_(
            "The secret 3CX sends with each CRM request; made for you, and written "
            "into the CRM template. Enter a new one to revoke the old template."
        ),
        json_schema_extra={"secret": True},
    )
    digits_compared: int = Field(
        9,
        title=N_("Digits compared"),
        ge=5,
        le=15,
        description=N_("How many trailing digits 3CX compares when it matches numbers to contacts"),
    )

    api_url: str = Field(
        "",
        title=N_("API URL"),
        max_length=300,
        description=N_(
            "Live journal: your 3CX's web address, e.g. https://pbx.example.com "
            "(leave empty for the CRM integration only)"
        ),
    )
    client_id: str = Field(
        "",
        title=N_("Client ID"),
        max_length=100,
        description=N_(
            "Live journal: the client ID of the API client in 3CX (Integrations › API, "
            "with 'Call Control API access')"
        ),
    )
    client_secret: SecretStr | None = Field(
        None,
        title=N_("Client secret"),
        description=N_("Live journal: that API client's key"),
        json_schema_extra={"secret": True},
    )
    verify_tls: bool = Field(
        True,
        title=N_("Verify TLS"),
        description=N_("Live journal: check the 3CX's TLS certificate (keep this on)"),
    )

    @property
    def live(self) -> bool:
        """Whether offhook follows the 3CX live through its Call Control API."""
        return bool(self.api_url and self.client_id and self.client_secret)

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return _https_url(value, "api_url")

    @model_validator(mode="after")
    def _live_complete(self) -> Self:
        given = [n for n in ("api_url", "client_id", "client_secret") if getattr(self, n)]
        if given and len(given) < 3:
            missing = sorted({"api_url", "client_id", "client_secret"} - set(given))
            raise ValueError(
                f"the live journal needs api_url, client_id and client_secret; missing: "
                f"{', '.join(missing)}"
            )
        return self

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return _https_url(value, "public_url")

    @field_validator("crm_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 20:
            raise ValueError("crm_token must have at least 20 characters")
        return value
