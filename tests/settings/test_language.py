"""The user's language: catalogues in step with the code, German complete, French and Italian
ready; the locale from the user's choice or the browser; numbers and dates in that locale."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from offhook.settings import clock, language

PACKAGE = Path(language.__file__).resolve().parents[1]
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def _source_texts() -> set[str]:
    found = extract_from_dir(
        str(PACKAGE),
        method_map=[
            ("**.py", "python"),
            ("web/templates/**.html", "jinja2"),
            ("drivers/*/templates/**.html", "jinja2"),
        ],
        keywords=KEYWORDS,
    )
    return {m[2] if isinstance(m[2], str) else m[2][0] for m in found}


def _catalogue(lang: str) -> dict[str, object]:
    with (language.CATALOGUES / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalogue = read_po(po)
    return {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in catalogue if m.id}


def test_the_catalogues_hold_every_text_of_the_code() -> None:
    texts = _source_texts()
    assert "Telephony journal" in texts and "Answer" in texts
    for lang in ("de", "fr", "it"):
        assert set(_catalogue(lang)) == texts, lang


def test_german_is_complete() -> None:
    untranslated = [
        text for text, shown in _catalogue("de").items() if not shown or shown == ("", "")
    ]
    assert untranslated == []


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("de-CH,de;q=0.9,en;q=0.8", "de-CH"),
        ("de-DE", "de-DE"),
        ("de-at", "de-AT"),
        ("de", "de-CH"),
        ("fr-CH,fr;q=0.9,de;q=0.7", "de-CH"),
        ("en-GB,en;q=0.9", "en"),
        ("en;q=0.4,de-DE;q=0.8", "de-DE"),
        ("", "en"),
        (None, "en"),
        ("x;q=nonsense,;;", "en"),
    ],
)
def test_the_browsers_language_decides_without_a_choice(header: str | None, locale: str) -> None:
    assert language.negotiate(header) == locale
    assert language.chosen(None, header) == locale
    assert language.chosen({"locale": "de-AT"}, header) == "de-AT"
    assert language.chosen({"locale": "xx"}, header) == locale


def test_texts_numbers_and_dates_in_the_locale() -> None:
    day = date(2026, 11, 26)
    expected = {
        "en": ("Telephony journal", "1,234.5"),
        "de-CH": ("Telefonie-Journal", "1’234.5"),
        "de-DE": ("Telefonie-Journal", "1.234,5"),
    }
    for locale, (title, number) in expected.items():
        with language.using(locale):
            assert language.gettext("Telephony journal") == title
            assert language.number_text(1234.5) == number
    with language.using("de-AT"):
        assert clock.long_date_text(day) == "Donnerstag, 26. November 2026"
        assert language.ngettext("%(num)s service", "%(num)s services", 2) == "%(num)s Leistungen"
    assert language.current() == "en"


def test_the_picker_offers_every_catalogue_with_translations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Adding a language is adding its catalogue: nothing else names it."""
    for lang, translated in (("de", True), ("fr", True), ("it", False), ("rm", True)):
        folder = tmp_path / lang / "LC_MESSAGES"
        folder.mkdir(parents=True)
        shown = "x" if translated else ""
        (folder / "messages.po").write_text(
            f'msgid ""\nmsgstr ""\n\nmsgid "Answer"\nmsgstr "{shown}"\n', encoding="utf-8"
        )
    monkeypatch.setattr(language, "CATALOGUES", tmp_path)
    offered = language._offered()
    assert list(offered) == ["en", "de-CH", "de-DE", "de-AT", "fr-CH", "fr-FR", "rm"]
    assert offered["fr-CH"] == "Français (Suisse)" and offered["rm"] == "Rumantsch"
    # The real catalogues: German is offered, French and Italian wait for their translators.
    assert list(language.LOCALES) == ["en", "de-CH", "de-DE", "de-AT"]


def test_french_and_italian_wait_for_translators() -> None:
    """Ready, not filled with another language's texts by a catalogue update."""
    for lang in ("fr", "it"):
        filled = [text for text, shown in _catalogue(lang).items() if shown not in ("", ("", ""))]
        assert filled == [], lang
