"""Every word offhook uses for a call's kind, state and outcome: the journal, the call history,
the pages and the texts of activities all take them from here."""

from __future__ import annotations

from offhook.settings.language import N_, gettext

# The four kinds of journal icon the product description names.
ICON_LABELS = {
    "ringing": N_("Call while ringing"),
    "ongoing": N_("Ongoing call"),
    "incoming": N_("Incoming call"),
    "outgoing": N_("Outgoing call"),
}
MISSED_CALL = N_("Missed call")
DIRECTION_LABELS = {"incoming": N_("Incoming"), "outgoing": N_("Outgoing")}
# A call not yet ended.
STATE_LABELS = {"ringing": N_("Ringing"), "dialling": N_("Dialling"), "connected": N_("Connected")}
# Why a call ended, as the journal says it next to the call; an answered call needs no word.
END_REASON_LABELS = {
    "answered": "",
    "missed": N_("Missed"),
    "cancelled": N_("Not answered"),
    "busy": N_("Busy"),
    "rejected": N_("Rejected"),
    "failed": N_("Failed"),
    # A ring-group call that a colleague took instead.
    "answered_elsewhere": N_("Answered elsewhere"),
}
# A ringing call on a line whose phone system cannot answer for the user (AMI cannot take a
# desk phone off hook): the journal says so instead of offering a button that cannot work.
ANSWER_ON_THE_PHONE = N_(
    "Pick up your phone to answer: this phone system does not let offhook answer calls."
)
OPEN = "open"
# A call's outcome as the call history names it and filters by; "open" are calls still ringing
# or going on.
OUTCOME_LABELS = {
    "answered": N_("Answered"),
    **{reason: label for reason, label in END_REASON_LABELS.items() if label},
    OPEN: N_("Ringing or ongoing"),
}
# Who hung up.
HANGUP_LABELS = {"local": N_("this line"), "remote": N_("the other side")}


def call_label(direction: str) -> str:
    """ "Incoming call" or "Outgoing call", as the icon of an ended call says it."""
    return ICON_LABELS["incoming" if direction == "incoming" else "outgoing"]


def end_reason_label(end_reason: str | None) -> str:
    return END_REASON_LABELS.get(end_reason or "", "")


def outcome(state: str, end_reason: str | None) -> tuple[str, str]:
    """The kind of a call's outcome ("open", "answered", "missed"…) and its label."""
    if state != "ended":
        return (OPEN, STATE_LABELS.get(state, state))
    reason = end_reason or "answered"
    return (reason, OUTCOME_LABELS.get(reason, reason))


def answered_by_text(label: str, answered_by: str | None) -> str:
    """ "Answered elsewhere (by Anna Müller)" when it is known who took the call."""
    if not answered_by:
        return gettext(label)
    return gettext("{reason} (by {name})").format(reason=gettext(label), name=answered_by)
