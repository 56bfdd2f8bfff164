"""Setting a line up: options, clear errors, the generated baresip configuration."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from offhook.drivers.contract import LineState
from offhook.drivers.sip import SipDriver
from offhook.drivers.sip.process import (
    BaresipConfig,
    BaresipProcess,
    BaresipSetupError,
    account_line,
)
from offhook.drivers.sip.uris import dial_target
from offhook.drivers.testing import RecordingContext

Options = SipDriver.Options


def error_of(**options: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        Options.model_validate(options)
    return str(caught.value)


def test_driver_identity() -> None:
    assert SipDriver.name == "sip"
    assert SipDriver.title == "SIP softphone (baresip)"
    assert SipDriver.can_dial and SipDriver.can_answer and SipDriver.can_hangup


def test_mode_is_inferred() -> None:
    assert Options.model_validate({"ctrl_port": 4444}).mode == "attach"
    assert Options.model_validate({"account": "sip:201@pbx.example.com"}).mode == "managed"
    managed = Options.model_validate(
        {"account": "sip:201@pbx.example.com", "registrar": "pbx.example.com", "ctrl_port": 4455}
    )
    assert managed.managed and managed.ctrl_port == 4455


@pytest.mark.parametrize(
    "options",
    [
        {"ctrl_port": 4444},
        {"ctrl_host": "10.0.0.5", "ctrl_port": 4444, "account": "sip:201@pbx.example.com"},
        {"account": "sip:201@pbx.example.com", "registrar": "pbx", "password": "pw"},
    ],
)
def test_options_survive_a_round_trip(options: dict[str, Any]) -> None:
    """The core may store and pass back model_dump() output, every field included."""
    validated = Options.model_validate(options)
    assert Options.model_validate(validated.model_dump()) == validated


def test_nothing_to_connect_to() -> None:
    assert "set ctrl_port" in error_of()
    assert "set account" in error_of()


def test_managed_settings_in_attach_mode_are_named() -> None:
    text = error_of(mode="attach", ctrl_port=4444, registrar="pbx", sip_listen="0.0.0.0:5060")
    assert "registrar, sip_listen" in text
    assert "attach mode" in text


def test_managed_control_port_stays_local() -> None:
    assert "127.0.0.1 only" in error_of(account="sip:201@pbx.example.com", ctrl_host="10.0.0.5")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"account": "201@pbx.example.com"}, "not a SIP address"),
        ({"account": "sip:pbx.example.com"}, "not a SIP address"),
        ({"mode": "managed"}, "needs account"),
        ({"mode": "attach"}, "needs ctrl_port"),
        ({"ctrl_port": 70000}, "less than or equal to 65535"),
        ({"account": "sip:a@b", "sip_listen": "127.0.0.1"}, "not host:port"),
        ({"account": "sip:a@b", "rtp_ports": "10000"}, "not a range"),
        ({"account": "sip:a@b", "rtp_ports": "20000-10000"}, "not a range"),
        ({"account": "sip:a@b", "audio_player": "alsa"}, "driver,device"),
        ({"account": "sip:a@b", "registrar": "sip:pbx <x>"}, "registrar"),
        ({"ctrl_port": 4444, "colour": "blue"}, "Extra inputs are not permitted"),
        ({"ctrl_port": 4444, "dial_uri_template": "sip:pbx.example.com"}, "{number}"),
        ({"ctrl_port": 4444, "dial_uri_template": "{number}@pbx"}, "dial_uri_template"),
        ({"ctrl_port": 4444, "dial_uri_template": "sip:{number}@{host}"}, "dial_uri_template"),
        ({"ctrl_port": 4444, "dial_uri_template": "sip:{number} @pbx"}, "dial_uri_template"),
    ],
)
def test_invalid_options_say_what_is_wrong(options: dict[str, Any], message: str) -> None:
    assert message in error_of(**options)


@pytest.mark.parametrize(
    ("dial_string", "template", "target"),
    [
        ("0441234567", None, "0441234567"),
        ("0441234567", "sip:{number}@pbx.example.com", "sip:0441234567@pbx.example.com"),
        ("201", "sip:{number}@10.0.0.1:5060;user=phone", "sip:201@10.0.0.1:5060;user=phone"),
        ("*21#", "sip:{number}@pbx", "sip:*21%23@pbx"),
        ("sip:bob@example.com", "sip:{number}@pbx", "sip:bob@example.com"),
    ],
)
def test_dial_uri_template(dial_string: str, template: str | None, target: str) -> None:
    assert dial_target(dial_string, template) == target


def test_dial_uri_template_works_in_both_modes() -> None:
    template = "sip:{number}@pbx.example.com"
    attach = Options.model_validate({"ctrl_port": 4444, "dial_uri_template": template})
    managed = Options.model_validate({"account": "sip:2@pbx", "dial_uri_template": template})
    assert (attach.mode, managed.mode) == ("attach", "managed")
    assert attach.dial_uri_template == managed.dial_uri_template == template


def test_password_baresip_cannot_store_is_refused_without_showing_it() -> None:
    text = error_of(account="sip:201@pbx.example.com", password="se;cret")
    assert "password contains" in text
    assert "se;cret" not in text


def test_numbers_from_the_command_line_are_taken_as_text() -> None:
    """`offhook lines add -o auth_user=201 -o password=4711` passes JSON numbers."""
    options = Options.model_validate({"account": "sip:201@pbx", "auth_user": 201, "password": 4711})
    assert options.auth_user == "201"
    assert options.password is not None and options.password.get_secret_value() == "4711"


def test_a_number_that_lost_its_spelling_asks_for_quotes() -> None:
    """sipgate's SIP ids look like 1234567e0, which JSON reads as 1234567.0."""
    text = error_of(account="sip:1234567e0@sipgate.de", auth_user=1234567.0, password=2.5e3)
    assert "auth_user was read as a number" in text
    assert "password was read as a number" in text
    assert "double quotes" in text
    assert "2500" not in text


