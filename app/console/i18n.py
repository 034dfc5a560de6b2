"""Translations of the console (Babel message catalogues) and Vietnamese formatting.

Message ids are English; ``locale/<lang>/LC_MESSAGES/console.po`` translates them. The
catalogues are compiled in memory at start-up (no build step, no binary in the tree), so a
new language is one more ``.po`` file (``pybabel init -D console -l <lang>``).
"""

from __future__ import annotations

import io
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"
LANG_COOKIE = "registry-lang"
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
_LOCALE_DIR = Path(__file__).parent / "locale"


@cache
def translations(
    locale: str, domain: str = "console", directory: Path = _LOCALE_DIR
) -> NullTranslations:
    """The ``domain`` catalogue of ``locale`` under ``directory`` (the public portal keeps
    its own catalogue, ``portal``, beside its templates)."""
    po = directory / locale / "LC_MESSAGES" / f"{domain}.po"
    if not po.is_file():
        return NullTranslations()  # English: the message ids themselves
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=domain)


def pick_locale(cookie: str | None, query: str | None) -> str:
    for wanted in (query, cookie):
        if wanted in LOCALES:
            return wanted
    return DEFAULT_LOCALE


def vietnam_time(moment: datetime | None, locale: str) -> str:
    """A time in Vietnam (UTC+7), the way the locale writes it."""
    if moment is None:
        return ""
    return format_datetime(moment.astimezone(VIETNAM), "dd/MM/yyyy HH:mm", locale=locale)


def vnd(amount: int | None, locale: str) -> str:
    """An amount in đồng: 8.000.000 ₫ in Vietnamese (dot thousands), 8,000,000 ₫ in English."""
    if amount is None:
        return ""
    return f"{format_decimal(amount, locale=locale)} ₫"
