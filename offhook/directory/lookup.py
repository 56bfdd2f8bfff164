"""Caller lookup: which addresses (or colleagues) a number belongs to.

The rules, in order; the first that finds anything answers:

1. **Withheld and invalid numbers are never looked up**: there is nothing to compare.
2. **Internal numbers** (extensions) match colleagues: active users with that extension.
3. **Exact**: channels whose normalized number (`e164`) equals the caller's. Several addresses
   with the number are all returned, ranked:
   - the address a user last chose for this number in the journal (the call history keeps
     the choice, see `offhook.web.api.journal.choose_address`), firm-wide: whoever picked
     it knew who calls from that number;
   - then the channel that most likely rang: phone, mobile, other, fax;
   - then the most specific address: contact person, person, company;
   - then by name and id, so the order never changes between two lookups.
4. **Switchboard** (approximate): the company whose switchboard heads the number block of the
   caller's direct-dial number (`offhook.numbers.blocks`): stored "+41 44 123 45 00", call
   from "+41 44 123 45 67". The closest block wins; companies come before people who carry
   the switchboard number in their own record.

An external number costs one statement, one round trip: the exact matches, the switchboards
of all candidate blocks and each exact match's last choice at once, served by
`ix_channels_e164`, `ix_channels_block_prefix` and `ix_calls_remote_e164`; a colleague is one
query by `ix_users_extension`. Nothing is loaded in bulk. `tests/directory/test_query_plans.py`
holds both databases to that, and `bench/lookup.py` measures it at a million addresses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, NamedTuple, cast

from sqlalchemy import (
    DateTime,
    Dialect,
    Select,
    Table,
    bindparam,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from offhook.directory.names import display_name, full_address
from offhook.numbers import NumberKind, ParsedNumber, block_prefixes, parse_incoming
from offhook.numbers.blocks import MAX_DROPPED_DIGITS
from offhook.settings.telephony import TelephonySettings, numbering_plan
from offhook.store.models import Address, Call, Channel, User

MatchKind = Literal["exact", "switchboard", "internal"]

# Which kind of channel most likely rang: a direct line beats a mobile beats a fax.
_CHANNEL_RANK = {"phone": 0, "mobile": 1, "fax": 3}
# A person (or contact person) with the number is more specific than the company holding it.
_ADDRESS_RANK = {"contact": 0, "person": 1, "company": 2}
# A direct-dial caller belongs to the company; people who carry its switchboard come after.
_SWITCHBOARD_RANK = {"company": 0, "contact": 1, "person": 2}
MAX_MATCHES = 20
# Rows fetched per query: an address may carry the same number on several channels.
_ROW_LIMIT = MAX_MATCHES * 3


@dataclass(frozen=True, slots=True)
class Match:
    """One address (or colleague) a number belongs to.

    `approximate` is true for switchboard matches: the caller is probably someone at that
    company, not the company's switchboard itself.
    """

    address_id: int | None
    name: str
    match: MatchKind
    number_as_entered: str
    full_address: str
    channel_id: int | None = None
    channel_kind: str | None = None
    user_id: int | None = None  # a colleague, for internal numbers
    approximate: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Found:
    """A channel with the number, and its address (with its company) as far as shown."""

    exact: bool  # found by its normalized number, not by its number block
    channel_id: int
    channel_kind: str
    value: str
    block_prefix: str | None
    address: Address
    chosen_at: Any = None  # when a user last chose this address for the number (exact only)


# --- the statements, built once ------------------------------------------------------------------
# A lookup runs on every call event, so its cost is kept near that of the index lookup itself:
# - each statement is built here once; only its parameters change (building one costs more
#   than running it);
# - the address and its company come back as one text column each, their fields joined by
#   the unit separator: drivers and SQLAlchemy pay per column of every result, and a
#   column per field cost more than the query (psycopg: ~3 µs per column and row);
# - the switchboard prefixes always fill the same number of parameters, so the SQL text never
#   changes and PostgreSQL keeps it prepared;
# - these statements run on the session's own DB-API connection (`_rows`): SQLAlchemy's
#   execution machinery costs about as much as the index lookup on SQLite, and more than the
#   round trip on PostgreSQL. SQLAlchemy still writes the SQL, once per database.

_channels = cast(Table, Channel.__table__)
_addresses = cast(Table, Address.__table__)
_companies = _addresses.alias("company")
SEPARATOR = "\x1f"  # ASCII unit separator: no one types it into an address
_ADDRESS_FIELDS = (
    "kind", "salutation", "first_name", "last_name", "company_name", "position",
    "street", "postcode", "city", "country",
)  # fmt: skip
_COMPANY_FIELDS = ("kind", "company_name", "street", "postcode", "city", "country")
_CHANNEL_COLUMNS = (_channels.c.id, _channels.c.kind, _channels.c.value, _channels.c.block_prefix)
PREFIX_PARAMETERS = tuple(f"prefix_{n}" for n in range(1, MAX_DROPPED_DIGITS + 1))


def _packed(table: Any, fields: tuple[str, ...]) -> Any:
    """The fields as one text: NULL when the row is missing (an outer join found none)."""
    text = table.c[fields[0]]
    for name in fields[1:]:
        text = text + literal_column(f"'{SEPARATOR}'") + table.c[name]
    return text


# When a user last chose this address for this number in the journal (the call history
# keeps every choice): asked in the same round trip, through ix_calls_remote_e164.
_calls = cast(Table, Call.__table__)
_LAST_CHOSEN_AT = (
    select(func.max(_calls.c.started_at))
    .where(
        _calls.c.remote_e164 == bindparam("e164"),
        _calls.c.address_chosen,
        _calls.c.address_id == _addresses.c.id,
    )
    .scalar_subquery()
)


def _found_select(condition: Any, exact: bool) -> Select[Any]:
    """Number channels meeting `condition`, with their address and its company (joined on
    primary keys), flagged as exact matches or not; exact ones with their last choice."""
    return (
        select(
            literal_column("1" if exact else "0").label("exact"),
            *_CHANNEL_COLUMNS,
            _addresses.c.id.label("address_id"),
            _packed(_addresses, _ADDRESS_FIELDS).label("address"),
            _packed(_companies, _COMPANY_FIELDS).label("company"),
            # Typed, so that PostgreSQL can put the two halves of the union together.
            (_LAST_CHOSEN_AT if exact else sql_cast(null(), DateTime())).label("chosen_at"),
        )
        .select_from(
            _channels.join(_addresses, _addresses.c.id == _channels.c.address_id).outerjoin(
                _companies, _companies.c.id == _addresses.c.company_id
            )
        )
        .where(_channels.c.kind != literal_column("'email'"), condition)
        .limit(literal_column(str(_ROW_LIMIT)))
    )


EXACT = _found_select(_channels.c.e164 == bindparam("e164"), exact=True)
SWITCHBOARDS = _found_select(
    _channels.c.block_prefix.in_([bindparam(name) for name in PREFIX_PARAMETERS]), exact=False
)
# Both in one round trip: most callers are either unknown or found exactly, and a database
# server's round trip costs more than the second index lookup.
EXACT_OR_SWITCHBOARD = union_all(EXACT.subquery().select(), SWITCHBOARDS.subquery().select())


class _Prepared(NamedTuple):
    sql: str
    positions: tuple[str, ...] | None  # parameter names in order, for positional drivers
    defaults: dict[str, Any]


_prepared: dict[tuple[int, str], _Prepared] = {}


def prepare(statement: Any, dialect: Dialect, parameters: dict[str, Any]) -> tuple[str, Any]:
    """The SQL text of `statement` for `dialect`, and the values for the driver."""
    key = (id(statement), dialect.name)
    prepared = _prepared.get(key)
    if prepared is None:
        compiled = statement.compile(dialect=dialect)
        positions = tuple(compiled.positiontup) if compiled.positional else None
        prepared = _Prepared(str(compiled), positions, compiled.construct_params(parameters))
        _prepared[key] = prepared
    values = {**prepared.defaults, **parameters}
    if prepared.positions is None:
        return prepared.sql, values
    return prepared.sql, tuple(values[name] for name in prepared.positions)


def _rows(session: Session, statement: Any, parameters: dict[str, Any]) -> list[Any]:
    """Rows of a lookup statement, run by the driver in the session's transaction."""
    connection = session.connection()
    sql, values = prepare(statement, connection.dialect, parameters)
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, values)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _prefix_parameters(prefixes: list[str]) -> dict[str, str]:
    # Unused parameters repeat the last prefix: the same rows, and the same SQL text.
    padded = prefixes + [prefixes[-1]] * (len(PREFIX_PARAMETERS) - len(prefixes))
    return dict(zip(PREFIX_PARAMETERS, padded, strict=True))


