"""The locales an organization may choose for its reports' numbers and dates.

Reports format with Django's formats (``django.utils.formats`` under
``translation.override``), so the locales offered are Django's: a language
Django names (``LANG_INFO``) that has a catalog and a format module, its own or
its base language's. A language without one would silently get the project's
default formats, so it is refused rather than accepted and ignored.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf.locale import LANG_INFO
from django.utils.formats import iter_format_modules
from django.utils.translation import check_for_language

ERROR = (
    "locale must be a language tag Django formats numbers for, "
    "such as en, de, fr, es or pt-BR"
)


def _tag(code: str) -> str:
    """BCP 47 casing: ``pt-br`` -> ``pt-BR``, ``zh-hans`` -> ``zh-Hans``."""
    language, *subtags = code.split("-")
    cased = [
        s.upper() if len(s) == 2 else s.title() if len(s) == 4 else s for s in subtags
    ]
    return "-".join([language.lower(), *cased])


@cache
def known() -> dict[str, str]:
    """Every locale offered, lower-cased tag -> tag, in Django's order."""
    return {
        code.lower(): _tag(code)
        for code, info in LANG_INFO.items()
        if "name" in info  # not the aliases that only name a fallback (zh-cn)
        and check_for_language(code)
        and any(True for _module in iter_format_modules(code))
    }


def tag(value: Any) -> str | None:
    """The locale ``value`` names (any case, ``_`` or ``-``), or None."""
    if not isinstance(value, str) or len(value) > 16:
        return None
    return known().get(value.strip().replace("_", "-").lower())


def choices() -> list[tuple[str, str]]:
    """For a form's select: the deployment's default first."""
    return [("", "the deployment's (REPORTS_LOCALE)")] + [
        (locale, f"{locale} ({LANG_INFO[code]['name']})")
        for code, locale in known().items()
    ]
