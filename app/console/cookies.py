"""The console's cookies, all set one way: ``__Host-``-safe (``Secure``, ``Path=/``, no
``Domain``), ``HttpOnly`` (no page script reads any of them) and ``SameSite=Strict``."""

from __future__ import annotations

from fastapi import Response

from app.console.i18n import LANG_COOKIE

LANGUAGE_MAX_AGE = 365 * 86400


def set_cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
    """``max_age`` None: a browser-session cookie."""
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="strict"
    )


def clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="strict")


def remember_language(response: Response, locale: str) -> None:
    set_cookie(response, LANG_COOKIE, locale, LANGUAGE_MAX_AGE)
