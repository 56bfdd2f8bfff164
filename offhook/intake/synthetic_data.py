"""The made-up world of `offhook demo-data` (`offhook.intake.synthetic`): countries with their
number ranges, names, streets, company names, positions and the typos of real address books."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Area:
    code: str  # area code without trunk prefix (Italy: with its 0)
    city: str
    postcode: str
    length: int  # subscriber digits
    start: str = ""  # what every subscriber number starts with (ranges that exist)


@dataclass(frozen=True, slots=True)
class Country:
    iso: str
    calling: str
    trunk: str
    share: float  # of the addresses
    areas: tuple[Area, ...]
    mobiles: tuple[tuple[str, int], ...]  # "prefix|start", digits after the prefix
    extension: int  # digits of a direct-dial extension within a company's block
    din: bool  # switchboards written "0711 12345-0" (Germany, Austria)
    legal: tuple[str, ...]
    salutations: tuple[tuple[str, str], ...]  # (her, his)
    first: tuple[tuple[str, ...], tuple[str, ...]]  # women, men
    last: tuple[str, ...]
    streets: tuple[str, ...]


# fmt: off
def _areas(*rows: str) -> tuple[Area, ...]:
    """Areas from "code city postcode-start digits [start]" (city names without blanks)."""
    areas = []
    for row in rows:
        code, city, postcode, length, *start = row.split()
        areas.append(Area(code, city.replace("_", " "), postcode, int(length), "".join(start)))
    return tuple(areas)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _mobiles(*rows: str) -> tuple[tuple[str, int], ...]:
    return tuple((prefix, int(length)) for prefix, length in (row.split() for row in rows))


# Every range below exists (phonenumbers calls its numbers valid); tests/directory holds it.
COUNTRIES = (
    Country(
        iso="CH", calling="41", trunk="0", share=0.55,
        areas=_areas(
            "44 Zürich 80 7", "43 Zürich 80 7", "31 Bern 30 7", "61 Basel 40 7",
            "22 Genève 12 7", "21 Lausanne 10 7", "41 Luzern 60 7", "71 St._Gallen 90 7",
            "52 Winterthur 84 7", "91 Lugano 69 7", "81 Chur 70 7", "62 Olten 46 7",
            "56 Baden 54 7", "32 Biel 25 7",
        ),
        mobiles=_mobiles("75 7", "76 7", "77 7", "78 7", "79 7"),
        extension=2, din=False, legal=("AG", "GmbH", "SA", "Sàrl", "Genossenschaft"),
        salutations=(("Frau", "Herr"), ("Madame", "Monsieur")),
        first=(
            _words("Anna Sandra Claudia Nicole Monika Laura Sarah Lea Julia Claire Nathalie "
                   "Giulia Corinne Nadine Andrea Ursula"),
            _words("Peter Thomas Daniel Martin Marco Reto Stefan Lukas Urs Beat Luc Pierre "
                   "Andreas Christian Michael Simon"),
        ),
        last=_words("Müller Meier Schmid Keller Weber Huber Schneider Meyer Steiner Fischer "
                    "Gerber Brunner Baumann Frei Zimmermann Moser Widmer Wyss Graf Roth Favre "
                    "Dubois Bernasconi Rochat"),
        streets=("Bahnhofstrasse", "Hauptstrasse", "Dorfstrasse", "Seestrasse", "Kirchgasse",
                 "Industriestrasse", "Rue du Rhône", "Via Nassa", "Marktgasse", "Gartenstrasse"),
    ),
    Country(
        iso="DE", calling="49", trunk="0", share=0.20,
        areas=_areas(
            "30 Berlin 10 8", "40 Hamburg 20 8", "89 München 80 8", "69 Frankfurt_am_Main 60 8",
            "221 Köln 50 7", "211 Düsseldorf 40 7", "711 Stuttgart 70 7", "341 Leipzig 04 7",
            "911 Nürnberg 90 7", "421 Bremen 28 7",
        ),
        mobiles=_mobiles("151 8", "152 8", "157 8", "160 7", "170 7", "171 7", "172 7",
                         "176 8", "177 7", "179 7"),
        extension=3, din=True, legal=("GmbH", "AG", "GmbH & Co. KG", "KG", "e.K."),
        salutations=(("Frau", "Herr"),),
        first=(
            _words("Petra Sabine Katrin Anja Susanne Julia Lena Miriam"),
            _words("Klaus Jonas Felix Jürgen Matthias Tobias Sebastian Frank"),
        ),
        last=_words("Schneider Hoffmann Becker Schulz Wagner Koch Richter Wolf Schröder "
                    "Neumann Schwarz Krüger"),
        streets=("Friedrichstraße", "Leopoldstraße", "Königsallee", "Hauptstraße",
                 "Bahnhofstraße", "Schillerstraße", "Goethestraße", "Lindenallee"),
    ),
    Country(
        iso="AT", calling="43", trunk="0", share=0.08,
        areas=_areas("1 Wien 10 7", "316 Graz 80 6", "662 Salzburg 50 6", "732 Linz 40 6",
                     "512 Innsbruck 60 6"),
        mobiles=_mobiles("664 7", "676 7", "650 7", "699 8", "660 7"),
        extension=2, din=True, legal=("GmbH", "AG", "KG", "OG"),
        salutations=(("Frau", "Herr"),),
        first=(
            _words("Elisabeth Johanna Theresa Magdalena Barbara"),
            _words("Florian Lukas Wolfgang Georg Maximilian"),
        ),
        last=_words("Gruber Huber Bauer Wagner Pichler Steiner Moser Mayer"),
        streets=("Graben", "Mariahilfer Straße", "Herrengasse", "Getreidegasse", "Landstraße"),
    ),
    Country(
        iso="FR", calling="33", trunk="0", share=0.06,
        areas=_areas("1 Paris 75 8", "4 Lyon 69 8", "3 Lille 59 8", "5 Bordeaux 33 8 5",
                     "2 Nantes 44 8 4"),
        mobiles=_mobiles("6|1 8", "6|2 8", "6|6 8", "6|7 8", "7|5 8", "7|7 8"),
        extension=2, din=False, legal=("SARL", "SAS", "SA"),
        salutations=(("Madame", "Monsieur"),),
        first=(
            _words("Sophie Camille Manon Chloé Isabelle"),
            _words("Julien Nicolas Antoine Mathieu Olivier"),
        ),
        last=_words("Laurent Martin Bernard Petit Durand Leroy Moreau Girard"),
        streets=("Rue de Rivoli", "Boulevard Haussmann", "Rue de la République", "Avenue Foch"),
    ),
    Country(
        iso="IT", calling="39", trunk="", share=0.05,
        areas=_areas("02 Milano 201 8", "06 Roma 001 8", "011 Torino 101 7",
                     "055 Firenze 501 7"),
        mobiles=_mobiles("347 7", "333 7", "339 7", "320 7", "366 7"),
        extension=2, din=False, legal=("S.r.l.", "S.p.A.", "S.a.s."),
        salutations=(("Signora", "Signor"),),
        first=(
            _words("Giulia Francesca Chiara Sara Valentina"),
            _words("Luca Marco Alessandro Matteo Davide"),
        ),
        last=_words("Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci"),
        streets=("Via Montenapoleone", "Via Roma", "Corso Italia", "Via Garibaldi", "Via Dante"),
    ),
    Country(
        iso="GB", calling="44", trunk="0", share=0.03,
        areas=_areas("20 London EC1 8 7", "20 London W1 8 8", "161 Manchester M1 7",
                     "131 Edinburgh EH1 7 2"),
        mobiles=_mobiles("7712 6", "7825 6", "7403 6", "7590 6", "7985 6"),
        extension=2, din=False, legal=("Ltd", "plc", "LLP"),
        salutations=(("Ms", "Mr"),),
        first=(
            _words("Olivia Emily Charlotte Sophie"),
            _words("Oliver George Harry James"),
        ),
        last=_words("Smith Jones Taylor Brown Bennett Wilson Evans Walker"),
        streets=("Bank Street", "High Street", "Station Road", "Church Lane", "King Street"),
    ),
    Country(
        iso="US", calling="1", trunk="1", share=0.03,
        areas=_areas("212 New_York 100 7", "415 San_Francisco 941 7", "617 Boston 021 7",
                     "312 Chicago 606 7", "206 Seattle 981 7"),
        # No mobile prefixes in America: cell phones share the area codes.
        mobiles=_mobiles("212 7", "415 7", "646 7"),
        extension=2, din=False, legal=("Inc.", "LLC", "Corp."),
        salutations=(("Ms", "Mr"),),
        first=(
            _words("Emily Jessica Ashley Megan"),
            _words("Michael Chris Matthew Ryan"),
        ),
        last=_words("Carter Miller Davis Garcia Johnson Clark Lewis Hall"),
        streets=("Fifth Avenue", "Market Street", "Main Street", "Broadway", "Elm Street"),
    ),
)
HOME = COUNTRIES[0]
COMPANY_WORDS = _words(
    "Alpen Berg Rhein Sonnen Nord Süd Stadt Garten Fluss Kristall Atlas Helvetia Orion Delta "
    "Nova Vista Linden Eichen Falken")
COMPANY_TRADES = _words(
    "Treuhand Consulting Logistik Bau Immobilien Software Design Pharma Maschinenbau Handel "
    "Architektur Medical Engineering Weine Hotels")
POSITIONS = ("CEO", "CFO", "Partner", "Head of Sales", "Accounting", "Office", "Purchasing",
             "Project Manager", "HR", "Engineer", "Director", "Owner")
TYPOS = ("n/a", "-", "tbd", "siehe Firma", "0", "044 123 45", "+41 44 123 45 67 89 0")


# fmt: on

#: Names as they go into e-mail addresses and web domains.
ASCII = str.maketrans(
    {
        "ä": "ae",
        "ö": "oe",
        "ü": "ue",
        "é": "e",
        "è": "e",
        "à": "a",
        "ç": "c",
        "ß": "ss",
        " ": "-",
        "&": "-",
        ".": "",
        ",": "",
    }
)
