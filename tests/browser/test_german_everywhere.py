"""Issue 12, deliverable 7: a German user sees German everywhere. Every page (found by following
links, as test_every_page does), the journal panel with its menus and toasts, the demo's strip,
form errors and error pages are read in Chromium, as the user sees them: every text node, every
title, label and placeholder. A word that offhook's catalogue (or everyday English) has in
English and the German catalogue never uses is a text that was left untranslated."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from babel import Locale
from babel.dates import get_day_names, get_month_names
from babel.messages.extract import extract_python
from babel.messages.pofile import read_po
from playwright.sync_api import expect

from offhook.app import Offhook
from offhook.settings import language
from offhook.settings.config import Config
from offhook.store import Store
from tests import factories
from tests.browser.conftest import new_page
from tests.browser.office import firm, simulate
from tests.browser.test_every_page import _crawl
from tests.livesite import live_server

pytestmark = pytest.mark.browser

KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
WORD = re.compile(r"[A-Za-zÀ-ÿ’']+")
# Everyday English that any untranslated sentence is made of, beside the catalogue's own words.
EVERYDAY = set(
    """the a and or of to with for from on at by is are was were be been this that these those
    it its you your we our not no yes all any each every one some more less than then when where
    which who what how why can could may must should would has have had do does did there here
    out over after before about into only also just new add edit delete save cancel back next
    show hide open close call calls called calling missed answered ringing minute minutes hour
    hours day days week weeks today yesterday tomorrow month year number numbers name names
    address addresses activity activities user users settings phone system systems page pages
    search find import export file files error errors found nothing none please enter choose
    first last until since while between per total billed unbilled billable outgoing incoming
    matches match simulate simulated caller rings answer something went wrong allowed""".split()  # noqa: SIM905 (a paragraph of words reads better)
)
# Words of the test's own data, names and brands: not texts of offhook.
NAMES = set(
    """offhook anna müller muster ag bahnhofstrasse zürich demo sip asterisk ami fritz box tapi
    sipgate placetel webhook cx api csv vcard ok p-101 p-102 e-mail zammad baresip json http
    https url id crm ch de en at simulator europe zurich""".split()  # noqa: SIM905 (a paragraph of words reads better)
)
COUNTRIES = set(Locale.parse("de_CH").territories.values())
# Texts of the test's data (tests/factories.py), as a user typed them.
DATA = ("anna's phone", "line-of-anna", "Phone call", "Project P-101", "Project P-102")
TEXTS_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, parent = node.parentElement;
    if (!parent || parent.closest("script, style, noscript, code, pre, kbd, samp")) continue;
    const text = node.textContent.trim();
    if (text) out.push(text);
  }
  for (const e of document.querySelectorAll("[title], [aria-label], [placeholder], [alt]")) {
    for (const name of ["title", "aria-label", "placeholder", "alt"]) {
      const value = e.getAttribute(name);
      if (value && !e.closest("code, pre")) out.push(value);
    }
  }
  for (const e of document.querySelectorAll("input[type=submit], input[type=button]")) {
    if (e.value) out.push(e.value);
  }
  return out;
}"""


def _words(texts: Any) -> set[str]:
    return {word.lower().strip("’'") for text in texts for word in WORD.findall(text)}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else " ".join(value)


CODE = re.compile(r"\w:\w|[_=`/]|^--")


def _german_words(message: Any) -> str:
    """The words a German text uses; what is typed as it is (sessions:calls:write, --map) is
    not German. Cognates ("Port", "Journal", "Server") are."""
    return " ".join(token for token in _text(message.string).split() if not CODE.search(token))


def _command_line_texts() -> set[str]:
    """The command's texts: they keep the values one types ("answered, missed …") in German too,
    and no page shows them."""
    package = language.CATALOGUES.parent
    found: set[str] = set()
    for folder in [package / "cli", *package.glob("drivers/*")]:
        for path in folder.glob("cli.py") if folder.name != "cli" else folder.glob("*.py"):
            with path.open("rb") as source:
                for _line, _name, texts, _notes in extract_python(source, KEYWORDS, [], {}):
                    text = texts if isinstance(texts, str) else (texts or (None,))[0]
                    if text:
                        found.add(text)
    return found


