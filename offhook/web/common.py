"""Small pieces every CRM page uses: a store session in a worker thread, the submitted form,
redirects, ownership checks and pager links."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, Protocol, TypeVar
from urllib.parse import urlencode

from fastapi import HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from offhook.crm.forms import Form
from offhook.crm.paging import Page
from offhook.directory.names import ADDRESS_KINDS, CHANNEL_LABELS, display_name, full_address
from offhook.settings.language import N_, _
from offhook.settings.telephony import SettingsCache
from offhook.store.models import Address
from offhook.web.context import offhook_of
from offhook.web.security import CurrentUser
from offhook.web.templating import render

T = TypeVar("T")

# Query parameters of the CRM pages, read as text and leniently: a hand-edited URL shows a
# page (perhaps an unfiltered one), never a bare validation error.
Text = Annotated[str, Query(max_length=200)]
PageNo = Annotated[str, Query(alias="page", max_length=10)]  # see `paging.page_number`
FromDay = Annotated[str, Query(alias="from", max_length=20)]  # see `forms.parse_day`
ToDay = Annotated[str, Query(alias="to", max_length=20)]


def ref(text: str) -> int | None:
    """The id in a query parameter or form field; None when there is none."""
    return int(text) if text.isdigit() else None


async def in_session(request: Request, work: Callable[[Session], T]) -> T:
    """Run `work` in one transaction, in a worker thread: the database never blocks the
    event loop that pushes journal updates."""

    def run() -> T:
        with offhook_of(request).store.session() as session:
            return work(session)

    return await asyncio.to_thread(run)


async def read_form(request: Request) -> Form:
    return Form.of((await request.form()).multi_items())


def see_other(url: str) -> RedirectResponse:
    """After a POST: the browser GETs the result, so a reload does not submit twice."""
    return RedirectResponse(url, status_code=303)


# Whole sentences for each kind of record: other languages write them differently for each.
NOT_YOURS = {
    "call": N_("There is no such call among yours."),
    "service": N_("There is no such service among yours."),
    "activity": N_("There is no such activity among yours."),
}
GONE = {
    "address": N_("There is no such address. It may have been deleted."),
    "project": N_("There is no such project. It may have been deleted."),
}


def not_found(what: str, *, of_user: bool = False) -> HTTPException:
    """A 404 for a record of kind `what` (a key of NOT_YOURS or GONE); shown translated."""
    sentence = (NOT_YOURS if of_user else GONE).get(what)
    if sentence is None:
        sentence = N_("There is no such record. It may have been deleted.")
    return HTTPException(404, sentence)


class Owned(Protocol):
    user_id: int


R = TypeVar("R", bound=Owned)


def owned(row: R | None, user: CurrentUser, what: str, *, admin_too: bool = True) -> R:
    """`row` if it belongs to `user` (or `user` is an admin and admins may); else a 404, so
    nobody learns whether somebody else's record exists."""
    if row is None or (row.user_id != user.id and not (admin_too and user.is_admin)):
        raise not_found(what, of_user=True)
    return row


def query_url(request: Request, **changes: Any) -> str:
    """This page's URL with some query parameters changed (None removes one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


def pager(request: Request, page: Page[Any]) -> dict[str, str | None]:
    return {
        "prev": query_url(request, page=page.number - 1 if page.number > 2 else None)
        if page.has_prev
        else None,
        "next": query_url(request, page=page.number + 1) if page.has_next else None,
    }


def page(
    request: Request, template: str, user: CurrentUser, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render a CRM page with the helpers its templates share: an address's name and its
    full postal address (the hint on every blue address)."""
    with offhook_of(request).store.session() as session:
        home = SettingsCache.get(session).country

    def postal(address: Address) -> str:
        return full_address(address, home)

    helpers = {
        "name": display_name,
        "postal": postal,
        "home": home,
        "address_kinds": {kind: _(label) for kind, label in ADDRESS_KINDS.items()},
        "channel_labels": {kind: _(label) for kind, label in CHANNEL_LABELS.items()},
    }
    return render(request, template, user, status_code=status_code, **helpers, **context)