_new_address = Address.__mapper__.class_manager.new_instance
COLLEAGUES = (
    select(User.id, User.name)
    .where(User.extension == bindparam("extension"), User.active.is_(True))
    .order_by(User.name, User.id)
    .limit(MAX_MATCHES)
)


class Caller(NamedTuple):
    """A caller's number as offhook reads it, and whom it belongs to, best match first."""

    number: ParsedNumber
    matches: list[Match]


def read_incoming(raw_number: str, settings: TelephonySettings) -> ParsedNumber:
    """A number as the phone system delivers it, read with Settings › Telephony."""
    return parse_incoming(raw_number, numbering_plan(settings))


def find_caller(session: Session, raw_number: str, settings: TelephonySettings) -> Caller:
    """Who a number from the phone system belongs to: what the journal and the lookups show."""
    number = read_incoming(raw_number, settings)
    return Caller(number, lookup(session, number, settings.country))


def lookup(session: Session, number: ParsedNumber, home_country: str = "") -> list[Match]:
    """All addresses (or colleagues) the number belongs to, best first; [] when none."""
    if number.kind is NumberKind.INTERNAL and number.extension:
        return colleagues(session, number.extension)
    if number.kind is not NumberKind.EXTERNAL or not number.e164:
        return []
    e164 = number.e164
    prefixes = block_prefixes(e164)
    if prefixes:
        parameters = {"e164": e164, **_prefix_parameters(prefixes)}
        found = _found(session, _rows(session, EXACT_OR_SWITCHBOARD, parameters))
    else:  # a mobile number belongs to no block
        found = _found(session, _rows(session, EXACT, {"e164": e164}))
    exact = [f for f in found if f.exact]
    if exact:
        return _exact(exact, home_country)
    return _switchboard(prefixes, found, home_country)


