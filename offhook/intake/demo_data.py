"""The demo firm's world (`offhook.intake.demo`): its clients at home and abroad, their projects,
the firm's service types and the texts of its past work.

Numbers are written the many ways people really type them, so the demo shows the lookup at work.
Everything is made up; any likeness to real numbers is accidental.
"""

from __future__ import annotations

# (company, street, postcode, city, country, switchboard as typed, website-ish e-mail domain,
#  [(salutation, first, last, position, direct number as typed, mobile as typed)])
COMPANIES: list[tuple[str, str, str, str, str, str, str, list[tuple[str, ...]]]] = [
    (
        "Muster AG",
        "Bahnhofstrasse 12",
        "8001",
        "Zürich",
        "CH",
        "044 668 18 00",
        "muster.ch",
        [
            ("Frau", "Anna", "Müller", "CFO", "+41 44 668 18 12", "079 412 33 18"),
            ("Herr", "Peter", "Keller", "CEO", "044/668.18.10", ""),
            ("Frau", "Sandra", "Vogel", "Accounting", "+41 (0)44 668 18 27", ""),
        ],
    ),
    (
        "Bäckerei Frei GmbH",
        "Seestrasse 88",
        "8800",
        "Thalwil",
        "CH",
        "+41 44 720 45 10",
        "baeckerei-frei.ch",
        [
            ("Herr", "Urs", "Frei", "Owner", "", "+41 79 331 20 45"),
        ],
    ),
    (
        "Alpenblick Hotels SA",
        "Rue du Rhône 40",
        "1204",
        "Genève",
        "CH",
        "+41 22 310 22 00",
        "alpenblick.ch",
        [
            ("Madame", "Claire", "Dubois", "Directrice", "022 310 22 14", "+41 78 602 11 90"),
            ("Monsieur", "Luc", "Favre", "Finance", "0041 22 310 22 31", ""),
        ],
    ),
    (
        "Rheintal Logistik AG",
        "Industriestrasse 5",
        "9430",
        "St. Margrethen",
        "CH",
        "071 747 80 80",
        "rheintal-logistik.ch",
        [
            ("Herr", "Marco", "Baumann", "Head of Operations", "071 747 80 85", "076 455 12 12"),
            ("Frau", "Jasmin", "Koller", "HR", "071 747 80 92", ""),
        ],
    ),
    (
        "Bern Immobilien Treuhand AG",
        "Marktgasse 20",
        "3011",
        "Bern",
        "CH",
        "031 311 44 00",
        "bit-bern.ch",
        [
            ("Herr", "Thomas", "Zaugg", "Partner", "031 311 44 07", ""),
        ],
    ),
    (
        "Tessiner Weine Sagl",
        "Via Nassa 3",
        "6900",
        "Lugano",
        "CH",
        "+41 91 922 66 30",
        "tessinerweine.ch",
        [
            ("Signora", "Giulia", "Bernasconi", "Titolare", "", "+41 79 800 54 21"),
        ],
    ),
    (
        "Basler Pharma Consulting AG",
        "Aeschenvorstadt 55",
        "4051",
        "Basel",
        "CH",
        "+41 61 205 70 00",
        "bpc.ch",
        [
            ("Dr.", "Stefan", "Gerber", "Managing Partner", "061 205 70 11", ""),
            ("Frau", "Nadine", "Schmid", "Office", "061 205 70 19", ""),
        ],
    ),
    (
        "Werkstatt Weber",
        "Dorfstrasse 2",
        "8610",
        "Uster",
        "CH",
        "044 940 12 34",
        "weber-uster.ch",
        [("Herr", "Hans", "Weber", "Inhaber", "", "079 640 71 03")],
    ),
    (
        "Schneider Maschinenbau GmbH",
        "Leopoldstraße 110",
        "80802",
        "München",
        "DE",
        "+49 89 3816 0",
        "schneider-mb.de",
        [
            (
                "Herr",
                "Klaus",
                "Schneider",
                "Geschäftsführer",
                "+49 89 3816-214",
                "+49 171 5523 410",
            ),
            ("Frau", "Petra", "Hoffmann", "Einkauf", "089 / 3816 - 230", ""),
        ],
    ),
    (
        "Spree Software GmbH",
        "Friedrichstraße 68",
        "10117",
        "Berlin",
        "DE",
        "+49 (0)30 2096 550",
        "spree-software.de",
        [
            ("Herr", "Jonas", "Becker", "CTO", "+49 30 2096 5512", "0049 160 9120 3345"),
        ],
    ),
    (
        "Wiener Kaffeehaus Handels GmbH",
        "Graben 21",
        "1010",
        "Wien",
        "AT",
        "+43 1 512 34 56",
        "kaffeehaus-handel.at",
        [
            ("Frau", "Elisabeth", "Gruber", "Prokuristin", "0043 1 512 34 56-21", ""),
        ],
    ),
    (
        "Atelier Lumière SARL",
        "12 Rue de Rivoli",
        "75004",
        "Paris",
        "FR",
        "+33 1 42 71 20 00",
        "atelier-lumiere.fr",
        [
            ("Madame", "Sophie", "Laurent", "Gérante", "+33 (0)1 42 71 20 14", "+33 6 12 34 56 78"),
        ],
    ),
    (
        "Thames Advisory Ltd",
        "40 Bank Street",
        "E14 5NR",
        "London",
        "GB",
        "+44 20 7946 0000",
        "thamesadvisory.co.uk",
        [
            ("Mr", "Oliver", "Bennett", "Partner", "+44 20 7946 0958", "+44 7911 123456"),
        ],
    ),
    (
        "Hudson Trading Inc.",
        "350 Fifth Avenue",
        "10118",
        "New York",
        "US",
        "+1 (212) 555-0100",
        "hudsontrading.com",
        [
            ("Ms", "Emily", "Carter", "VP Finance", "+1 212-555-0148", ""),
        ],
    ),
    (
        "Milano Design Srl",
        "Via Montenapoleone 8",
        "20121",
        "Milano",
        "IT",
        "+39 02 7600 1234",
        "milanodesign.it",
        [
            ("Signor", "Luca", "Rossi", "Direttore", "+39 02 7600 1240", "+39 347 123 4567"),
        ],
    ),
]

