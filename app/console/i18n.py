"""Translations of the console (Babel message catalogues) and Vietnamese formatting.

Message ids are English; ``locale/<lang>/LC_MESSAGES/console.po`` translates them. The
catalogues are compiled in memory at start-up (no build step, no binary in the tree), so a
new language is one more ``.po`` file (``pybabel init -D console -l <lang>``).
"""

from __future__ import annotations

import io
import re
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


# 8000000, or grouped by thousands the Vietnamese way (8.000.000) or the English way
# (8,000,000); an optional "₫", "đ" or "VND" after it.
_AMOUNT = re.compile(r"([0-9]+|[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]{1,3}(?:,[0-9]{3})+)")
_CURRENCY = re.compile(r"\s*(?:₫|đ|vnd)$", re.IGNORECASE)


class AmountNotWhole(ValueError):
    """The amount is not a whole, positive number of đồng as people write it."""


def parse_amount(text: str) -> int:
    """``8.000.000`` (or ``8,000,000``, ``8000000 ₫``) as 8000000; the schema's bounds
    (more than zero, at most ``MAX_VND``) are checked by ``RecoveryCreate``."""
    plain = _CURRENCY.sub("", text.strip()).strip()
    if not _AMOUNT.fullmatch(plain):
        raise AmountNotWhole(text)
    return int(plain.replace(".", "").replace(",", ""))
