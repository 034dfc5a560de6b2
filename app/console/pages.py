"""Rendering console pages: Jinja2 templates, the user's language, security headers.

Every page is rendered on the server and works without JavaScript. The Content-Security-
Policy allows no script at all and only this service's own stylesheet, so a value that
slipped past escaping still could not run; the one page that reloads itself (an import in
progress) may load this service's own script file, still no inline script.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError

from app.console.cookies import remember_language
from app.console.i18n import LANG_COOKIE, pick_locale, translations, vietnam_time, vnd
from app.console.statuses import category_name, status_name

_TEMPLATES = Path(__file__).parent / "templates"
ENV = Environment(
    loader=FileSystemLoader(_TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}

# The import progress page reloads itself with the console's own script file.
SCRIPTED_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"].replace(
        "default-src 'none';", "default-src 'none'; script-src 'self';"
    ),
}

# Declared by every page, so ``?lang=en`` passes the application's unknown-parameter check.
Lang = Annotated[str | None, Query(max_length=5, pattern=r"^[a-z]{2}$")]


def locale_of(request: Request, lang: str | None) -> str:
    return pick_locale(request.cookies.get(LANG_COOKIE), lang)


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    lang: str | None = None,
    status_code: int = 200,
    scripted: bool = False,
) -> HTMLResponse:
    """The page; ``scripted`` lets it load this service's own script files (never inline)."""
    locale = locale_of(request, lang)
    catalogue = translations(locale)
    gettext = catalogue.gettext

    def when(moment: datetime | None) -> str:
        return vietnam_time(moment, locale)

    def money(amount: int | None) -> str:
        return vnd(amount, locale)

    def named(word: str) -> str:
        return status_name(catalogue, word)

    def category(code: str) -> str:
        return category_name(locale, code)

    # Where the language switch comes back to: this page if it can be fetched again.
    here = request.url.path if request.method == "GET" else "/console/"
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    if request.method == "GET" and kept:
        here += "?" + urlencode(kept)
    values = {
        "here": here,
        "staff": None,
        "messages": [],
        "error": None,
        **context,
        "locale": locale,
        "_": gettext,
        "when": when,
        "money": money,
        "status_name": named,
        "category_name": category,
    }
    html = ENV.get_template(template).render(values)
    headers = SCRIPTED_HEADERS if scripted else SECURITY_HEADERS
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    if lang is not None and lang == locale:
        remember_language(response, locale)
    return response


def gettext_for(request: Request, lang: str | None) -> Any:
    return translations(locale_of(request, lang)).gettext


def first_error(exc: ValidationError) -> str:
    """A form's first validation error, as the page shows it: ``loc: message``."""
    first = exc.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