# (salutation, first, last, street, postcode, city, country, phone as typed, mobile as typed)
PERSONS: list[tuple[str, ...]] = [
    (
        "Frau",
        "Monika",
        "Steiner",
        "Rosenweg 4",
        "8004",
        "Zürich",
        "CH",
        "044 401 22 18",
        "079 222 18 40",
    ),
    ("Herr", "Daniel", "Brunner", "Hauptstrasse 77", "5400", "Baden", "CH", "056 222 61 09", ""),
    ("Frau", "Lea", "Fischer", "Lindenhofweg 9", "3600", "Thun", "CH", "", "+41 76 389 90 12"),
    ("Herr", "Reto", "Huber", "Bergstrasse 15", "7000", "Chur", "CH", "081 252 33 71", ""),
    (
        "Frau",
        "Sarah",
        "Meier",
        "Kirchgasse 3",
        "8400",
        "Winterthur",
        "CH",
        "052 212 45 60",
        "078 715 02 66",
    ),
    ("Herr", "Martin", "Wyss", "Schulhausstrasse 8", "6003", "Luzern", "CH", "041 210 98 76", ""),
    ("Frau", "Corinne", "Roth", "Zelgliweg 1", "8706", "Meilen", "CH", "+41 44 923 11 05", ""),
    (
        "Herr",
        "Beat",
        "Lehmann",
        "Gartenstrasse 30",
        "4600",
        "Olten",
        "CH",
        "062 296 44 12",
        "079 640 18 22",
    ),
    (
        "Frau",
        "Ingrid",
        "Wagner",
        "Mozartstraße 5",
        "5020",
        "Salzburg",
        "AT",
        "0043 662 87 65 43",
        "",
    ),
    ("Herr", "Felix", "Schulz", "Königsallee 60", "40212", "Düsseldorf", "DE", "0211 868 20", ""),
    (
        "Frau",
        "Nina",
        "Zimmermann",
        "Spitalgasse 4",
        "3011",
        "Bern",
        "CH",
        "",
        "+41 (0) 79 555 23 41",
    ),
    ("Herr", "Andreas", "Graf", "Seefeldstrasse 201", "8008", "Zürich", "CH", "044 383 90 90", ""),
]

PROJECTS = [
    ("P-101", "Annual accounts 2026", "Muster AG"),
    ("P-102", "VAT audit support", "Muster AG"),
    ("P-110", "Payroll outsourcing", "Rheintal Logistik AG"),
    ("P-120", "Hotel group restructuring", "Alpenblick Hotels SA"),
    ("P-130", "Real estate valuation Marktgasse", "Bern Immobilien Treuhand AG"),
    ("P-140", "Cross-border tax advice", "Schneider Maschinenbau GmbH"),
    ("P-141", "Transfer pricing documentation", "Schneider Maschinenbau GmbH"),
    ("P-150", "Due diligence Spree Software", "Spree Software GmbH"),
    ("P-160", "Bookkeeping 2026", "Bäckerei Frei GmbH"),
    ("P-170", "Company formation Ticino", "Tessiner Weine Sagl"),
    ("P-180", "UK subsidiary reporting", "Thames Advisory Ltd"),
    ("P-900", "Internal: training and admin", None),
]

SERVICE_TYPES = [
    ("TEL", "Phone call"),
    ("CONS", "Consulting"),
    ("ACC", "Accounting"),
    ("ADM", "Administration"),
]

# Callers that are in no address: the lookup finds nobody, or there is no number at all.
UNKNOWN_CALLER = "+41 79 555 01 99"
OTHER_CALLERS = (UNKNOWN_CALLER, "anonymous", "+49 30 901820")

# What the history's phone calls were about: a service's text, and the activity noted.
SERVICE_TEXTS = [
    "Questions on the annual accounts",
    "Clarified open invoices",
    "VAT question",
    "Follow-up on documents",
    "Planning next steps",
    "Payroll question",
]
ACTIVITY_SUBJECT = "Phone call"
ACTIVITY_TEXT = "Discussed the next steps; documents to follow by e-mail."
