"""A line's reason, given in English by the core or a driver, is shown in the reader's language:
whole texts of the catalogue, and the reasons composed with a back-off part by part."""

from __future__ import annotations

import pytest

from offhook.lines.reasons import reason_text, restarting
from offhook.settings import language


@pytest.mark.parametrize(
    ("reason", "german"),
    [
        ("", ""),
        ("connection closed; retrying in 2.5 s", "Verbindung geschlossen; neuer Versuch in 2.5 s"),
        (
            "the FRITZ!Box closed the call monitor connection; retrying in 8 s",
            "die FRITZ!Box hat die Verbindung des Anrufmonitors geschlossen; neuer Versuch in 8 s",
        ),
        (
            restarting("the driver failed (KeyError: 'leg')", 4),
            "der Treiber ist ausgefallen (KeyError: 'leg'); Neustart in 4 s",
        ),
        ("this softphone has no line yet", "dieses Softphone hat noch keine Leitung"),
        (
            "its offhook agent disconnected; waiting for its offhook agent to connect",
            "sein offhook-Agent hat die Verbindung getrennt; wartet, bis sich sein offhook-Agent "
            "verbindet",
        ),
        # A phone system's or the operating system's own words stay as they came.
        ("[Errno 111] Connection refused", "[Errno 111] Connection refused"),
    ],
)
def test_reasons_in_german(reason: str, german: str) -> None:
    with language.using("de-CH"):
        assert reason_text(reason) == german
    with language.using("en"):
        assert reason_text(reason) == reason


def test_the_core_writes_its_restart_as_before() -> None:
    assert restarting("could not start: boom", 0.5) == "could not start: boom; restarting in 0.5 s"
