"""Caller lookup: which addresses (or colleagues) a number belongs to.

Exact match on the normalized number first; else the company whose switchboard heads the number
block of a direct-dial number (flagged as approximate); internal numbers match colleagues by their
extension. Every query is an indexed point query: nothing is loaded into memory in bulk.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from offhook.addresses import display_name, full_address
from offhook.numbers import NumberKind, ParsedNumber, block_prefixes
from offhook.store.models import Address, Call, Channel, User

MatchKind = Literal["exact", "switchboard", "internal"]

# Which kind of channel most likely rang: a direct line beats a mobile beats a fax.
_CHANNEL_RANK = {"phone": 0, "mobile": 1, "fax": 3}
# A person (or contact person) with the number is more specific than the company holding it.
_ADDRESS_RANK = {"contact": 0, "person": 1, "company": 2}
MAX_MATCHES = 20


@dataclass(frozen=True, slots=True)
class Match:
    """One address (or colleague) a number belongs to."""

    address_id: int | None
    name: str
    match: MatchKind
    number_as_entered: str
    full_address: str
    channel_id: int | None = None
    channel_kind: str | None = None
    user_id: int | None = None  # a colleague, for internal numbers

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _address_match(channel: Channel, match: MatchKind, home_country: str) -> Match:
    address = channel.address
    return Match(
        address_id=address.id,
        name=display_name(address),
        match=match,
        number_as_entered=channel.value,
        full_address=full_address(address, home_country),
        channel_id=channel.id,
        channel_kind=channel.kind,
    )


def _ranked(channels: list[Channel], preferred: int | None) -> list[Channel]:
    def key(channel: Channel) -> tuple[int, int, int, str]:
        return (
            0 if channel.address_id == preferred else 1,
            _CHANNEL_RANK.get(channel.kind, 2),
            _ADDRESS_RANK.get(channel.address.kind, 3),
            display_name(channel.address).casefold(),
        )

    seen: set[int] = set()
    unique: list[Channel] = []
    for channel in sorted(channels, key=key):
        if channel.address_id not in seen:  # an address with the number twice is one match
            seen.add(channel.address_id)
            unique.append(channel)
    return unique


def _channels(session: Session, column: Any, value: str) -> list[Channel]:
    query = (
        select(Channel)
        .where(column == value, Channel.kind != "email")
        .options(joinedload(Channel.address).joinedload(Address.company))
        .limit(MAX_MATCHES * 3)
    )
    return list(session.scalars(query).unique())


def last_chosen_address(session: Session, e164: str, user_id: int | None = None) -> int | None:
    """The address a user last picked for this number, to rank it first next time."""
    query = (
        select(Call.address_id)
        .where(Call.remote_e164 == e164, Call.address_chosen.is_(True))
        .order_by(Call.started_at.desc())
        .limit(1)
    )
    return session.scalar(query)


def lookup(session: Session, number: ParsedNumber, home_country: str = "") -> list[Match]:
    """All addresses the number belongs to, best first; empty for withheld or invalid numbers."""
    if number.kind is NumberKind.INTERNAL and number.extension:
        users = session.scalars(
            select(User).where(User.extension == number.extension, User.active.is_(True))
        )
        return [
            Match(
                address_id=None,
                name=user.name,
                match="internal",
                number_as_entered=number.extension,
                full_address=f"{user.name}\nColleague, extension {number.extension}",
                user_id=user.id,
            )
            for user in users
        ]
    if number.kind is not NumberKind.EXTERNAL or not number.e164:
        return []

    exact = _channels(session, Channel.e164, number.e164)
    if exact:
        preferred = last_chosen_address(session, number.e164) if len(exact) > 1 else None
        ranked = _ranked(exact, preferred)[:MAX_MATCHES]
        return [_address_match(channel, "exact", home_country) for channel in ranked]

    for prefix in block_prefixes(number.e164):
        heads = _channels(session, Channel.block_prefix, prefix)
        if heads:
            ranked = _ranked(heads, None)[:MAX_MATCHES]
            return [_address_match(channel, "switchboard", home_country) for channel in ranked]
    return []