def english_words() -> set[str]:
    """Words only the English side uses: the catalogue's English minus its German, everyday
    English, and English names of days and months (dates written in German have German ones)."""
    with (language.CATALOGUES / "messages.pot").open("rb") as pot:
        template = read_po(pot)
    with (language.CATALOGUES / "de" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        german = read_po(po, locale="de")
    source = [m.id if isinstance(m.id, str) else " ".join(m.id) for m in template if m.id]
    commands = _command_line_texts()
    assert "People who log in to offhook." in commands
    shown = [_german_words(m) for m in german if m.id and _text(m.id) not in commands]
    dates = [
        *get_day_names("wide", locale="en").values(),
        *get_month_names("wide", locale="en").values(),
        *get_month_names("abbreviated", locale="en").values(),
    ]
    german_dates = [
        *get_day_names("wide", locale="de").values(),
        *get_day_names("abbreviated", locale="de").values(),
        *get_month_names("wide", locale="de").values(),
        *get_month_names("abbreviated", locale="de").values(),
    ]
    english = _words([*source, *dates]) | EVERYDAY
    words = english - _words([*shown, *german_dates]) - NAMES
    return {word for word in words if len(word) > 2 or word in EVERYDAY}


def english_on(page: Any, english: set[str]) -> list[str]:
    """The texts on the page with a word only English uses (the test's data left out)."""
    found = []
    for text in page.evaluate(TEXTS_JS):
        if text in COUNTRIES:
            continue  # some keep their English name in German ("Isle of Man")
        for name in DATA:
            text = text.replace(name, "")
        words = _words([text]) & english
        if words:
            found.append(f"{text!r} ({', '.join(sorted(words))})")
    return sorted(set(found))


def test_a_german_user_sees_no_english(browser: Any, sqlite_store: Store, tmp_path: Path) -> None:
    english = english_words()
    assert {"the", "calls", "simulate", "thursday", "may"} <= english
    assert "anrufe" not in english and "anruf" not in english
    firm(sqlite_store)
    # A number offhook cannot read: its problem on the address, the list and the report.
    unreadable = factories.address(
        sqlite_store, kind="person", first="Anna", last="Muster", numbers=(("phone", "044 123 45"),)
    )
    config = Config(data_dir=tmp_path, demo=True)
    problems: dict[str, str] = {}  # each English text, with where it was first seen

    def check(where: str) -> None:
        for text in english_on(page, english):
            problems.setdefault(text, where)

    with live_server(Offhook(config, sqlite_store)) as base:
        context, page, errors = new_page(browser, locale="de-CH")
        page.goto(f"{base}/login")
        check("/login")
        page.fill("input[name=login]", "anna")
        page.fill("input[name=password]", "wrong")
        page.get_by_role("button", name="Anmelden").click()
        check("/login (wrong password)")
        page.fill("input[name=login]", "anna")
        page.fill("input[name=password]", factories.PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_url(f"{base}/")
        expect(page.locator("#journal")).to_have_attribute("data-live", "true", timeout=10_000)
        # Every kind of journal entry: missed (open), answered, ringing.
        simulate(page, "+41 44 668 18 12", "Anna M.", outcome="missed")
        simulate(page, "+49 30 901820", outcome="answered")
        simulate(page, "+33 1 42 68 53 00", outcome="ringing")
        expect(page.locator("#journal .entry")).to_have_count(3)
        expect(page.locator(".demo-strip select[name=number] option").first).to_be_attached()
        check("/ (journal, demo strip)")

        # The journal's project menu, and a toast (an action the server refuses).
        page.locator("#journal .entry .btn-menu, #journal .entry [aria-haspopup]").first.click()
        check("journal menu")
        page.keyboard.press("Escape")
        page.evaluate(
            """async () => { const csrf = document.querySelector('meta[name="csrf-token"]').content;
                const r = await fetch('/api/calls/999999/done', {method: 'POST',
                    headers: {'X-CSRF-Token': csrf}});
                const body = await r.json(); window.offhookToast(body.detail, true); }"""
        )
        check("toast of a refused action")
        page.locator(".demo-strip select[name=to]").select_option("600")
        page.locator(".demo-strip button[type=submit]").click()
        expect(page.locator(".demo-status")).not_to_be_empty()
        check("demo strip error")

        for path in _crawl(page, base):
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            check(path)

        # The number's problem, where it is shown.
        page.goto(f"{base}/addresses/{unreadable.id}")
        expect(page.locator("main")).to_contain_text("zu kurz für eine Nummer (Schweiz)")
        check("address with a number that cannot be normalized")
        page.goto(f"{base}/settings/numbers")
        check("/settings/numbers (with a number that cannot be normalized)")

        # An import with a row it refuses and a row it imports with a warning: the report.
        page.goto(f"{base}/imports")
        page.locator("input[type=file]").set_input_files(
            {
                "name": "adressen.csv",
                "mimeType": "text/csv",
                "buffer": (
                    "Vorname;Nachname;Firma;Land;Telefon\r\n"
                    ";;Muster Zürich;Atlantis;044 123 45\r\n"
                    ";;;;044 668 18 12\r\n"
                ).encode("utf-8-sig"),
            }
        )
        page.locator("main form button[type=submit]").last.click()
        page.wait_for_url(re.compile(r"/imports/[^/?]+$"))
        check("import preview")
        page.locator("main button[name=action][value=import]").first.click()
        expect(page.locator("main")).to_contain_text("kein Name und keine Firma", timeout=15_000)
        expect(page.locator("main")).to_contain_text("kann nicht normalisiert werden")
        check("import report")

        # A call from a CRM page: its toast.
        page.goto(f"{base}/calls")
        page.locator("main table tbody a[href^='/calls/']").first.click()
        page.locator("main [data-dial]").first.click()
        expect(page.locator(".toast").first).to_be_attached()
        check("dialling toast")

        # Forms sent empty or wrong: their messages.
        for path in ("/addresses/new", "/services/new", "/activities/new"):
            page.goto(base + path)
            form = page.locator("main form[method=post]").last
            for field in form.locator("input[name=day], input[name=start]").all():
                field.fill("gestern")
            form.locator("button[type=submit]").last.click()
            check(f"{path} (sent with mistakes)")

        # Error pages.
        for path in ("/addresses/999999", "/services/999999", "/no-such-page"):
            page.goto(base + path)
            check(f"{path} (error page)")
        context.close()

    # The wrong password, the forms sent with mistakes and the error pages answer 4xx on purpose.
    assert [e for e in errors if not e.startswith("Failed to load resource")] == [], errors
    if problems:
        pytest.fail(
            f"{len(problems)} texts in English:\n"
            + "\n".join(f"{where}: {text}" for text, where in problems.items())
        )
