"""Every text the journal's script (static/journal.js) shows, marked for the catalogue and
handed to the page translated (a data attribute of the panel), so the script itself holds
English only as keys. Texts with {name} parts are filled in by the script."""

from __future__ import annotations

from collections.abc import Iterable

from offhook.calls import labels
from offhook.settings.language import N_, gettext

TEXTS = (
    N_("Answer"),
    N_("Reject"),
    N_("Hang up"),
    N_("Open"),
    N_("Create address"),
    N_("Call back"),
    N_("Call"),
    N_("Activity"),
    N_("Service"),
    N_("Not billable"),
    N_("Marked as not to be billed"),
    N_("{label} with a project"),
    N_("Choose a project"),
    N_("Projects of {name}"),
    N_("Projects"),
    N_("Other projects"),
    N_("No active projects"),
    N_("{count} matches ▾"),
    N_("Several addresses have this number"),
    N_("Who is it?"),
    N_("Ringing"),
    N_("Dialling"),
    N_("Connected"),
    N_("{reason} (by {name})"),
    N_("Number withheld"),
    N_("Unknown"),
    N_("via switchboard"),
    N_("Found by the company's switchboard number"),
    N_("Colleague"),
    N_("Caller unknown"),
    N_("Not in your addresses"),
    N_("Mark done"),
    N_("Done"),
    N_("Needs no call back"),
    N_("Called back"),
    N_("Answered later"),
    N_("✓ Activity"),
    N_("✓ Service"),
    N_("{count} missed"),
    N_("1 missed call to call back"),
    N_("{count} missed calls to call back"),
    N_("Call ringing: {caller}"),
    N_("number withheld"),
    N_("unknown number"),
    N_("Caller not in your addresses"),
    N_("Go to the telephony journal (Alt+J)"),
    N_("Desktop notifications"),
    N_("Be told of ringing calls while offhook is not in front"),
    N_("Desktop notifications are blocked in this browser's site settings."),
    N_("Could not keep the journal's place: {error}"),
    N_("The server answered {status}."),
    N_("Expand journal"),
    N_("Collapse journal"),
    N_("Expand"),
    N_("Collapse"),
    N_("live"),
    N_("reconnecting…"),
    *labels.ICON_LABELS.values(),
    labels.ANSWER_ON_THE_PHONE,
    *(label for label in labels.END_REASON_LABELS.values() if label),
    N_("connected"),
    N_("connecting"),
    N_("reconnecting"),
    N_("failed"),
    N_("stopped"),
)


#: Every text of offhook's own page scripts besides the journal (static/crm.js), handed over
#: with the drivers' page texts (`Driver.page_texts`) to `offhookText` (static/toast.js).
PAGE_TEXTS = (
    N_("this address"),
    N_("Projects of {name}"),
    N_("Other projects"),
    N_("Projects"),
    N_("(no project)"),
    N_("The server answered {status}."),
    N_("Calling {number} …"),
    N_("Could not call: {error}"),
)


def journal_texts() -> dict[str, str]:
    """The journal's texts in the current locale's language: only the translated ones."""
    return translated(TEXTS)


def translated(texts: Iterable[str]) -> dict[str, str]:
    """Texts of a page's scripts in the current locale's language: only the translated ones
    (a script shows the others as written)."""
    shown = {text: gettext(text) for text in texts}
    return {text: german for text, german in shown.items() if german != text}
