"""The `sip` driver's options: how a line reaches baresip, checked before anything runs."""

from __future__ import annotations

import re
from typing import Literal, Self

from pydantic import (
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from offhook.drivers.contract import Driver
from offhook.drivers.sip.uris import LOOPBACK, SIP_URI, valid_host_port, valid_template
from offhook.settings.language import N_

#: Options that only mean something when offhook runs baresip.
_MANAGED_ONLY = (
    "registrar",
    "auth_user",
    "password",
    "register_interval",
    "sip_listen",
    "net_interface",
    "dns_server",
    "rtp_ports",
    "audio_player",
    "audio_source",
    "audio_alert",
    "baresip_path",
    "module_path",
    "runtime_dir",
)
_UNSAFE_IN_ACCOUNTS = re.compile(r'[\s;"<>\\]')


class SipOptions(Driver.Options):
    """Attach: `ctrl_port` (and `ctrl_host`). Managed: `account` and what it needs."""

    # Errors must not echo the input: it holds the SIP password.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    mode: Literal["attach", "managed"] | None = Field(
        None,
        title=N_("Mode"),
        description=N_("Inferred when left out: managed if `account` is set, else attach."),
    )
    ctrl_host: str = Field(
        LOOPBACK,
        title=N_("Ctrl host"),
        description=N_("attach: host of baresip's ctrl_tcp port (ctrl_tcp_listen)"),
    )
    ctrl_port: int | None = Field(
        None,
        title=N_("Ctrl port"),
        ge=1,
        le=65535,
        description=N_(
            "attach: baresip's ctrl_tcp port; managed: fixed local port (default: any free one)"
        ),
    )
    account: str | None = Field(
        None,
        title=N_("Account"),
        description=N_(
            "SIP address of the line, e.g. sip:201@pbx.example.com. attach: "
            "which of baresip's accounts dials (default: its first)"
        ),
    )
    registrar: str | None = Field(
        None,
        title=N_("Registrar"),
        description=N_(
            "managed: register here, e.g. sip:pbx.example.com (default: no "
            "registration, direct calls to sip_listen only)"
        ),
    )
    auth_user: str | None = Field(
        None, title=N_("Auth user"), description=N_("managed: user name for SIP digest auth")
    )
    password: SecretStr | None = Field(
        None, title=N_("Password"), description=N_("managed: SIP password")
    )
    register_interval: int = Field(
        600, title=N_("Register interval"), ge=60, le=86400, description=N_("managed: seconds")
    )
    sip_listen: str | None = Field(
        None,
        title=N_("SIP listen"),
        description=N_("managed: local SIP address, host:port (default: a free port)"),
    )
    net_interface: str | None = Field(
        None, title=N_("Net interface"), description=N_("managed: network interface or IP")
    )
    dns_server: str | None = Field(
        None, title=N_("DNS server"), description=N_("managed: host:port of a DNS server")
    )
    rtp_ports: str | None = Field(
        None, title=N_("RTP ports"), description=N_("managed: RTP port range, e.g. 10000-10999")
    )
    audio_player: str = Field(
        "alsa,default", title=N_("Audio player"), description=N_("managed: baresip driver,device")
    )
    audio_source: str = Field(
        "alsa,default", title=N_("Audio source"), description=N_("managed: baresip driver,device")
    )
    audio_alert: str | None = Field(
        None, title=N_("Audio alert"), description=N_("managed: ring tone device")
    )
    dial_uri_template: str | None = Field(
        None,
        title=N_("Dial URI template"),
        description=N_(
            "the SIP address to call for a number, e.g. sip:{number}@pbx.example.com "
            "(default: the number alone; baresip completes it with the account's domain)"
        ),
    )
    baresip_path: str = Field(
        "baresip", title=N_("Baresip path"), description=N_("managed: the baresip program")
    )
    module_path: str | None = Field(
        None, title=N_("Module path"), description=N_("managed: baresip's modules directory")
    )
    runtime_dir: str | None = Field(
        None,
        title=N_("Runtime dir"),
        description=N_(
            "managed: private directory for baresip's files (default: one in "
            "$XDG_RUNTIME_DIR, else a temporary one)"
        ),
    )

    @property
    def managed(self) -> bool:
        return self.mode == "managed"

    @field_validator("auth_user", "password", mode="before")
    @classmethod
    def _text(cls, value: object, info: ValidationInfo) -> object:
        # `offhook lines add -o auth_user=201` reads 201 as a JSON number: take it as the
        # text it was. A float cannot be turned back (sipgate's "1234567e0" became
        # 1234567.0), so ask for quotes; without echoing it, as it may be the password.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, float):
            raise ValueError(
                f"{info.field_name} was read as a number (1234567e0 reads as 1234567.0); "
                f"give it as text in double quotes: -o '{info.field_name}=\"...\"'"
            )
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        # "Given" means "not the default", so options that went through model_dump()
        # (every field present) validate the same as the admin's original ones.
        fields = type(self).model_fields
        managed_given = [
            name for name in _MANAGED_ONLY if getattr(self, name) != fields[name].default
        ]
        if self.mode is None:
            if managed_given or (self.account and self.ctrl_port is None):
                self.mode = "managed"
            elif self.ctrl_port is not None:
                self.mode = "attach"
            else:
                raise ValueError(
                    "say how to reach baresip: set ctrl_port (and ctrl_host) to attach to a "
                    "baresip you run, or set account to let offhook run one for this line"
                )
        if self.mode == "attach":
            if managed_given:
                raise ValueError(
                    f"{', '.join(managed_given)}: only used when offhook runs baresip "
                    "(mode 'managed'); in attach mode baresip's own configuration applies"
                )
            if self.ctrl_port is None:
                raise ValueError("attach mode needs ctrl_port, the port of baresip's ctrl_tcp")
        else:
            if not self.account:
                raise ValueError(
                    "managed mode needs account, the line's SIP address (sip:user@host)"
                )
            if self.ctrl_host != LOOPBACK:
                raise ValueError(
                    "ctrl_host is for attaching to a baresip you run; the baresip that "
                    "offhook runs listens on 127.0.0.1 only"
                )
        self._check_formats()
        return self

    def _check_formats(self) -> None:
        if self.account and not SIP_URI.match(self.account):
            raise ValueError(
                f"account {self.account!r} is not a SIP address like sip:201@pbx.example.com"
            )
        if self.registrar and not re.match(r"^(sips?:)?[^\s@<>]+$", self.registrar):
            raise ValueError(f"registrar {self.registrar!r} is not like sip:pbx.example.com[:5060]")
        if self.dial_uri_template is not None and not valid_template(self.dial_uri_template):
            raise ValueError(
                f"dial_uri_template {self.dial_uri_template!r} is not a SIP address with "
                "{number} where the number goes, like sip:{number}@pbx.example.com"
            )
        if self.sip_listen and not valid_host_port(self.sip_listen):
            raise ValueError(f"sip_listen {self.sip_listen!r} is not host:port")
        if self.dns_server and not valid_host_port(self.dns_server):
            raise ValueError(f"dns_server {self.dns_server!r} is not host:port")
        if self.rtp_ports:
            match = re.match(r"^(\d{1,5})-(\d{1,5})$", self.rtp_ports)
            if not match or not 1024 <= int(match[1]) < int(match[2]) <= 65535:
                raise ValueError(f"rtp_ports {self.rtp_ports!r} is not a range like 10000-10999")
        for name in ("audio_player", "audio_source", "audio_alert"):
            value = getattr(self, name)
            if value is not None and not re.match(r"^[A-Za-z0-9_]+,\S*$", value):
                raise ValueError(f"{name} {value!r} is not baresip's 'driver,device'")
        for name, value in (
            ("auth_user", self.auth_user),
            ("password", self.password.get_secret_value() if self.password else None),
        ):
            if value and _UNSAFE_IN_ACCOUNTS.search(value):
                # Never echo the value: it may be the password.
                raise ValueError(
                    f"{name} contains a space, quote, ';', '<', '>' or '\\', which baresip "
                    "1.0.0 cannot read from its accounts file"
                )
