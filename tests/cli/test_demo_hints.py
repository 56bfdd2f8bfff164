"""Issue 12, item 10: the demo's printed hints work as printed, with any port and data folder,
from another shell; every command finds the database the server uses with the same settings;
a command pointed at a database that does not exist says so and leaves nothing behind."""

from __future__ import annotations

import shlex
from pathlib import Path

from typer.testing import CliRunner

from offhook.app import Offhook
from offhook.cli.main import app
from offhook.cli.server import demo_hints
from offhook.intake.demo import seed_demo
from offhook.settings.config import Config
from offhook.store import Store
from tests.livesite import free_port, live_server

runner = CliRunner()


def _run_as_printed(command: str, home: Path) -> tuple[int, str]:
    """Run a printed command line as a new shell would: its VAR=value words are its only
    settings (nothing of the demo's environment), the rest is the command."""
    words = shlex.split(command)
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "share"), "COLUMNS": "200"}
    while "=" in words[0]:
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    assert words[0] == "offhook"
    result = runner.invoke(app, words[1:], env=env)
    return result.exit_code, result.output


def _demo_store(data_dir: Path) -> tuple[Store, str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(f"sqlite:///{data_dir / 'demo.sqlite'}")
    store.migrate()
    token = seed_demo(store, call_every=0)
    (data_dir / "demo-token").write_text(token + "\n")
    return store, token


def test_the_demos_hints_work_as_printed(tmp_path: Path) -> None:
    data_dir = tmp_path / "somewhere" / "demo data"
    store, _ = _demo_store(data_dir)
    port = free_port()
    config = Config(data_dir=data_dir, demo=True)
    simulate, lookup = demo_hints(config, "0.0.0.0", port)  # noqa: S104
    assert f"--url http://127.0.0.1:{port}" in simulate
    with live_server(Offhook(config, store), port=port):
        code, out = _run_as_printed(simulate, tmp_path / "home")
        assert code == 0, out
        assert "is ringing on line" in out
    code, out = _run_as_printed(lookup, tmp_path / "home")
    assert code == 0, out
    assert "Anna Müller" in out
    store.dispose()


def test_commands_find_the_demos_database_in_its_folder(tmp_path: Path) -> None:
    store, _ = _demo_store(tmp_path)
    store.dispose()
    env = {"OFFHOOK_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    result = runner.invoke(app, ["lookup", "+41 44 668 18 12"], env=env)
    assert result.exit_code == 0, result.output
    assert "Anna Müller" in result.output
    assert not (tmp_path / "offhook.sqlite").exists()


def test_a_missing_database_is_reported_not_created(tmp_path: Path) -> None:
    env = {"OFFHOOK_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    for command in (["lookup", "+41 44 668 18 12"], ["users", "list"], ["lines", "list"]):
        result = runner.invoke(app, command, env=env)
        assert result.exit_code == 1, (command, result.output)
        assert "there is no offhook database at" in result.output
    assert list(tmp_path.iterdir()) == []
    # Setting offhook up creates it, as before.
    result = runner.invoke(app, ["users", "add", "anna", "--password", "long-enough-pw"], env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "offhook.sqlite").exists()
