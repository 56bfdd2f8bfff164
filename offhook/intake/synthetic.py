"""Synthetic CRM data of any size, for benchmarks and load tests (`offhook demo-data`).

What a real CRM of a firm in Switzerland holds: companies with a switchboard and direct-dial
numbers in one number block, contact persons at them, private persons, mobiles and faxes,
addresses in seven countries, and numbers written every way people type them ("044 123 45 67",
"+41 (0)44 123 45 67", "0711 12345-214", "+1 (212) 736-0148"), with the few typos and numbers
without area code that every real address book has. About 2.5 numbers per address.

Deterministic: the same seed gives the same addresses and numbers. Fast: rows are generated
in batches, normalized by the same code as "Normalize phone numbers" (in worker processes for
large amounts) and written with bulk inserts (COPY on PostgreSQL). Everything is made up; any
likeness to real people or numbers is accidental.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from offhook.directory.normalization.values import Entry, Normalizer, default_workers
from offhook.intake.synthetic_data import (
    ASCII,
    COMPANY_TRADES,
    COMPANY_WORDS,
    COUNTRIES,
    HOME,
    POSITIONS,
    TYPOS,
    Area,
    Country,
)
from offhook.settings.telephony import TelephonySettings, numbering_plan
from offhook.store import Store
from offhook.store.models import sort_name

BATCH_ADDRESSES = 2000


@dataclass(slots=True)
class _Rows:
    """One batch of rows, addresses numbered from 0 (real ids are given when written)."""

    now: datetime
    addresses: list[tuple[Any, ...]] = field(default_factory=list)
    channels: list[tuple[Any, ...]] = field(
        default_factory=list
    )  # address, kind, label, value, pos


@dataclass(frozen=True, slots=True)
class Summary:
    addresses: int
    channels: int
    numbers: int


class _Writer:
    """Writes numbers the many ways people type them."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def number(self, country: Country, area: str, rest: str, direct: str = "") -> str:
        """`area` + `rest` (+ a direct-dial `direct` after the block) as someone typed it."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.004:
            return rng.choice(TYPOS)
        home = country is HOME
        groups = self._groups(country, rest)
        # A direct-dial number after its block: "0711 12345-214" (DIN 5008), "… 12345 214".
        tail = rng.choice((f"-{direct}", f"-{direct}", f" {direct}")) if direct else ""
        cc, trunk = country.calling, country.trunk
        if country.iso == "US":
            return self._american(area, rest + direct)
        if home and roll < 0.45:
            return rng.choice(
                (
                    f"{trunk}{area} {groups}{tail}",
                    f"{trunk}{area}/{groups.replace(' ', '.')}{tail}",
                    f"{trunk}{area}{rest}{direct}",
                )
            )
        if not home and roll < 0.02:
            return f"{trunk}{area} {groups}{tail}"  # foreign number written nationally: a mistake
        styles = [
            f"+{cc} {area} {groups}{tail}",
            f"00{cc} {area} {groups}{tail}",
            f"+{cc}{area}{rest}{direct}",
        ]
        if trunk:
            styles.append(f"+{cc} ({trunk}){area} {groups}{tail}")
        return rng.choice(styles)

    def _groups(self, country: Country, digits: str) -> str:
        if country.iso in ("CH", "FR") or len(digits) <= 4:
            # "123 45 67" (Switzerland), pairs in France
            first = 3 if country.iso == "CH" and len(digits) >= 7 else 2
            parts = [digits[:first]] + [digits[i : i + 2] for i in range(first, len(digits), 2)]
            return " ".join(part for part in parts if part)
        if self.rng.random() < 0.5:
            return digits
        middle = len(digits) // 2
        return f"{digits[:middle]} {digits[middle:]}"

    def _american(self, area: str, rest: str) -> str:
        return self.rng.choice(
            (
                f"+1 {area} {rest[:3]} {rest[3:]}",
                f"+1 ({area}) {rest[:3]}-{rest[3:]}",
                f"001 {area} {rest[:3]} {rest[3:]}",
                f"+1-{area}-{rest[:3]}-{rest[3:]}",
            )
        )


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.write = _Writer(self.rng)
        self.weights = [country.share for country in COUNTRIES]
        self.now = datetime.now(UTC).replace(tzinfo=None)

    def _digits(self, length: int) -> str:
        # A subscriber number never starts with 0 or 1 (trunk and service codes).
        return str(self.rng.randrange(2 * 10 ** (length - 1), 10**length))

    def _country(self) -> Country:
        return self.rng.choices(COUNTRIES, self.weights)[0]

    def _subscriber(self, area: Area) -> str:
        return area.start + self._digits(area.length - len(area.start))

    def _mobile(self, country: Country) -> str:
        prefix, length = self.rng.choice(country.mobiles)
        area, _, start = prefix.partition("|")
        return self.write.number(country, area, start + self._digits(length - len(start)))

    def _landline(self, country: Country, area: Area) -> str:
        return self.write.number(country, area.code, self._subscriber(area))

    def addresses(self, amount: int) -> _Rows:
        """`amount` addresses, numbered from 0 in the batch: companies with their contacts."""
        rows = _Rows(now=self.now)
        next_id = 0
        while next_id < amount:
            left = amount - next_id
            if self.rng.random() < 0.45:
                next_id = self._company(rows, next_id, left)
            else:
                self._person(rows, next_id)
                next_id += 1
        return rows

    def _address(self, rows: _Rows, row_id: int, **values: Any) -> None:
        rows.addresses.append(
            (
                row_id,
                values.get("kind", "person"),
                values.get("salutation", ""),
                values.get("first_name", ""),
                values.get("last_name", ""),
                values.get("company_name", ""),
                values.get("company_id"),
                values.get("position", ""),
                values.get("street", ""),
                values.get("postcode", ""),
                values.get("city", ""),
                values.get("country", ""),
                "",
                self.now,
                self.now,
            )
        )

    def _channel(
        self, rows: _Rows, address_id: int, kind: str, value: str, label: str = ""
    ) -> None:
        position = sum(1 for row in rows.channels[-6:] if row[0] == address_id)
        rows.channels.append((address_id, kind, label, value, position))

    def _place(self, country: Country) -> tuple[Area, str, str]:
        area = self.rng.choice(country.areas)
        street = f"{self.rng.choice(country.streets)} {self.rng.randrange(1, 200)}"
        postcode = f"{area.postcode}{self.rng.randrange(0, 99):02d}"
        return area, street, postcode

    def _company(self, rows: _Rows, company_id: int, room: int) -> int:
        rng = self.rng
        country = self._country()
        area, street, postcode = self._place(country)
        name = (
            f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_TRADES)} {rng.choice(country.legal)}"
        )
        if rng.random() < 0.3:
            name = f"{rng.choice(country.last)} {name}"
        domain = name.split()[0].lower().translate(ASCII) + ".example"
        self._address(
            rows,
            company_id,
            kind="company",
            company_name=name,
            street=street,
            postcode=postcode,
            city=area.city,
            country=country.iso,
        )
        # The firm's number block: all but the last digits of a subscriber number.
        block = self._subscriber(area)[: area.length - country.extension]
        zeros = "0" * country.extension
        if country.din and rng.random() < 0.7:
            switchboard = self.write.number(country, area.code, block, "0")
        else:
            switchboard = self.write.number(country, area.code, block + zeros)
        self._channel(rows, company_id, "phone", switchboard, "Switchboard")
        if rng.random() < 0.5:
            self._channel(rows, company_id, "phone", self._direct(country, area, block), "Hotline")
        if rng.random() < 0.6:
            self._channel(rows, company_id, "fax", self._direct(country, area, block))
        if rng.random() < 0.2:
            self._channel(rows, company_id, "mobile", self._mobile(country), "Service")
        if rng.random() < 0.7:
            self._channel(rows, company_id, "email", f"info@{domain}")
        contacts = min(room - 1, rng.choice((0, 1, 1, 2, 2, 3, 3, 4, 5, 8)))
        for offset in range(1, contacts + 1):
            self._contact(
                rows, company_id + offset, company_id, country, area, block, domain, switchboard
            )
        return company_id + contacts + 1

    def _direct(self, country: Country, area: Area, block: str) -> str:
        extension = str(self.rng.randrange(10 ** (country.extension - 1), 10**country.extension))
        if country.din:
            return self.write.number(country, area.code, block, extension)
        return self.write.number(country, area.code, block + extension)

    def _contact(
        self,
        rows: _Rows,
        row_id: int,
        company_id: int,
        country: Country,
        area: Area,
        block: str,
        domain: str,
        switchboard: str,
    ) -> None:
        rng = self.rng
        woman = rng.random() < 0.5
        first = rng.choice(country.first[0 if woman else 1])
        last = rng.choice(country.last)
        salutation = rng.choice(country.salutations)[0 if woman else 1]
        self._address(
            rows,
            row_id,
            kind="contact",
            salutation=salutation,
            first_name=first,
            last_name=last,
            company_id=company_id,
            position=rng.choice(POSITIONS),
            country=country.iso,
        )
        if rng.random() < 0.95:
            self._channel(rows, row_id, "phone", self._direct(country, area, block), "Direct")
        if rng.random() < 0.75:
            self._channel(rows, row_id, "mobile", self._mobile(country))
        if rng.random() < 0.3:
            self._channel(rows, row_id, "fax", self._direct(country, area, block))
        if rng.random() < 0.4:
            self._channel(
                rows, row_id, "phone", self._landline(country, rng.choice(country.areas)), "Private"
            )
        if rng.random() < 0.15:
            self._channel(rows, row_id, "phone", switchboard, "Switchboard")
        if rng.random() < 0.8:
            email = f"{first}.{last}@{domain}".lower().translate(ASCII)
            self._channel(rows, row_id, "email", email)

    def _person(self, rows: _Rows, row_id: int) -> None:
        rng = self.rng
        country = self._country()
        area, street, postcode = self._place(country)
        woman = rng.random() < 0.5
        first = rng.choice(country.first[0 if woman else 1])
        last = rng.choice(country.last)
        self._address(
            rows,
            row_id,
            kind="person",
            salutation=rng.choice(country.salutations)[0 if woman else 1],
            first_name=first,
            last_name=last,
            street=street,
            postcode=postcode,
            city=area.city,
            country=country.iso,
        )
        household = [c for c in rows.channels[-4:] if c[1] == "phone" and c[0] == row_id - 1]
        if household and rng.random() < 0.05:
            self._channel(rows, row_id, "phone", household[0][3])  # same household, one line
        elif rng.random() < 0.9:
            self._channel(rows, row_id, "phone", self._landline(country, area))
        if rng.random() < 0.85:
            self._channel(rows, row_id, "mobile", self._mobile(country))
        if rng.random() < 0.5:
            self._channel(
                rows, row_id, "phone", self._landline(country, rng.choice(country.areas)), "Work"
            )
        if rng.random() < 0.15:
            self._channel(rows, row_id, "fax", self._landline(country, area))
        if rng.random() < 0.5:
            self._channel(
                rows, row_id, "email", f"{first}.{last}@mail.example".lower().translate(ASCII)
            )


# --- writing -----------------------------------------------------------------------------------

ADDRESS_COLUMNS = (
    "id",
    "sort_name",
    "kind",
    "salutation",
    "first_name",
    "last_name",
    "company_name",
    "company_id",
    "position",
    "street",
    "postcode",
    "city",
    "country",
    "notes",
    "created_at",
    "updated_at",
)
CHANNEL_COLUMNS = (
    "id",
    "address_id",
    "kind",
    "label",
    "value",
    "position",
    "e164",
    "number_kind",
    "block_prefix",
    "normalize_error",
    "normalized_with",
)


def create_synthetic_crm(
    store: Store,
    addresses: int,
    *,
    seed: int = 1,
    workers: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Summary:
    """Add `addresses` synthetic addresses (with their channels) to the store."""
    with store.session() as session:
        settings = TelephonySettings.load(session)
    fingerprint = settings.fingerprint()
    generator = _Generator(seed)
    count = workers if workers is not None else default_workers(int(addresses * 2.5))
    channels = numbers = 0

    def batches() -> Iterator[_Rows]:
        made = 0
        while made < addresses:
            amount = min(BATCH_ADDRESSES, addresses - made)
            yield generator.addresses(amount)
            made += amount

    with Normalizer(numbering_plan(settings), count) as normalizer:
        for rows, values in normalizer.pipeline(batches(), _pairs):
            with store.engine.begin() as connection:
                _insert(connection, rows, values, fingerprint)
            channels += len(rows.channels)
            numbers += sum(1 for row in rows.channels if row[1] != "email")
            if on_progress is not None:
                on_progress(len(rows.addresses))
    return Summary(addresses, channels, numbers)


def _pairs(rows: _Rows) -> list[Entry]:
    # kind, value, and the country of the address (index 11 of an address row)
    return [(row[1], row[3], rows.addresses[row[0]][11]) for row in rows.channels]


def _insert(connection: Connection, rows: _Rows, values: list[Any], fingerprint: str) -> None:
    postgresql = connection.dialect.name == "postgresql"
    if not postgresql:
        # Take SQLite's write lock before reading the highest ids: nobody writes in between.
        connection.exec_driver_sql("UPDATE addresses SET id = id WHERE 0")
    address_ids = _fresh_ids(connection, "addresses", len(rows.addresses))
    channel_ids = _fresh_ids(connection, "channels", len(rows.channels))
    address_rows = [
        (
            address_ids[row[0]],
            sort_name(row[3], row[4], row[5]),  # first name, last name, company name
            *row[1:6],
            None if row[6] is None else address_ids[row[6]],
            *row[7:],
        )
        for row in rows.addresses
    ]
    channel_rows = [
        (channel_id, address_ids[row[0]], *row[1:], *value, fingerprint)
        for channel_id, row, value in zip(channel_ids, rows.channels, values, strict=True)
    ]
    if postgresql:
        _copy(connection, "addresses", ADDRESS_COLUMNS, address_rows)
        _copy(connection, "channels", CHANNEL_COLUMNS, channel_rows)
        return
    stamp = rows.now.strftime("%Y-%m-%d %H:%M:%S.%f")  # how SQLAlchemy keeps it in SQLite
    for table, columns, data in (
        ("addresses", ADDRESS_COLUMNS, [(*row[:-2], stamp, stamp) for row in address_rows]),
        ("channels", CHANNEL_COLUMNS, channel_rows),
    ):
        marks = ", ".join("?" * len(columns))
        connection.exec_driver_sql(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
            data,
        )


def _fresh_ids(connection: Connection, table: str, amount: int) -> list[int]:
    """`amount` ids for new rows of `table`."""
    if connection.dialect.name == "postgresql":
        # Drawn from the table's own sequence, so nobody else gets them (nor are they gapless).
        result = connection.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                "FROM generate_series(1, :amount)"
            ),
            {"table": table, "amount": amount},
        )
        return sorted(int(value) for value in result.scalars())
    last = connection.exec_driver_sql(f"SELECT max(id) FROM {table}").scalar()  # noqa: S608
    first = int(last or 0) + 1
    return list(range(first, first + amount))


def _copy(
    connection: Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    raw: Any = connection.connection.driver_connection
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
