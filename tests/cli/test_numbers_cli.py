"""`offhook numbers parse|normalize`, `offhook lookup`, `offhook demo-data`."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from offhook.cli.intake import demo_data
from offhook.cli.lookup import lookup
from offhook.cli.numbers import numbers_app
from offhook.directory.normalization.job import _exclusive
from offhook.store import Store
from tests import factories

# Registered as the offhook command registers them (see offhook/cli/main.py).
cli = typer.Typer()
cli.add_typer(numbers_app, name="numbers")
cli.command("lookup")(lookup)
cli.command("demo-data")(demo_data)
runner = CliRunner()


@pytest.fixture
def env(store: Store, tmp_path: Path) -> dict[str, str]:
    return {
        "OFFHOOK_DATABASE_URL": store.engine.url.render_as_string(hide_password=False),
        "OFFHOOK_DATA_DIR": str(tmp_path),
        "COLUMNS": "200",
    }


@pytest.fixture
def fresh(tmp_path: Path) -> dict[str, str]:
    """A machine where offhook never ran: no database anywhere."""
    return {"OFFHOOK_DATA_DIR": str(tmp_path / "nothing"), "OFFHOOK_DATABASE_URL": ""}


def invoke(env: dict[str, str], *args: str, stdin: str | None = None) -> Any:
    return runner.invoke(cli, list(args), env=env, input=stdin)


def parsed(result: Any) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_parse_prints_one_object_per_number_in_order(fresh: dict[str, str]) -> None:
    texts = [
        "+41 44 668 18 12",
        "anonymous",
        "231",
        "12345",
        "+49 30 901820",
        "0041 (0)44 668 18 00",
    ]
    rows = parsed(invoke(fresh, "numbers", "parse", "--json", *texts))
    assert [row["input"] for row in rows] == texts
    assert {"input", "e164", "kind", "national", "international", "display", "dial", "error"} <= (
        rows[0].keys()
    )
    first, withheld, internal, invalid, german, block = rows
    assert (first["e164"], first["kind"], first["display"], first["dial"]) == (
        "+41446681812",
        "external",
        "044 668 18 12",
        "0446681812",
    )
    assert first["national"] == "044 668 18 12"
    assert first["international"] == "+41 44 668 18 12"
    assert (withheld["kind"], withheld["e164"], withheld["dial"]) == ("withheld", None, None)
    assert (internal["kind"], internal["dial"], internal["display"]) == ("internal", "231", "231")
    assert invalid["kind"] == "invalid" and invalid["e164"] is None and invalid["error"]
    assert (german["display"], german["dial"]) == ("+49 30 901820", "004930901820")
    assert block["block_prefix"] == "+414466818"


def test_parse_works_on_a_fresh_machine_and_says_so(fresh: dict[str, str], tmp_path: Path) -> None:
    result = invoke(fresh, "numbers", "parse", "--json", "044 668 18 12")
    assert parsed(result)[0]["e164"] == "+41446681812"
    assert "default telephony settings" in result.stderr
    assert not (tmp_path / "nothing").exists()  # parsing creates no database


def test_parse_falls_back_when_the_database_cannot_be_opened(tmp_path: Path) -> None:
    env = {"OFFHOOK_DATABASE_URL": "postgresql://127.0.0.1:9/nowhere"}
    result = invoke(env, "numbers", "parse", "--json", "--country", "DE", "030 901820")
    assert parsed(result)[0]["e164"] == "+4930901820"
    assert "could not be read" in result.stderr


def test_options_override_the_stored_settings_for_this_call(
    env: dict[str, str], store: Store
) -> None:
    factories.telephony(store, country="DE", area_code="30", outside_line="0")
    stored = parsed(invoke(env, "numbers", "parse", "--json", "901820"))[0]
    assert (stored["e164"], stored["display"], stored["dial"]) == (
        "+4930901820",
        "030 901820",
        "0030901820",
    )
    other = parsed(
        invoke(
            env,
            "numbers",
            "parse",
            "--json",
            "--country",
            "AT",
            "--area-code",
            "1",
            "--outside-line",
            "",
            "5123456",
        )
    )[0]
    assert (other["e164"], other["dial"]) == ("+4315123456", "015123456")
    again = parsed(invoke(env, "numbers", "parse", "--json", "901820"))[0]
    assert again["e164"] == "+4930901820"  # the stored settings are unchanged


def test_incoming_numbers_with_the_outside_line(fresh: dict[str, str]) -> None:
    args = ["numbers", "parse", "--json", "--outside-line", "0"]
    plain = parsed(invoke(fresh, *args, "00441234567"))[0]
    assert plain["kind"] == "invalid"  # +44 1234567: no UK number
    stripped = parsed(invoke(fresh, *args, "--incoming-with-outside-line", "00441234567"))[0]
    assert (stripped["e164"], stripped["read_as"]) == ("+41441234567", "incoming")
    assert stripped["display"] == "044 123 45 67"


def test_which_reading(fresh: dict[str, str]) -> None:
    auto = parsed(invoke(fresh, "numbers", "parse", "--json", "P", "044 668 18 12"))
    assert [(r["kind"], r["read_as"]) for r in auto] == [
        ("withheld", "incoming"),
        ("external", "entered"),
    ]
    entered = parsed(invoke(fresh, "numbers", "parse", "--json", "--entered", "P"))
    assert entered[0]["kind"] == "invalid"
    both = invoke(fresh, "numbers", "parse", "--incoming", "--entered", "1")
    assert both.exit_code == 1


def test_parse_reads_standard_input_and_prints_a_table(fresh: dict[str, str]) -> None:
    rows = parsed(invoke(fresh, "numbers", "parse", "--json", stdin="044 668 18 12\n\n231\n"))
    assert [r["kind"] for r in rows] == ["external", "internal"]
    table = invoke(fresh, "numbers", "parse", "044 668 18 12")
    assert table.exit_code == 0
    assert "+41446681812" in table.stdout and "044 668 18 12" in table.stdout


def test_parse_refuses_settings_that_make_no_sense(fresh: dict[str, str]) -> None:
    result = invoke(fresh, "numbers", "parse", "--country", "Atlantis", "1")
    assert result.exit_code == 2 and "Unknown country" in result.stderr


def test_lookup(env: dict[str, str], store: Store) -> None:
    anna = factories.address(store, numbers=(("phone", "044 668 18 12"),))
    rows = parsed(invoke(env, "lookup", "--json", "+41446681812"))
    assert [r["address_id"] for r in rows] == [anna.id]
    assert rows[0]["name"] == "Anna Müller, Muster AG" and rows[0]["match"] == "exact"
    assert rows[0]["number_as_entered"] == "044 668 18 12" and rows[0]["full_address"]
    assert invoke(env, "lookup", "--json", "+41449999999").stdout == ""
    table = invoke(env, "lookup", "0446681812")
    assert "Anna Müller" in table.stdout and "exact" in table.stdout
    assert "No address" in invoke(env, "lookup", "+41449999999").stdout
    assert "withheld" in invoke(env, "lookup", "anonymous").stdout


def test_normalize_with_a_report(env: dict[str, str], store: Store, tmp_path: Path) -> None:
    anna = factories.address(store, numbers=(("phone", "668 18 12"), ("phone", "12345")))
    factories.telephony(store, area_code="44")
    report = tmp_path / "report.csv"
    result = invoke(
        env, "numbers", "normalize", "--report", str(report), "--url", "https://crm.example"
    )
    assert result.exit_code == 0, result.output
    assert "Looked at 2 numbers" in result.stdout and "2 changed" in result.stdout
    assert str(report) in result.stdout.replace("\n", "")
    with report.open(encoding="utf-8-sig") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["link"] == f"https://crm.example/addresses/{anna.id}"
    assert row["number_as_entered"] == "12345"
    again = invoke(env, "numbers", "normalize", "--report", str(report))
    assert "Looked at 0 numbers" in again.stdout


def test_normalize_says_when_another_run_is_busy(env: dict[str, str], store: Store) -> None:
    with _exclusive(store):
        result = invoke(env, "numbers", "normalize")
    assert result.exit_code == 1 and "being normalized right now" in result.stderr


def test_demo_data(env: dict[str, str], store: Store, tmp_path: Path) -> None:
    result = invoke(env, "demo-data", "--addresses", "150", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert "Added 150 addresses" in result.stdout
    report = str(tmp_path / "report.csv")
    again = invoke(env, "numbers", "normalize", "--report", report)
    assert "Looked at 0 numbers" in again.stdout  # written normalized


def test_demo_data_with_a_call_history(env: dict[str, str], store: Store) -> None:
    result = invoke(
        env, "demo-data", "--addresses", "150", "--call-users", "2", "--call-days", "14"
    )
    assert result.exit_code == 0, result.output
    assert "Added 2 users with " in result.stdout
    from sqlalchemy import func, select

    from offhook.store.models import Call, Line

    with store.session() as session:
        per_line = dict(
            session.execute(select(Call.line_id, func.count()).group_by(Call.line_id)).all()
        )
        lines = set(session.scalars(select(Line.id)))
    assert set(per_line) == lines and min(per_line.values()) > 20
