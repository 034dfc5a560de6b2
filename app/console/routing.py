"""Every console route answers in HTML: errors become pages, a missing session a redirect."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError

from app.console.auth import SignInRequired
from app.console.pages import SECURITY_HEADERS, gettext_for, render
from app.errors import AppError, InvalidInput, PayloadTooLarge
from app.text import is_clean

log = logging.getLogger(__name__)
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def error_page(request: Request, status: int, detail: str) -> Response:
    _ = gettext_for(request, None)
    headings = {
        403: _("Refused"),
        404: _("Not found"),
        413: _("The file is too large"),
        415: _("Not a CSV or XLSX file"),
        429: _("Too many attempts"),
    }
    heading = headings.get(status, _("Something is not right"))
    context = {"heading": heading, "text": detail, "link": "/console/", "link_text": _("Home")}
    return render(request, "message.html", context, status_code=status)


async def _check_form_text(request: Request) -> None:
    """No NUL or lone surrogate in any form field reaches a service or the database
    (PostgreSQL refuses NUL in text): the form is read once here, and cached for the route."""
    if request.method != "POST":
        return
    form = await request.form()
    for name, value in form.multi_items():
        if isinstance(value, str) and not (is_clean(value) and is_clean(name)):
            raise InvalidInput("a form field holds a character that cannot be stored")


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                await _check_form_text(request)
                response = await handler(request)
            except SignInRequired:
                response = RedirectResponse("/console/login", status_code=303)
            except AppError as exc:
                response = error_page(request, exc.status, exc.detail)
                if "Retry-After" in (exc.headers or {}):
                    response.headers["Retry-After"] = exc.headers["Retry-After"]
            except (RequestValidationError, ValidationError):
                response = error_page(request, 422, "the form or address is not valid")
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return answer


class _CountedBody:
    """The request body, refused (413) once it passes ``limit`` bytes."""

    def __init__(self, receive: Any, limit: int) -> None:
        self._receive = receive
        self._limit = limit
        self._received = 0

    async def receive(self) -> Any:
        message = await self._receive()
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self._limit:
                raise PayloadTooLarge("the upload is larger than the import accepts")
        return message


class UploadRoute(ConsoleRoute):
    """A console route that takes a file: its body may be larger than the service's usual
    limit (the middleware lets the upload path through to a backstop of its own), up to
    the import's limit, and one beyond is refused with a page, before or while reading."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            if request.method != "POST":
                return await handler(request)
            settings = request.app.state.runtime.settings
            limit = settings.console_import_max_bytes + 64 * 1024
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                response = error_page(request, 413, "the file is larger than the import accepts")
                for name, value in SECURITY_HEADERS.items():
                    response.headers.setdefault(name, value)
                response.headers["Connection"] = "close"
                return response
            counted = _CountedBody(request.receive, limit)
            return await handler(Request(request.scope, counted.receive))

        return answer
