"""The command line speaks the system's language (LC_ALL, LC_MESSAGES, LANG), as other tools do:
its help in German under a German locale, in English otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from offhook.settings import language


def _help(*args: str, **locale: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env |= {"COLUMNS": "200", **locale}
    done = subprocess.run(
        [sys.executable, "-c", "from offhook.cli.main import main; main()", *args, "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_help_follows_the_systems_language() -> None:
    german = _help("users", LANG="de_CH.UTF-8")
    assert "Personen, die sich bei offhook anmelden." in german
    assert "Einen Benutzer hinzufügen, der sich anmelden kann." in german
    assert "Add a user" not in german
    options = _help("users", "add", LANG="en_US.UTF-8", LC_MESSAGES="de_DE.UTF-8")
    assert "Ganzer Name, wie in offhook angezeigt." in options
    english = _help("users", LANG="C.UTF-8")
    assert "People who log in to offhook." in english
    assert "Add a user who can log in." in english


@pytest.mark.parametrize(
    ("environ", "locale"),
    [
        ({"LANG": "de_CH.UTF-8"}, "de-CH"),
        ({"LANG": "de_AT.UTF-8"}, "de-AT"),
        ({"LANG": "de_LI.UTF-8"}, "de-CH"),  # German where it is not offered: the first way
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "de_DE.UTF-8"}, "de-DE"),
        ({"LC_ALL": "C", "LANG": "de_CH.UTF-8"}, "en"),
        ({"LANG": "POSIX"}, "en"),
        ({}, "en"),
    ],
)
def test_the_locale_of_the_environment(environ: dict[str, str], locale: str) -> None:
    assert language.of_environment(environ) == locale


def _run(*args: str, **locale: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env |= {"COLUMNS": "200", **locale}
    return subprocess.run(
        [sys.executable, "-c", "from offhook.cli.main import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_framing_of_help_and_errors_follows_the_systems_language() -> None:
    """click's and typer's own words around offhook's: "Usage:", the panels, --help's help,
    and the errors they write."""
    german = _help("users", "add", LANG="de_CH.UTF-8")
    assert "Aufruf: " in german
    for title in ("Argumente", "Optionen"):
        assert f"─ {title} ─" in german
    assert "Diese Hilfe anzeigen und beenden." in german
    assert "[erforderlich]" in german
    for english in ("Usage:", "Show this message and exit.", "─ Options ─", "─ Arguments ─"):
        assert english not in german
    assert "─ Befehle ─" in _help("users", LANG="de_CH.UTF-8")

    missing = _run("users", "add", LANG="de_CH.UTF-8")
    assert missing.returncode == 2
    assert "Fehlendes Argument 'login'." in missing.stderr
    assert "─ Fehler ─" in missing.stderr
    assert "Hilfe mit '" in missing.stderr
    unknown = _run("numbers", "parse", "044", "--plan", "x", LANG="de_DE.UTF-8")
    assert unknown.returncode == 2
    assert "Unbekannte Option: --plan" in unknown.stderr

    english = _run("users", "add", LANG="C.UTF-8")
    assert english.returncode == 2
    assert "Usage: " in english.stderr
    assert "Missing argument 'login'." in english.stderr
    assert "─ Error ─" in english.stderr
    assert "Show this message and exit." in _help("users", LANG="C.UTF-8")


def test_number_problems_in_the_command_lines_language() -> None:
    german = _run("numbers", "parse", "044 123 45", "--country", "CH", LANG="de_CH.UTF-8")
    assert german.returncode == 0, german.stderr
    assert "zu kurz für eine Nummer (Schweiz)" in german.stdout
    assert "too short" not in german.stdout
    assert "Nummernplan: Land CH, keine Vorwahl" in german.stdout
    machine = _run(
        "numbers", "parse", "044 123 45", "--country", "CH", "--json", LANG="de_CH.UTF-8"
    )
    assert '"error": "too short for a Swiss number"' in machine.stdout
    assert '"code": "too_short"' in machine.stdout
