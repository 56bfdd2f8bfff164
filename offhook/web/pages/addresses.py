"""Address pages: find, show, create, edit and delete addresses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from offhook.crm import address_form, address_search, addresses
from offhook.crm.address_form import AddressInput
from offhook.directory.names import display_name
from offhook.settings.language import _, ngettext
from offhook.settings.number_problems import problem_text
from offhook.settings.telephony import SettingsCache
from offhook.store.models import Address
from offhook.web.common import (
    Text,
    in_session,
    not_found,
    page,
    query_url,
    read_form,
    ref,
    see_other,
)
from offhook.web.context import offhook_of
from offhook.web.security import Admin, CurrentUser, User_, csrf_protect
from offhook.web.templating import flash

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


@router.get("/addresses")
async def index(
    request: Request, user: User_, q: Text = "", after: Text = "", before: Text = ""
) -> Response:
    def work(session: Session) -> Any:
        settings = SettingsCache.get(session)
        return address_search.search(session, q, settings, ref(after), ref(before))

    found, e164 = await in_session(request, work)
    links = {
        "prev": query_url(request, after=None, before=found.first_id) if found.has_prev else None,
        "next": query_url(request, before=None, after=found.last_id) if found.has_next else None,
    }
    return page(request, "addresses/index.html", user, q=q, page=found, e164=e164, pager=links)


@router.get("/addresses/suggest")
async def suggest(request: Request, user: User_, q: Text = "") -> list[dict[str, Any]]:
    """Addresses for the address pickers of the activity, service and project forms."""
    return await in_session(
        request, lambda session: address_search.suggestions(session, q, SettingsCache.get(session))
    )


def _form_page(
    request: Request,
    user: CurrentUser,
    data: AddressInput,
    address: Address | None,
    call_id: str = "",
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "addresses/form.html",
        user,
        status_code=status_code,
        data=data,
        address=address,
        call_id=call_id,
        countries=address_form.countries(),
    )


@router.get("/addresses/new")
async def new(
    request: Request,
    user: User_,
    number: Text = "",
    call: Text = "",
    kind: Text = "",
    company: Text = "",
) -> Response:
    def work(session: Session) -> AddressInput:
        data = address_form.blank(SettingsCache.get(session), number)
        parent = session.get(Address, ref(company)) if ref(company) else None
        if parent is not None and parent.kind == "company":
            data.values |= {"kind": "contact", "company": parent.company_name}
            data.company_id = parent.id
        elif kind in ("person", "company", "contact"):
            data.values["kind"] = kind
        return data

    data = await in_session(request, work)
    return _form_page(request, user, data, None, call if call.isdigit() else "")


@router.post("/addresses/new")
async def create(request: Request, user: User_) -> Response:
    form = await read_form(request)
    call_id = form.get("call_id")

    def work(session: Session) -> tuple[AddressInput, Address | None, list[str], bool]:
        settings = SettingsCache.get(session)
        data = address_form.read(session, form)
        if not data.ok:
            return data, None, [], False
        address = address_form.save(session, None, data, settings)
        linked = call_id.isdigit() and addresses.link_call(
            session, user.id, int(call_id), address, settings
        )
        return data, address, _problems(address), linked

    data, address, problems, linked = await in_session(request, work)
    if address is None:
        return _form_page(request, user, data, None, call_id, status_code=422)
    if linked:
        await offhook_of(request).lines.publish_call(user.id, int(call_id))
    _saved(request, "Address created.", problems)
    return see_other(f"/addresses/{address.id}")


def _problems(address: Address) -> list[str]:
    # Written in the request's language (it is the user's from the request's start).
    return [
        f"{c.value} ({problem_text(c.normalize_error)})"
        for c in address_form.not_normalized(address)
    ]


def _saved(request: Request, message: str, problems: list[str]) -> None:
    flash(request, message)
    if problems:
        text = ngettext(
            "Saved as entered, but offhook cannot read this number: {numbers}. Calls from it "
            "will not be recognized until it is corrected.",
            "Saved as entered, but offhook cannot read these numbers: {numbers}. Calls from "
            "them will not be recognized until they are corrected.",
            len(problems),
        )
        flash(request, text.format(numbers="; ".join(problems)), "warn")


async def _address(request: Request, address_id: int) -> Address:
    address = await in_session(request, lambda session: addresses.load(session, address_id))
    if address is None:
        raise not_found("address")
    return address


@router.get("/addresses/{address_id}")
async def show(request: Request, address_id: int, user: User_) -> Response:
    def work(session: Session) -> dict[str, Any]:
        address = addresses.load(session, address_id)
        if address is None:
            raise not_found("address")
        settings = SettingsCache.get(session)
        return addresses.detail(session, address, settings, user.id, user.is_admin)

    return page(request, "addresses/show.html", user, **await in_session(request, work))


@router.get("/addresses/{address_id}/edit")
async def edit(request: Request, address_id: int, user: User_) -> Response:
    address = await _address(request, address_id)
    return _form_page(request, user, address_form.of_address(address), address)


@router.post("/addresses/{address_id}/edit")
async def update(request: Request, address_id: int, user: User_) -> Response:
    form = await read_form(request)

    def work(session: Session) -> tuple[AddressInput, Address, list[str] | None]:
        address = addresses.load(session, address_id)
        if address is None:
            raise not_found("address")
        data = address_form.read(session, form, address)
        if not data.ok:
            return data, address, None
        address_form.save(session, address, data, SettingsCache.get(session))
        return data, address, _problems(address)

    data, address, problems = await in_session(request, work)
    if problems is None:
        return _form_page(request, user, data, address, status_code=422)
    _saved(request, "Address saved.", problems)
    return see_other(f"/addresses/{address_id}")


@router.get("/addresses/{address_id}/delete")
async def confirm_delete(request: Request, address_id: int, user: Admin) -> Response:
    def work(session: Session) -> dict[str, Any]:
        address = addresses.load(session, address_id)
        if address is None:
            raise not_found("address")
        return {"address": address, "impact": addresses.deletion_impact(session, address)}

    return page(request, "addresses/delete.html", user, **await in_session(request, work))


@router.post("/addresses/{address_id}/delete")
async def delete(request: Request, address_id: int, user: Admin) -> Response:
    def work(session: Session) -> str:
        address = addresses.load(session, address_id)
        if address is None:
            raise not_found("address")
        name = display_name(address)
        session.delete(address)
        return name

    name = await in_session(request, work)
    flash(request, _("{name} was deleted.").format(name=name))
    return see_other("/addresses")
