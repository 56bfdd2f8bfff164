"""The offhook command: users, lines, extensions, tokens, simulate; clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from offhook.app import Offhook
from offhook.cli.lines import _option_value
from offhook.cli.main import app
from offhook.settings.config import Config
from offhook.store import Store
from tests.livesite import live_server

runner = CliRunner()


@pytest.fixture
def env(sqlite_store: Store, tmp_path: Path) -> dict[str, str]:
    return {
        "OFFHOOK_DATABASE_URL": str(sqlite_store.engine.url),
        "OFFHOOK_DATA_DIR": str(tmp_path),
        "COLUMNS": "200",
    }


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_users_lines_tokens(env: dict[str, str]) -> None:
    code, out = run(
        env,
        "users",
        "add",
        "anna",
        "--name",
        "Anna Keller",
        "--admin",
        "--extension",
        "201",
        "--password",
        "long-enough-pw",
    )
    assert code == 0, out
    assert "Added Anna Keller (anna, admin)" in out
    code, out = run(env, "users", "add", "anna", "--password", "long-enough-pw")
    assert code == 1 and "already a user" in out
    code, out = run(env, "users", "add", "bob", "--password", "short")
    assert code == 1 and "at least 8 characters" in out
    code, out = run(env, "users", "list", "--json")
    assert json.loads(out.splitlines()[0])["extension"] == "201"

    code, out = run(env, "lines", "add", "anna", "--driver", "simulator", "--address", "201")
    assert code == 1 and "not installed" in out and "offhook drivers install simulator" in out
    code, out = run(env, "drivers", "install", "simulator")
    assert code == 0, out
    code, out = run(
        env,
        "lines",
        "add",
        "anna",
        "--driver",
        "simulator",
        "--address",
        "201",
        "-o",
        "answer_after=2",
        "-o",
        'busy_numbers=["0800"]',
    )
    assert code == 0, out
    code, out = run(
        env,
        "lines",
        "add",
        "anna",
        "--driver",
        "simulator",
        "--address",
        "202",
        "-o",
        "no_such_option=1",
    )
    assert code == 1 and "no_such_option" in out
    code, out = run(env, "lines", "add", "nobody", "--driver", "simulator", "--address", "1")
    assert code == 1 and "no user with the login 'nobody'" in out
    # With --driver the line gets a phone system of its own, and the options are its.
    code, out = run(env, "phone-systems", "list", "--json")
    system = json.loads(out.splitlines()[0])
    assert system["options"]["answer_after"] == 2 and system["options"]["busy_numbers"] == ["0800"]
    code, out = run(env, "lines", "list", "--json")
    line = json.loads(out.splitlines()[0])
    assert line["phone_system"] == system["id"] and line["options"] == {}

    # A phone system for the team, set up once; each user's line names their extension on it.
    code, out = run(
        env,
        "phone-systems",
        "add",
        "--driver",
        "simulator",
        "--name",
        "Office PBX",
        "-o",
        'ring_groups={"600": ["201", "202"]}',
    )
    assert code == 0, out
    code, out = run(env, "lines", "add", "anna", "--phone-system", "Office PBX", "--address", "201")
    assert code == 0, out
    code, out = run(env, "lines", "add", "anna", "--phone-system", "Office PBX", "--address", "201")
    assert code == 1 and "201 is already a line on Office PBX (Anna Keller's)" in out
    code, out = run(env, "lines", "add", "anna", "--address", "203")
    assert code == 1 and "--phone-system" in out
    code, out = run(env, "lines", "add", "anna", "--phone-system", "Nope", "--address", "1")
    assert code == 1 and "no phone system 'Nope'" in out
    code, out = run(env, "phone-systems", "list", "--json")
    office = json.loads(out.splitlines()[1])
    assert office["name"] == "Office PBX" and len(office["lines"]) == 1

    code, out = run(env, "tokens", "create", "anna", "--name", "script")
    assert code == 0 and out.strip().splitlines()[-1].startswith("ohk_")
    code, out = run(env, "tokens", "create", "nobody")
    assert code == 1


def test_broken_database_url_is_explained(tmp_path: Path) -> None:
    code, out = run(
        {"OFFHOOK_DATABASE_URL": "mysql://x", "OFFHOOK_DATA_DIR": str(tmp_path)}, "users", "list"
    )
    assert code == 1 and "must start with sqlite:/// or postgresql://" in out
    code, out = run(
        {
            "OFFHOOK_DATABASE_URL": "postgresql://127.0.0.1:1/nope",
            "OFFHOOK_DATA_DIR": str(tmp_path),
        },
        "users",
        "list",
    )
    assert code == 1 and "could not prepare the database" in out


def test_simulate_call_against_a_running_server(
    env: dict[str, str], sqlite_store: Store, tmp_path: Path
) -> None:
    run(env, "users", "add", "anna", "--password", "long-enough-pw")
    run(env, "extensions", "install", "simulator")  # the settings page's word still works
    run(env, "lines", "add", "anna", "--driver", "simulator", "--address", "201")
    token = run(env, "tokens", "create", "anna")[1].strip().splitlines()[-1]
    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store)) as base:
        code, out = run(
            {**env, "OFFHOOK_URL": base, "OFFHOOK_TOKEN": token},
            "simulate",
            "call",
            "--from",
            "+41 44 668 18 12",
            "--outcome",
            "missed",
            "--ring",
            "0",
        )
        assert code == 0, out
        assert "is ringing on line" in out
        code, out = run(
            {**env, "OFFHOOK_URL": base, "OFFHOOK_TOKEN": "ohk_wrong"},
            "simulate",
            "call",
            "--from",
            "044",
        )
        assert code == 1 and "not valid" in out
        code, out = run(
            {**env, "OFFHOOK_URL": base, "OFFHOOK_TOKEN": token},
            "simulate",
            "call",
            "--from",
            "044",
            "--outcome",
            "maybe",
        )
        assert code == 1 and "--outcome must be" in out
    code, out = run(
        {**env, "OFFHOOK_URL": "http://127.0.0.1:9", "OFFHOOK_TOKEN": token},
        "simulate",
        "call",
        "--from",
        "044",
    )
    assert code == 1 and "could not reach offhook" in out


def test_option_values_are_json_only_where_meant_as_json() -> None:
    assert _option_value("4444") == 4444
    assert _option_value("1234567e0") == "1234567e0"
    assert _option_value("007") == "007"
    assert _option_value("true") is True
    assert _option_value('["a", "b"]') == ["a", "b"]
    assert _option_value("sip:{number}@pbx.example.com") == "sip:{number}@pbx.example.com"
    assert _option_value("[broken") == "[broken"
