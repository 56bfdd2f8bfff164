"""`offhook import csv|vcard`."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from offhook.cli.intake import import_app
from offhook.store import Store
from offhook.store.models import Address

cli = typer.Typer()
cli.add_typer(import_app, name="import")  # as the offhook command registers it
runner = CliRunner()

EXCEL = (
    "Name;Vorname;Firma;Telefon;Telefon privat;Bemerkung\r\n"
    "Müller;Anna;Muster AG;044 668 18 12;;Kundin seit 2019\r\n"
    "Keller;Peter;Muster AG;044 668 18 10;044 401 22 18;\r\n"
    ";;;044 111 22 33;;\r\n"
)


@pytest.fixture
def env(store: Store, tmp_path: Path) -> dict[str, str]:
    return {
        "OFFHOOK_DATABASE_URL": store.engine.url.render_as_string(hide_password=False),
        "OFFHOOK_DATA_DIR": str(tmp_path),
        "COLUMNS": "200",
    }


def invoke(env: dict[str, str], *args: str) -> Result:
    return runner.invoke(cli, ["import", *args], env=env)


def count(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(Address)) or 0)


def test_import_csv_with_a_mapping(env: dict[str, str], store: Store, tmp_path: Path) -> None:
    path = tmp_path / "kontakte.csv"
    path.write_bytes(EXCEL.encode("cp1252"))
    mapping = "Name=last_name,Vorname=first_name,Firma=company_name,Telefon=phone,5=phone"
    result = invoke(env, "csv", str(path), "--map", mapping)
    assert result.exit_code == 0, result.output
    assert "Windows-1252, columns separated by semicolon" in result.stdout
    assert "Imported 2 of 3 rows and created 1 company" in result.stdout
    assert "no name and no company" in result.stdout
    assert count(store) == 3
    again = invoke(env, "csv", str(path), "--map", mapping, "--report", str(tmp_path / "r.csv"))
    assert "Duplicates skipped: 2" in again.stdout and count(store) == 3
    with (tmp_path / "r.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["severity"] for row in rows] == ["duplicate", "duplicate", "error"]
    assert rows[0]["address_id"]


def test_guessed_columns_and_a_dry_run(env: dict[str, str], store: Store, tmp_path: Path) -> None:
    path = tmp_path / "kontakte.csv"
    path.write_bytes(EXCEL.encode("utf-8-sig"))
    result = invoke(env, "csv", str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "UTF-8 with BOM" in result.stdout and "Would import 2 of 3 rows" in result.stdout
    assert "Nothing was imported" in result.stdout and count(store) == 0


def test_bad_input_is_refused_with_a_reason(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "kontakte.csv"
    path.write_bytes(EXCEL.encode())
    result = invoke(env, "csv", str(path), "--map", "Fax=fax")
    assert result.exit_code == 1 and "no column 'Fax'" in result.stderr
    assert invoke(env, "csv", str(tmp_path / "missing.csv")).exit_code == 2
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert "empty" in invoke(env, "csv", str(empty)).stderr


def test_import_vcard(env: dict[str, str], store: Store, tmp_path: Path) -> None:
    path = tmp_path / "contacts.vcf"
    path.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller;Anna;;;\r\nORG:Muster AG\r\n"
        "TEL;TYPE=CELL:079 412 33 18\r\nEND:VCARD\r\n"
    )
    result = invoke(env, "vcard", str(path))
    assert result.exit_code == 0, result.output
    assert "1 card," in result.stdout
    assert "Imported 1 of 1 row and created 1 company" in result.stdout
    assert count(store) == 2


def test_the_import_speaks_the_systems_language(tmp_path: Path) -> None:
    """The summary and the problems in German under a German locale (a real `offhook` run)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env |= {"COLUMNS": "200", "LANG": "de_CH.UTF-8", "OFFHOOK_DATA_DIR": str(tmp_path)}
    path = tmp_path / "adressen.csv"
    path.write_bytes(b"Vorname;Nachname;Firma;Telefon\r\n;;Muster AG;044 123 45\r\n;;;1\r\n")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from offhook.cli.main import main; main()",
            "import",
            "csv",
            str(path),
            "--dry-run",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Würde 1 von 2 Zeilen importieren" in done.stdout
    assert "kein Name und keine Firma" in done.stdout
    assert "zu kurz für eine Nummer (Schweiz)" in done.stdout
    assert "Would import" not in done.stdout and "too short" not in done.stdout
