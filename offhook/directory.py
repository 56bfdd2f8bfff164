"""Caller lookup: which addresses (or colleagues) a number belongs to.

The rules, in order; the first that finds anything answers:

1. **Withheld and invalid numbers are never looked up**: there is nothing to compare.
2. **Internal numbers** (extensions) match colleagues: active users with that extension.
3. **Exact**: channels whose normalized number (`e164`) equals the caller's. Several addresses
   with the number are all returned, ranked:
   - the address a user last chose for this number in the journal (the call history keeps
     the choice, see `offhook.web.views.journal.choose_address`), firm-wide: whoever picked
     it knew who calls from that number;
   - then the channel that most likely rang: phone, mobile, other, fax;
   - then the most specific address: contact person, person, company;
   - then by name and id, so the order never changes between two lookups.
4. **Switchboard** (approximate): the company whose switchboard heads the number block of the
   caller's direct-dial number (`offhook.numbers.blocks`): stored "+41 44 123 45 00", call
   from "+41 44 123 45 67". The closest block wins; companies come before people who carry
   the switchboard number in their own record.

Every step is one indexed query (`ix_users_extension`, `ix_channels_e164`,
`ix_channels_block_prefix` with all candidate prefixes at once, `ix_calls_remote_e164`);
nothing is loaded in bulk. `tests/directory/test_query_plans.py` holds the databases to that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased, contains_eager

from offhook.addresses import display_name, full_address
from offhook.numbers import NumberKind, ParsedNumber, block_prefixes
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


def lookup(session: Session, number: ParsedNumber, home_country: str = "") -> list[Match]:
    """All addresses (or colleagues) the number belongs to, best first; [] when none."""
    if number.kind is NumberKind.INTERNAL and number.extension:
        return colleagues(session, number.extension)
    if number.kind is not NumberKind.EXTERNAL or not number.e164:
        return []
    exact = exact_matches(session, number.e164, home_country)
    if exact:
        return exact
    return switchboard_matches(session, number.e164, home_country)


def colleagues(session: Session, extension: str) -> list[Match]:
    """Active users whose extension this is."""
    users = session.scalars(
        select(User)
        .where(User.extension == extension, User.active.is_(True))
        .order_by(User.name, User.id)
        .limit(MAX_MATCHES)
    )
    return [
        Match(
            address_id=None,
            name=user.name,
            match="internal",
            number_as_entered=extension,
            full_address=f"{user.name}\nColleague, extension {extension}",
            user_id=user.id,
        )
        for user in users
    ]


def exact_matches(session: Session, e164: str, home_country: str = "") -> list[Match]:
    """Addresses with a channel whose normalized number is `e164`, ranked (see the rules)."""
    channels = _channels(session, channel_query().where(Channel.e164 == e164))
    if not channels:
        return []
    preferred = None
    if len({channel.address_id for channel in channels}) > 1:
        preferred = last_chosen_address(session, e164, [c.address_id for c in channels])

    def key(channel: Channel) -> tuple[int, int, int, str, int]:
        return (
            0 if channel.address_id == preferred else 1,
            _CHANNEL_RANK.get(channel.kind, 2),
            _ADDRESS_RANK.get(channel.address.kind, 3),
            display_name(channel.address).casefold(),
            channel.address_id,
        )

    return [_match(c, "exact", home_country) for c in _best_per_address(channels, key)]


def switchboard_matches(session: Session, e164: str, home_country: str = "") -> list[Match]:
    """Companies whose switchboard heads the number block `e164` belongs to (approximate)."""
    prefixes = block_prefixes(e164)
    if not prefixes:
        return []
    channels = _channels(session, channel_query().where(Channel.block_prefix.in_(prefixes)))
    closeness = {prefix: rank for rank, prefix in enumerate(prefixes)}  # longest first

    def key(channel: Channel) -> tuple[int, int, int, str, int]:
        return (
            closeness.get(channel.block_prefix or "", len(prefixes)),
            _SWITCHBOARD_RANK.get(channel.address.kind, 3),
            _CHANNEL_RANK.get(channel.kind, 2),
            display_name(channel.address).casefold(),
            channel.address_id,
        )

    return [_match(c, "switchboard", home_country) for c in _best_per_address(channels, key)]


def channel_query() -> Select[Channel]:
    """Number channels with their address and its company, in one round trip (joins on
    primary keys); add the condition on the indexed column."""
    company = aliased(Address)
    return (
        select(Channel)
        .join(Channel.address)
        .outerjoin(company, Address.company_id == company.id)
        .where(Channel.kind != "email")
        .options(contains_eager(Channel.address).contains_eager(Address.company, alias=company))
        .limit(_ROW_LIMIT)
    )


def last_chosen_address(
    session: Session, e164: str, candidates: Sequence[int] | None = None
) -> int | None:
    """The address a user last picked in the journal for calls from this number.

    Only `candidates` count when given: a choice for an address that no longer has the number
    says nothing.
    """
    query = select(Call.address_id).where(Call.remote_e164 == e164, Call.address_chosen)
    if candidates is not None:
        query = query.where(Call.address_id.in_(candidates))
    return session.scalar(query.order_by(Call.started_at.desc()).limit(1))


def _channels(session: Session, query: Select[Channel]) -> list[Channel]:
    return list(session.scalars(query).unique())


def _best_per_address(channels: Iterable[Channel], key: Any) -> list[Channel]:
    seen: set[int] = set()
    best: list[Channel] = []
    for channel in sorted(channels, key=key):
        if channel.address_id not in seen:  # an address with the number twice is one match
            seen.add(channel.address_id)
            best.append(channel)
    return best[:MAX_MATCHES]


def _match(channel: Channel, match: MatchKind, home_country: str) -> Match:
    address = channel.address
    return Match(
        address_id=address.id,
        name=display_name(address),
        match=match,
        number_as_entered=channel.value,
        full_address=full_address(address, home_country),
        channel_id=channel.id,
        channel_kind=channel.kind,
        approximate=match == "switchboard",
    )
