"""Rendering portal pages: the portal's templates and catalogue, Vietnamese by default.

Pages are rendered on the server, need no JavaScript and load nothing from another host;
the Content-Security-Policy allows no script at all, only this service's stylesheet. Every
error a portal route raises becomes a page in the citizen's language (``PortalRoute``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError

from app.console.cookies import remember_language
from app.console.i18n import LANG_COOKIE, pick_locale, vietnam_time, vnd
from app.console.pages import SECURITY_HEADERS
from app.errors import AppError
from app.portal.language import gettext

log = logging.getLogger(__name__)
Handler = Callable[[Request], Coroutine[Any, Any, Response]]

ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def locale_of(request: Request) -> str:
    lang = request.query_params.get("lang")
    return pick_locale(request.cookies.get(LANG_COOKIE), lang)


def _switch_link(request: Request, locale: str) -> str:
    """This page in the other language (a form's answer: the home page)."""
    other = "en" if locale == "vi" else "vi"
    path = request.url.path if request.method == "GET" else "/"
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    if request.method != "GET":
        kept = []
    return path + "?" + urlencode([*kept, ("lang", other)])


def render(
    request: Request, template: str, context: Mapping[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    locale = locale_of(request)
    values = {
        "error": None,
        **context,
        "locale": locale,
        "_": gettext(locale),
        "switch": _switch_link(request, locale),
        "when": lambda moment: vietnam_time(moment, locale),
        "money": lambda amount: vnd(amount, locale),
        "path": request.url.path,
    }
    html = ENV.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
    if request.query_params.get("lang") == locale:
        remember_language(response, locale)
    return response


def error_page(request: Request, status: int, detail: str) -> Response:
    _ = gettext(locale_of(request))
    headings = {
        404: _("Page not found"),
        422: _("Please check what you entered"),
        429: _("Too many requests: please wait a moment"),
        503: _("The service is busy: please try again in a minute"),
    }
    context = {"heading": headings.get(status, _("Something went wrong")), "text": detail}
    return render(request, "message.html", context, status_code=status)


class PortalRoute(APIRoute):
    """A portal route answers in HTML whatever happens."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                response = await handler(request)
            except AppError as exc:
                response = error_page(request, exc.status, exc.detail)
                if "Retry-After" in (exc.headers or {}):
                    response.headers["Retry-After"] = exc.headers["Retry-After"]
            except (RequestValidationError, ValidationError):
                _ = gettext(locale_of(request))
                response = error_page(request, 422, _("The form or address is not valid."))
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return answer


# The browsed paths whose refused bodies (413) get a page rather than problem+json.
_BROWSED = ("/kiem-tra", "/kiem-tra/anh", "/bao-cao")
TOO_LARGE = "The photo or text is too large (at most 1 MB)."


def refusal_page(path: str, status: int) -> bytes | None:
    """The page for a request refused before it reached a route (a photo above the body
    limit): both languages, since nothing of the request has been read."""
    if status != 413 or path not in _BROWSED:
        return None
    vi, en = gettext("vi"), gettext("en")
    heading, english = vi(TOO_LARGE), en(TOO_LARGE)
    html = ENV.get_template("refused.html").render(
        heading=heading,
        english=english,
        back=vi("Back to the check"),
        back_en=en("Back to the check"),
    )
    return html.encode()