def colleagues(session: Session, extension: str) -> list[Match]:
    """Active users whose extension this is."""
    return [
        Match(
            address_id=None,
            name=name,
            match="internal",
            number_as_entered=extension,
            full_address=f"{name}\nColleague, extension {extension}",
            user_id=user_id,
        )
        for user_id, name in session.execute(COLLEAGUES, {"extension": extension})
    ]


def exact_matches(session: Session, e164: str, home_country: str = "") -> list[Match]:
    """Addresses with a channel whose normalized number is `e164`, ranked (see the rules)."""
    return _exact(_found(session, _rows(session, EXACT, {"e164": e164})), home_country)


def switchboard_matches(session: Session, e164: str, home_country: str = "") -> list[Match]:
    """Companies whose switchboard heads the number block `e164` belongs to (approximate)."""
    prefixes = block_prefixes(e164)
    if not prefixes:
        return []
    found = _found(session, _rows(session, SWITCHBOARDS, _prefix_parameters(prefixes)))
    return _switchboard(prefixes, found, home_country)


def _exact(found: list[_Found], home_country: str) -> list[Match]:
    chosen = [f for f in found if f.chosen_at is not None]
    preferred = max(chosen, key=lambda f: f.chosen_at).address.id if chosen else None

    def key(f: _Found) -> tuple[int, int, int, str, int]:
        return (
            0 if f.address.id == preferred else 1,
            _CHANNEL_RANK.get(f.channel_kind, 2),
            _ADDRESS_RANK.get(f.address.kind, 3),
            display_name(f.address).casefold(),
            f.address.id,
        )

    return [_match(f, "exact", home_country) for f in _best_per_address(found, key)]


def _switchboard(prefixes: list[str], found: list[_Found], home_country: str) -> list[Match]:
    closeness = {prefix: rank for rank, prefix in enumerate(prefixes)}  # longest first

    def key(f: _Found) -> tuple[int, int, int, str, int]:
        return (
            closeness.get(f.block_prefix or "", len(prefixes)),
            _SWITCHBOARD_RANK.get(f.address.kind, 3),
            _CHANNEL_RANK.get(f.channel_kind, 2),
            display_name(f.address).casefold(),
            f.address.id,
        )

    return [_match(f, "switchboard", home_country) for f in _best_per_address(found, key)]


def _found(session: Session, rows: Sequence[Any]) -> list[_Found]:
    found = []
    for exact, channel_id, kind, value, block, address_id, address, company, chosen in rows:
        shown = _shown(_ADDRESS_FIELDS, address, id=address_id)
        company_shown = _shown(_COMPANY_FIELDS, company) if company else None
        if shown is not None and (company_shown is not None or not company):
            shown.__dict__["company"] = company_shown
        else:
            # A field holds the separator itself (pasted from who knows where): load the
            # address the usual way; it is rare.
            shown = session.get(Address, address_id)
            if shown is None:  # pragma: no cover - deleted in this very transaction
                continue
        found.append(_Found(bool(exact), channel_id, kind, value, block, shown, chosen))
    return found


def _shown(fields: tuple[str, ...], packed: str, **more: Any) -> Address | None:
    """An Address with these fields loaded, as the ORM loads rows, ten times cheaper than the
    constructor; None if the text does not split into the fields. It belongs to no session:
    display_name and full_address only read it."""
    values = packed.split(SEPARATOR)
    if len(values) != len(fields):
        return None
    address: Address = _new_address()
    address.__dict__.update(zip(fields, values, strict=True), **more)
    return address


def _best_per_address(found: list[_Found], key: Callable[[_Found], Any]) -> list[_Found]:
    seen: set[int] = set()
    best: list[_Found] = []
    for item in sorted(found, key=key):
        if item.address.id not in seen:  # an address with the number twice is one match
            seen.add(item.address.id)
            best.append(item)
    return best[:MAX_MATCHES]


def _match(found: _Found, match: MatchKind, home_country: str) -> Match:
    address = found.address
    return Match(
        address_id=address.id,
        name=display_name(address),
        match=match,
        number_as_entered=found.value,
        full_address=full_address(address, home_country),
        channel_id=found.channel_id,
        channel_kind=found.channel_kind,
        approximate=match == "switchboard",
    )
