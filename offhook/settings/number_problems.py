"""Number problems in the reader's language (`offhook.numbers.problems` writes them in English)."""

from __future__ import annotations

from offhook.numbers.problems import TEMPLATES, english_parts, problem_of
from offhook.settings import language


def problem_text(error: str | None) -> str:
    """`error`, a problem as the parser wrote it (or as it is stored with an address), in the
    current language; a text that is no known problem is shown as it is."""
    problem = problem_of(error)
    if problem is None:
        # Other texts of the same places (the report's "no phone number…") are marked N_.
        return language.gettext(error) if error else ""
    parts = english_parts(problem.params)
    country = problem.params.get("country")
    if country is not None:
        # English says "a Swiss number"; other languages would need an adjective with its
        # grammar for every country, so their texts name the country instead: its name in the
        # reader's language (CLDR, through Babel), or its calling code.
        names = language.babel_locale().territories
        parts["country"] = names.get(country, country) if country[:1] != "+" else country
    return language.gettext(TEMPLATES[problem.code]).format(**parts)
