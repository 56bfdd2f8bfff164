"""`offhook lookup NUMBER`: who a number belongs to, as the journal would show it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from offhook.cli.common import open_store, out, print_json_lines
from offhook.directory.lookup import find_caller
from offhook.numbers import NumberKind
from offhook.settings.language import N_, _
from offhook.settings.number_problems import problem_text
from offhook.settings.telephony import TelephonySettings

MATCH_LABELS = {
    "exact": "exact",
    "switchboard": "switchboard (approximate)",
    "internal": "colleague",
}


LOOKUP_HELP = N_("Find the addresses (or colleagues) a phone number belongs to, best match first.")


def lookup(
    number: Annotated[str, typer.Argument(help=N_("The number, as a phone system delivers it."))],
    as_json: Annotated[
        bool, typer.Option("--json", help=N_("One JSON object per match and line."))
    ] = False,
) -> None:
    store = open_store()
    try:
        with store.session() as session:
            settings = TelephonySettings.load(session)
            parsed, matches = find_caller(session, number, settings)
    finally:
        store.dispose()
    if as_json:
        print_json_lines(match.to_json() for match in matches)
        return
    if parsed.kind is NumberKind.WITHHELD:
        out.print(_("The number is withheld: there is nothing to look up."))
        return
    if parsed.kind is NumberKind.INVALID:
        out.print(
            _("This is not a phone number offhook can look up: {problem}.").format(
                problem=problem_text(parsed.error)
            )
        )
        return
    if not matches:
        out.print(
            _("No address has the number {number}.").format(number=parsed.e164 or parsed.extension)
        )
        return
    table = Table("Name", "Match", "Number as entered", "Address", "Id")
    for match in matches:
        table.add_row(
            match.name,
            MATCH_LABELS[match.match],
            match.number_as_entered,
            match.full_address.replace("\n", ", "),
            str(match.address_id if match.address_id is not None else f"user {match.user_id}"),
        )
    out.print(table)
