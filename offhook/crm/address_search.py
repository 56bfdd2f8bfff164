"""Finding an address among a million: the search by name, place or number, one page of the
results at a time, and the suggestions of an address picker."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session, aliased, joinedload, selectinload
from sqlalchemy.sql.elements import ColumnElement

from offhook.crm.paging import PAGE_SIZE
from offhook.crm.queries import LIKE_ESCAPE, escape_like
from offhook.directory.names import display_name
from offhook.numbers import NumberKind, parse
from offhook.settings.telephony import TelephonySettings, numbering_plan
from offhook.store.models import Address, Channel

MAX_TOKENS = 5
_NUMBER_LIKE = re.compile(r"^[\d\s+()./\-]+$")


def _case_variants(token: str) -> set[str]:
    """The token as lower() in the database may have turned the stored text: PostgreSQL
    lowers every letter, SQLite only A-Z (so "Ärzte" stays "Ärzte" there)."""

    def ascii_lower(text: str) -> str:
        return "".join(c.lower() if c.isascii() else c for c in text)

    return {token.lower(), ascii_lower(token), ascii_lower(token[:1].upper() + token[1:])}


def _starts_with(column: Any, token: str, dialect: str) -> ColumnElement[bool]:
    """Word-start match, case-insensitive: "mül" finds "Müller".

    A prefix, not a substring, so that an index can serve it: on PostgreSQL an index on
    `lower(column) text_pattern_ops` serves the LIKE; SQLite uses an index on `lower(column)`
    for a range only, so the range is added there (U+10FFFF sorts after every character in
    SQLite's byte order). Without such indexes the same query scans the table."""
    lowered = func.lower(column)
    clauses = []
    for variant in sorted(_case_variants(token)):
        like: ColumnElement[bool] = lowered.like(f"{escape_like(variant)}%", escape=LIKE_ESCAPE)
        if dialect == "sqlite":
            like = and_(lowered >= variant, lowered < variant + "\U0010ffff", like)
        clauses.append(like)
    return or_(*clauses)


def _token_clause(token: str, dialect: str) -> ColumnElement[bool]:
    company = aliased(Address)
    own = [
        _starts_with(column, token, dialect)
        for column in (
            Address.last_name,
            Address.first_name,
            Address.company_name,
            Address.city,
            Address.postcode,
        )
    ]
    # Contact persons are found by their company's name and place too (they are reached at
    # the company's address).
    of_company = Address.company_id.in_(
        select(company.id).where(
            company.kind == "company",
            or_(
                _starts_with(company.company_name, token, dialect),
                _starts_with(company.city, token, dialect),
            ),
        )
    )
    return or_(*own, of_company)


def looks_like_number(q: str) -> bool:
    return bool(_NUMBER_LIKE.match(q)) and sum(c.isdigit() for c in q) >= 3


def search_query(
    q: str, settings: TelephonySettings, dialect: str
) -> tuple[Select[Any], str | None]:
    """The addresses fitting `q` (unordered), and the E.164 number searched for if `q` is a
    phone number."""
    query = select(Address).options(joinedload(Address.company), selectinload(Address.channels))
    q = q.strip()
    e164 = None
    if q and looks_like_number(q):
        parsed = parse(q, numbering_plan(settings))
        if parsed.kind is NumberKind.EXTERNAL and parsed.e164:
            e164 = parsed.e164
            query = query.where(
                Address.id.in_(select(Channel.address_id).where(Channel.e164 == e164))
            )
    if e164 is None and q:
        tokens = [t for t in re.split(r"[\s,]+", q) if t][:MAX_TOKENS]
        query = query.where(and_(*(_token_clause(token, dialect) for token in tokens)))
    return query, e164


# The list's order is that of the index ix_addresses_sort (the sort name, then the id, which
# makes it total): the database reads one page off the index and stops, on any page.
SORT_KEY = (Address.sort_name, Address.id)


@dataclass(frozen=True, slots=True)
class AddressPage:
    """One page of addresses, reached by the address before or after it rather than by a
    page number: page 20,000 of a million addresses is as fast as page 1."""

    items: list[Address]
    has_prev: bool
    has_next: bool

    @property
    def first_id(self) -> int | None:
        return self.items[0].id if self.items else None

    @property
    def last_id(self) -> int | None:
        return self.items[-1].id if self.items else None


def _anchor(session: Session, address_id: int | None) -> tuple[str, int] | None:
    """The sort key of the address a page starts after (or ends before)."""
    if address_id is None:
        return None
    row = session.execute(select(*SORT_KEY).where(Address.id == address_id)).first()
    return (row[0], row[1]) if row else None


def search(
    session: Session,
    q: str,
    settings: TelephonySettings,
    after: int | None = None,
    before: int | None = None,
    size: int = PAGE_SIZE,
) -> tuple[AddressPage, str | None]:
    """A page of the addresses fitting `q`: the first, the one after the address `after`, or
    the one before the address `before`."""
    query, e164 = search_query(q, settings, session.get_bind().dialect.name)
    key = tuple_(*SORT_KEY)
    backwards = _anchor(session, before)
    forwards = None if backwards else _anchor(session, after)
    if backwards is not None:
        query = query.where(key < tuple_(*backwards)).order_by(*(c.desc() for c in SORT_KEY))
    else:
        if forwards is not None:
            query = query.where(key > tuple_(*forwards))
        query = query.order_by(*SORT_KEY)
    rows = list(session.scalars(query.limit(size + 1)).unique())
    more = len(rows) > size
    rows = rows[:size]
    if backwards is not None:
        return AddressPage(rows[::-1], has_prev=more, has_next=True), e164
    return AddressPage(rows, has_prev=forwards is not None, has_next=more), e164


def suggestions(session: Session, q: str, settings: TelephonySettings) -> list[dict[str, Any]]:
    """A few addresses for a picker as the user types."""
    if not q.strip():
        return []
    page, _ = search(session, q, settings, size=12)
    return [
        {
            "id": a.id,
            "name": display_name(a),
            "city": a.city or (a.company.city if a.company else ""),
        }
        for a in page.items
    ]
