"""The fields an address book column can be imported into, and which column probably is which.

Headers are matched case-insensitively against the names common address books export
(Outlook, Google Contacts, Apple, Excel lists in German, French, Italian and English).
"""

from __future__ import annotations

import re

from offhook.settings.language import N_

IGNORE = ""

FIELDS: dict[str, str] = {
    IGNORE: N_("(do not import)"),
    "salutation": N_("Salutation"),
    "first_name": N_("First name"),
    "last_name": N_("Last name"),
    "name": N_("Full name (first and last)"),
    "company_name": N_("Company"),
    "position": N_("Position"),
    "street": N_("Street"),
    "postcode": N_("Postcode"),
    "city": N_("City"),
    "place": N_("Postcode and city"),
    "country": N_("Country"),
    "phone": N_("Phone"),
    "mobile": N_("Mobile"),
    "fax": N_("Fax"),
    "email": N_("E-mail"),
    "notes": N_("Notes"),
}
# Fields that may be given by several columns (each becomes a channel, or a line of notes).
REPEATABLE = frozenset({"phone", "mobile", "fax", "email", "notes"})

_HEADERS: dict[str, tuple[str, ...]] = {
    "salutation": ("anrede", "salutation", "title", "titre", "civilité", "titolo", "appellation"),
    "first_name": ("vorname", "first name", "firstname", "given name", "prénom", "prenom",
                   "nome", "forename"),
    "last_name": ("nachname", "name", "last name", "lastname", "surname", "family name",
                  "nom", "nom de famille", "cognome", "familienname"),
    "name": ("full name", "display name", "vollständiger name", "kontakt", "contact",
             "nom complet", "nome completo", "anzeigename"),
    "company_name": ("firma", "company", "organisation", "organization", "unternehmen",
                     "société", "societe", "entreprise", "azienda", "ditta", "firmenname",
                     "organization 1 - name"),
    "position": ("position", "funktion", "job title", "jobtitle", "fonction", "titre du poste",
                 "ruolo", "beruf", "organization 1 - title", "abteilung"),
    "street": ("strasse", "straße", "adresse", "address", "street", "rue", "via", "indirizzo",
               "business street", "geschäftlich straße", "home street", "address 1 - street"),
    "postcode": ("plz", "postleitzahl", "zip", "zip code", "postcode", "postal code", "npa",
                 "code postal", "cap", "business postal code", "address 1 - postal code"),
    "city": ("ort", "stadt", "city", "town", "ville", "localité", "località", "citta", "città",
             "business city", "home city", "address 1 - city", "wohnort"),
    "place": ("plz ort", "plz/ort", "npa localité", "npa/localité", "postcode city"),
    "country": ("land", "country", "pays", "paese", "nazione", "staat",
                "business country/region", "country/region", "address 1 - country"),
    "phone": ("telefon", "tel", "tel.", "phone", "telephone", "téléphone", "telefono",
              "telefon geschäftlich", "telefon privat", "business phone", "home phone",
              "phone 1 - value", "phone number", "festnetz", "direkt", "direktwahl",
              "primary phone", "company main phone", "zentrale"),
    "mobile": ("mobile", "mobil", "handy", "natel", "mobiltelefon", "mobile phone",
               "cell", "cell phone", "portable", "cellulare", "mobile number"),
    "fax": ("fax", "telefax", "business fax", "fax geschäftlich", "home fax"),
    "email": ("e-mail", "email", "mail", "e-mail address", "email address",
              "e-mail-adresse", "courriel", "posta elettronica", "e-mail 1 - value"),
    "notes": ("notiz", "notizen", "bemerkung", "bemerkungen", "notes", "note", "kommentar",
              "remarques", "note", "comment", "comments"),
}  # fmt: skip
_LOOKUP = {header: name for name, headers in _HEADERS.items() for header in headers}
_WORDS = re.compile(r"[^\w/+-]+")


def suggest(header: str) -> str:
    """The field a column with this header is probably for, or IGNORE."""
    text = _WORDS.sub(" ", header.casefold().replace("_", " ")).strip()
    if text in _LOOKUP:
        return _LOOKUP[text]
    for word, name in (
        ("mobil", "mobile"),
        ("handy", "mobile"),
        ("fax", "fax"),
        ("mail", "email"),
        ("telefon", "phone"),
        ("phone", "phone"),
    ):
        if word in text:
            return name
    return IGNORE


def suggest_mapping(headers: list[str]) -> list[str]:
    """A field per column. A field that is not repeatable goes to its first column only."""
    taken: set[str] = set()
    mapping = []
    for header in headers:
        name = suggest(header)
        if name in taken and name not in REPEATABLE:
            name = IGNORE
        taken.add(name)
        mapping.append(name)
    return mapping


def parse_mapping(text: str, headers: list[str]) -> list[str]:
    """`--map 'Name=last_name,Firma=company_name,Telefon=phone'`: a field per column.

    Columns may be named by header or by number (1 = the first); columns not named are not
    imported. Raises ValueError with a message for the user.
    """
    mapping = [IGNORE] * len(headers)
    folded = {header.casefold().strip(): index for index, header in enumerate(headers)}
    for part in _split_pairs(text):
        column, sep, name = part.rpartition("=")
        column, name = column.strip(), name.strip()
        if not sep or not column:
            raise ValueError(f"--map takes column=field pairs, not {part!r}")
        if name in ("ignore", "-"):
            name = IGNORE
        elif name not in FIELDS or name == IGNORE:
            known = ", ".join(f for f in FIELDS if f)
            raise ValueError(f"{name!r} is not a field offhook imports; the fields are: {known}")
        if column.isdigit() and 1 <= int(column) <= len(headers):
            index = int(column) - 1
        elif column.casefold() in folded:
            index = folded[column.casefold()]
        else:
            raise ValueError(
                f"the file has no column {column!r}; its columns are: " + ", ".join(headers)
            )
        mapping[index] = name
    return mapping


def _split_pairs(text: str) -> list[str]:
    # Commas separate pairs, but a header may contain one ("Telefon, privat=phone"); a field
    # name never does, so a piece without "=" begins the header of the next pair.
    pairs: list[str] = []
    pending: list[str] = []
    for piece in text.split(","):
        pending.append(piece)
        if "=" in piece:
            pairs.append(",".join(pending))
            pending = []
    if any(piece.strip() for piece in pending):
        pairs.append(",".join(pending))
    return pairs
