"""The user's language and locale: every language with a catalogue that holds translations
(German now; French and Italian wait for translators), each in the ways its countries write dates
and numbers (de-CH, de-DE, de-AT), and English.

Texts are translated with gettext catalogues kept as .po files under offhook/locale (Babel reads
and compiles them when first needed, so nothing binary is kept in the repository). A user's choice
is kept as a preference; without one, the browser's Accept-Language decides; a command follows
the system's locale (LC_ALL, LC_MESSAGES, LANG)."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from sqlalchemy.orm import Session

from offhook.store.models import Preference

CATALOGUES = Path(__file__).resolve().parents[1] / "locale"
DOMAIN = "messages"
#: offhook's own language: its texts are written in it, it needs no catalogue.
SOURCE = "en"
#: The countries whose ways of writing dates and numbers a language is offered with, the first
#: one also for a browser that asks for the language alone. A language not named here is
#: offered as itself ("fr"), once its catalogue holds translations.
REGIONS: dict[str, tuple[str, ...]] = {
    "de": ("CH", "DE", "AT"),
    "fr": ("CH", "FR"),
    "it": ("CH", "IT"),
}


def _translated_languages() -> list[str]:
    """The languages with a catalogue that holds at least one translation: adding a language is
    adding its catalogue (offhook/locale/README.md); an empty one waits for its translators."""
    found = []
    for po in sorted(CATALOGUES.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po.open("rb") as source:
            catalogue = read_po(source)
        if any(message.id and _has_text(message.string) for message in catalogue):
            found.append(po.parents[1].name)
    return found


def _has_text(string: str | tuple[str, ...] | list[str] | None) -> bool:
    """Whether a catalogue entry is translated (a plural one has a text for each form)."""
    return any(string) if isinstance(string, tuple | list) else bool(string)


def _offered() -> dict[str, str]:
    """Every locale a user can choose, named as it is written in itself: English, then each
    translated language in the ways of its countries ("Deutsch (Schweiz)")."""
    offered = {SOURCE: str(Locale.parse(SOURCE).get_display_name(SOURCE)).title()}
    for lang in _translated_languages():
        for code in [f"{lang}-{region}" for region in REGIONS.get(lang, ())] or [lang]:
            try:
                name = str(
                    Locale.parse(code.replace("-", "_")).get_display_name(code.replace("-", "_"))
                )
            except (UnknownLocaleError, ValueError):
                continue
            offered[code] = name[:1].upper() + name[1:]
    return offered


#: The locales a user can choose, with their names as they are written in that language.
LOCALES: dict[str, str] = _offered()
DEFAULT = SOURCE
#: The preference a user's choice is kept under.
PREFERENCE = "language"

_current: ContextVar[str] = ContextVar("offhook_locale", default=DEFAULT)


def language_of(locale: str) -> str:
    """The catalogue's language of a locale: "de-CH" → "de"."""
    return locale.split("-", 1)[0]


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of a language; English (the source language) and languages
    without a catalogue yet are shown as written."""
    data = compiled(language)
    if data is None:
        return NullTranslations()
    return Translations(io.BytesIO(data), domain=DOMAIN)


def compiled(language: str) -> bytes | None:
    """The catalogue of a language compiled (a gettext .mo file); None for English and for
    languages without a catalogue."""
    po = CATALOGUES / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == "en" or not po.exists():
        return None
    with po.open("rb") as source:
        catalogue = read_po(source, locale=language, domain=DOMAIN)
    data = io.BytesIO()
    write_mo(data, catalogue)
    return data.getvalue()


def negotiate(accept_language: str | None) -> str:
    """The best of LOCALES for a browser's Accept-Language header ("de-CH,de;q=0.9,en;q=0.8").
    A German without a known country writes as in Switzerland, offhook's home."""
    wanted: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag:
            wanted.append((quality, tag.strip()))
    for _quality, tag in sorted(wanted, key=lambda item: -item[0]):
        for locale in LOCALES:
            if tag.lower() == locale.lower():
                return locale
        # The language alone, or in a country it is not offered for: its first way of writing
        # (German without a known country writes as in Switzerland, offhook's home).
        language = language_of(tag).lower()
        for locale in LOCALES:
            if language_of(locale) == language:
                return locale
    return DEFAULT


def of_environment(environ: Mapping[str, str]) -> str:
    """The locale a command line asks for: the first of LC_ALL, LC_MESSAGES and LANG that is
    set, as POSIX tools read them ("de_CH.UTF-8" → de-CH); "C" and "POSIX" are English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            tag = value.split(".", 1)[0].split("@", 1)[0].replace("_", "-")
            return DEFAULT if tag in ("C", "POSIX") else negotiate(tag)
    return DEFAULT


def chosen(preference: dict[str, object] | None, accept_language: str | None) -> str:
    """The user's locale: their choice if they made one, else their browser's."""
    value = (preference or {}).get("locale")
    if isinstance(value, str) and value in LOCALES:
        return value
    return negotiate(accept_language)


def current() -> str:
    return _current.get()


@contextmanager
def using(locale: str) -> Iterator[None]:
    """Texts and formats in `locale` within the block (one request, one page)."""
    token = _current.set(locale if locale in LOCALES else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


def activate(locale: str) -> None:
    """Texts and formats in `locale` from now on in this context (a request's task)."""
    _current.set(locale if locale in LOCALES else DEFAULT)


def gettext(message: str) -> str:
    return translations(language_of(current())).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(language_of(current())).ngettext(singular, plural, n)


def _(message: str) -> str:
    """Mark and translate a text (the name gettext's tools look for)."""
    return gettext(message)


def N_(message: str) -> str:
    """Mark a text for the catalogue without translating it here (it is translated where it is
    shown, e.g. by the browser)."""
    return message


def babel_locale(locale: str | None = None) -> Locale:
    try:
        return Locale.parse((locale or current()).replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def number_text(value: float, locale: str | None = None) -> str:
    """1’234.5 (de-CH), 1.234,5 (de-DE), 1 234,5 (de-AT), 1,234.5 (en)."""
    return format_decimal(value, locale=babel_locale(locale))


def keep_choice(session: Session, user_id: int, locale: str | None) -> None:
    """Keep the user's locale; None (or an unknown one) goes back to the browser's."""
    row = session.get(Preference, (user_id, PREFERENCE))
    if locale not in LOCALES:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        session.add(Preference(user_id=user_id, key=PREFERENCE, value={"locale": locale}))
    else:
        row.value = {"locale": locale}


def choice_of(session: Session, user_id: int) -> str | None:
    """The locale the user chose, None if they let the browser decide."""
    row = session.get(Preference, (user_id, PREFERENCE))
    value = dict(row.value).get("locale") if row else None
    return value if isinstance(value, str) and value in LOCALES else None
