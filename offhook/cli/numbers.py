"""`offhook numbers parse` and `offhook numbers normalize`.

`parse` reads each NUMBER the way offhook would and prints what it makes of it. Which reading:

- `--entered`: as typed into an address of the CRM (`offhook.numbers.parse`);
- `--incoming`: as a phone system delivers a caller's number (`parse_incoming`): the
  outside-line prefix is stripped where the settings say the phone system prepends it, "P"
  and "O" mean withheld, digits without any prefix are read as a national number first;
  `--incoming-with-outside-line` implies it;
- neither (the default): as entered, unless that gives no number and the phone-system reading
  does. A number in a table may come from either side; the reading that makes sense wins, and
  `read_as` in the output says which one it was.

The settings are those of Settings › Telephony when the database can be read; each option
overrides its setting for this call only. Without a database (a fresh machine) the defaults
apply, and a note on stderr says so: parsing needs no server and no database.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from offhook.cli.common import err, fail, open_store, out, print_json_lines
from offhook.directory.normalization import NormalizationBusy, normalize_numbers
from offhook.directory.normalization import Progress as Run
from offhook.directory.normalization.report import write_report
from offhook.numbers import (
    NumberingPlan,
    NumberKind,
    ParsedNumber,
    dial_string,
    display,
    parse,
    parse_incoming,
)
from offhook.settings.config import Config
from offhook.settings.language import N_, _, ngettext, number_text
from offhook.settings.number_problems import problem_text
from offhook.settings.telephony import TelephonySettings
from offhook.store import Store

numbers_app = typer.Typer(
    help=N_("Phone numbers: how offhook reads them, and normalizing the stored ones."),
    no_args_is_help=True,
)

DEFAULT_REPORT = Path("offhook-numbers-not-normalized.csv")


def stored_settings() -> tuple[dict[str, Any], str | None]:
    """The numbering fields of Settings › Telephony, or the defaults and why."""
    defaults = TelephonySettings().model_dump()
    try:
        url = Config().resolved_database_url()
    except Exception as exc:  # a broken OFFHOOK_* variable must not stop a parse
        return defaults, f"the configuration is not valid ({exc})"
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return defaults, "there is no offhook database here yet"
    store = Store(url)
    try:
        with store.session() as session:
            return TelephonySettings.load(session).model_dump(), None
    except Exception as exc:
        reason = str(exc).splitlines()[0][:200]
        return defaults, f"the database could not be read ({reason})"
    finally:
        store.dispose()


def numbering_plan_for(
    *,
    country: str | None,
    area_code: str | None,
    outside_line: str | None,
    incoming_with_outside_line: bool | None,
    internal_max_length: int | None,
) -> NumberingPlan:
    """The stored plan with the given options put over it (raises ValueError for bad ones)."""
    overrides = {
        "country": country,
        "area_code": area_code,
        "outside_line": outside_line,
        "incoming_with_outside_line": incoming_with_outside_line,
        "internal_max_length": internal_max_length,
    }
    given = {key: value for key, value in overrides.items() if value is not None}
    if len(given) == len(overrides):
        stored: dict[str, Any] = {}
        note = None  # every setting given: the database has nothing to add
    else:
        stored, note = stored_settings()
    if note is not None:
        err.print(f"Note: {note}; using the default telephony settings where no option is given.")
    values = {key: given.get(key, stored.get(key)) for key in overrides}
    return NumberingPlan.build(
        country=str(values["country"] or "CH"),
        area_code=values["area_code"],
        outside_line=values["outside_line"],
        incoming_with_outside_line=bool(values["incoming_with_outside_line"]),
        internal_max_length=values["internal_max_length"],
    )


def read(text: str, plan: NumberingPlan, how: str) -> tuple[ParsedNumber, str]:
    """`text` read `how` ("entered", "incoming" or "auto"), and the reading used."""
    if how == "incoming":
        return parse_incoming(text, plan), "incoming"
    entered = parse(text, plan)
    if how == "entered" or entered.kind is not NumberKind.INVALID:
        return entered, "entered"
    incoming = parse_incoming(text, plan)
    if incoming.kind is not NumberKind.INVALID:
        return incoming, "incoming"
    return entered, "entered"


def number_json(number: ParsedNumber, plan: NumberingPlan, read_as: str) -> dict[str, Any]:
    return {
        "input": number.input,
        "e164": number.e164,
        "kind": number.kind.value,
        "national": number.national,
        "international": number.international,
        "display": display(number, plan),
        "dial": dial_string(number, plan),
        "error": number.error,  # English, for machines; `problem` is its code and parts
        "problem": None if number.problem is None else number.problem.to_json(),
        "extension": number.extension,
        "region": number.region,
        "block_prefix": number.block,
        "read_as": read_as,
    }


@numbers_app.command(
    "parse", help=N_("Show how offhook reads phone numbers: E.164, kind, display and dial string.")
)
def parse_command(
    numbers: Annotated[
        list[str] | None,
        typer.Argument(
            help=N_(
                "The numbers, as typed or delivered (read from stdin, one per line, "
                "when none is given)."
            ),
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help=N_("One JSON object per number and line."))
    ] = False,
    country: Annotated[
        str | None, typer.Option(help=N_("Home country, e.g. CH, DE or +49."))
    ] = None,
    area_code: Annotated[str | None, typer.Option(help=N_("Home area code, e.g. 44."))] = None,
    outside_line: Annotated[
        str | None, typer.Option(help=N_("Outside-line prefix, e.g. 0."))
    ] = None,
    incoming_with_outside_line: Annotated[
        bool | None,
        typer.Option(
            "--incoming-with-outside-line/--incoming-without-outside-line",
            help=N_(
                "The phone system prepends the outside-line prefix to incoming "
                "numbers (implies --incoming)."
            ),
            show_default=False,
        ),
    ] = None,
    internal_max_length: Annotated[
        int | None, typer.Option(help=N_("Internal numbers have at most this many digits."))
    ] = None,
    incoming: Annotated[
        bool,
        typer.Option("--incoming", help=N_("Read the numbers as a phone system delivers them.")),
    ] = False,
    entered: Annotated[
        bool, typer.Option("--entered", help=N_("Read the numbers as typed into an address."))
    ] = False,
) -> None:
    if incoming and entered:
        fail(_("choose --incoming or --entered, not both"))
    texts = list(numbers or [])
    if not texts and not sys.stdin.isatty():
        texts = [line.rstrip("\r\n") for line in sys.stdin if line.strip()]
    if not texts:
        fail(_("give at least one number, e.g. offhook numbers parse '044 668 18 12'"))
    try:
        plan = numbering_plan_for(
            country=country,
            area_code=area_code,
            outside_line=outside_line,
            incoming_with_outside_line=incoming_with_outside_line,
            internal_max_length=internal_max_length,
        )
    except ValueError as exc:
        fail(str(exc), code=2)
    how = (
        "incoming" if incoming or incoming_with_outside_line else ("entered" if entered else "auto")
    )
    rows = []
    for text in texts:
        number, read_as = read(text, plan, how)
        rows.append(number_json(number, plan, read_as))
    if as_json:
        print_json_lines(rows)
        return
    table = Table(_("Input"), _("Kind"), "E.164", _("Shown as"), _("Dialled as"), _("Note"))
    for row in rows:
        table.add_row(
            row["input"],
            row["kind"],
            row["e164"] or "",
            row["display"],
            row["dial"] or "",
            problem_text(row["error"]),
        )
    out.print(table)
    out.print("[dim]" + _("Plan: {plan}").format(plan=_describe(plan)) + "[/]")


def _describe(plan: NumberingPlan) -> str:
    parts = [_("country {country}").format(country=plan.country)]
    if plan.area_code:
        parts.append(_("area code {code}").format(code=plan.area_code))
    else:
        parts.append(_("no area code"))
    if plan.outside_line and plan.incoming_with_outside_line:
        text = _("outside line {digits} (prepended to incoming numbers)")
        parts.append(text.format(digits=plan.outside_line))
    elif plan.outside_line:
        parts.append(_("outside line {digits}").format(digits=plan.outside_line))
    parts.append(_("internal numbers up to {count} digits").format(count=plan.internal_max_length))
    return ", ".join(parts)


@numbers_app.command(
    "normalize",
    help=N_(
        "Normalize every stored phone number, with progress and a report of what failed.\n"
        "\n"
        "Only numbers normalized with other telephony settings (or never) are looked at, so "
        "running it again is cheap, and a run that was interrupted continues where it stopped."
    ),
)
def normalize_command(
    everything: Annotated[
        bool, typer.Option("--all", help=N_("Look at every number, not only those that need it."))
    ] = False,
    report: Annotated[
        Path,
        typer.Option(help=N_("Where to write the numbers that could not be normalized (CSV).")),
    ] = DEFAULT_REPORT,
    url: Annotated[
        str,
        typer.Option(
            help=N_("The offhook server, for the links in the report."), envvar="OFFHOOK_URL"
        ),
    ] = "http://127.0.0.1:8000",
    workers: Annotated[
        int | None,
        typer.Option(
            help=N_("Worker processes for parsing (default: one per core for large amounts)."),
            min=0,
        ),
    ] = None,
) -> None:
    store = open_store()
    columns = (
        TextColumn("Normalizing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("numbers · {task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task("normalize", total=None, rate="")

        def advance(run: Run) -> None:
            bar.update(task, total=run.total, completed=run.done, rate=f"{run.rate:,.0f}/s")

        try:
            run = normalize_numbers(
                store, everything=everything, workers=workers, on_progress=advance
            )
        except NormalizationBusy as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            err.print(_("Stopped. The numbers done so far are kept: run it again to continue."))
            raise typer.Exit(130) from None
        # Nothing to do is done too: a full bar, not an empty one.
        bar.update(task, total=run.total or 1, completed=run.done if run.total else 1)
    out.print(
        f"Looked at {run.done:,} numbers in {run.seconds:.1f} s ({run.rate:,.0f} per second): "
        f"{run.changed:,} changed."
    )
    if run.problems:
        count = write_report(store, report, url)
        text = ngettext(
            "{count} number could not be normalized; see the list in {path}",
            "{count} numbers could not be normalized; see the list in {path}",
            count,
        )
        out.print(text.format(count=number_text(count), path=report.resolve()))
    else:
        out.print(_("Every stored number could be normalized."))
    store.dispose()
