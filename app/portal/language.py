"""The portal's message catalogue (``locale/<lang>/LC_MESSAGES/portal.po``), read through
the console's Babel module: Vietnamese by default, English on request."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.console.i18n import translations

LOCALE_DIR = Path(__file__).parent / "locale"


def gettext(locale: str) -> Callable[[str], str]:
    return translations(locale, "portal", LOCALE_DIR).gettext


def from_accept_language(header: str | None) -> str:
    """``en`` when the caller's first choice is English, else Vietnamese (the default)."""
    first = (header or "").split(",", 1)[0].strip().lower()
    return "en" if first.startswith("en") else "vi"