def test_password_is_never_echoed_in_errors() -> None:
    text = error_of(account="sip:201@pbx.example.com", password="Geheim123", rtp_ports="x")
    assert "rtp_ports" in text
    assert "Geheim123" not in text


def test_password_is_hidden_in_repr() -> None:
    options = Options.model_validate({"account": "sip:201@pbx", "password": "Geheim123"})
    assert "Geheim123" not in repr(options)
    assert "Geheim123" not in str(options.model_dump())


def fake_modules(tmp_path: Path, *names: str) -> str:
    directory = tmp_path / "modules"
    directory.mkdir()
    for name in names:
        (directory / f"{name}.so").touch()
    return str(directory)


def test_generated_config(tmp_path: Path) -> None:
    modules = fake_modules(tmp_path, "g711", "opus", "alsa", "account", "menu", "ctrl_tcp")
    config = BaresipConfig(
        ctrl_listen="127.0.0.1:4455",
        module_path=modules,
        sip_listen="0.0.0.0:5062",
        rtp_ports="10000-10999",
    )
    text = config.render()
    settings = [line.split(None, 1) for line in text.splitlines()]
    assert ["ctrl_tcp_listen", "127.0.0.1:4455"] in settings
    assert ["sip_listen", "0.0.0.0:5062"] in settings
    assert ["rtp_ports", "10000-10999"] in settings
    assert ["statmode_default", "off"] in settings  # no status line every 100 ms in the log
    loaded = [value for key, value in settings if key == "module"]
    assert loaded == ["g711.so", "opus.so", "alsa.so"]  # g722 is not installed here
    assert ["module_app", "ctrl_tcp.so"] in settings


def test_missing_audio_driver_is_named(tmp_path: Path) -> None:
    modules = fake_modules(tmp_path, "g711", "account", "menu", "ctrl_tcp")
    config = BaresipConfig(ctrl_listen="127.0.0.1:1", module_path=modules, audio_player="jack,x")
    with pytest.raises(BaresipSetupError, match="no audio driver 'alsa'"):
        config.render()


def test_account_line() -> None:
    assert account_line("sip:201@pbx.example.com") == "<sip:201@pbx.example.com>;regint=0"
    assert account_line(
        "sip:201@pbx.example.com",
        auth_user="201",
        password="pw",
        regint=600,
        outbound="sip:proxy.example.com",
    ) == (
        '<sip:201@pbx.example.com>;auth_user=201;auth_pass=pw;outbound="sip:proxy.example.com"'
        ";regint=600"
    )


async def test_password_file_is_private_and_output_scrubbed(tmp_path: Path) -> None:
    modules = fake_modules(tmp_path, "g711", "alsa", "account", "menu", "ctrl_tcp")
    process = BaresipProcess(
        directory=tmp_path / "run",
        config=BaresipConfig(ctrl_listen="127.0.0.1:1", module_path=modules),
        accounts=[account_line("sip:201@pbx", password="Geheim123")],
        secrets=["Geheim123"],
    )
    process.write_files()
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "run" / "accounts").stat().st_mode) == 0o600
    (tmp_path / "run" / "baresip.log").write_text(
        "\x1b[31mreg: auth_pass=Geheim123 failed\x1b[;m\n"
    )
    assert process.last_output() == "reg: auth_pass=******** failed"


async def test_missing_baresip_fails_the_line_with_a_clear_reason(tmp_path: Path) -> None:
    context = RecordingContext(
        options={"account": "sip:201@pbx", "baresip_path": "no-such-baresip-here"}
    )
    driver = SipDriver(context)
    await driver.start()
    try:
        _, reason = await context.wait_for(
            lambda: context.statuses[-1] if context.state is LineState.FAILED else None,
            "the line to fail",
        )
    finally:
        await driver.stop()
    assert "baresip is not installed" in reason
    assert "no-such-baresip-here" in reason


async def test_driver_refuses_invalid_options() -> None:
    with pytest.raises(ValidationError):
        SipDriver(RecordingContext(options={"ctrl_port": "not a port"}))
