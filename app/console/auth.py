"""Who is signed in to the console, and what a page needs of them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Form, Request

from app.console.session import Staff, check_csrf, current_staff
from app.errors import NotFound
from app.text import Text


class SignInRequired(Exception):
    """No valid session: the console answers with a redirect to the sign-in page."""


class ConsolePageNotFound(NotFound):
    title = "Page not found"


async def signed_in(request: Request) -> Staff:
    runtime = request.app.state.runtime
    staff = await current_staff(request, runtime.db, runtime.settings)
    if staff is None:
        raise SignInRequired
    return staff


async def maybe_signed_in(request: Request) -> Staff | None:
    runtime = request.app.state.runtime
    return await current_staff(request, runtime.db, runtime.settings)


SignedIn = Annotated[Staff, Depends(signed_in)]
CsrfField = Annotated[Text, Form(max_length=100)]
MaybeSignedIn = Annotated[Staff | None, Depends(maybe_signed_in)]


def need(staff: Staff, scope: str) -> None:
    """A page the user's scopes do not reach answers exactly like one that does not exist."""
    if not staff.may(scope):
        raise ConsolePageNotFound("no such page")


def submitting(scope: str) -> Callable[..., Awaitable[Staff]]:
    """A dependency for a form's POST: the user may use ``scope`` (else 404) and the form
    carries this session's CSRF token (else 403), in that order."""

    async def dependency(staff: SignedIn, csrf: CsrfField = "") -> Staff:
        need(staff, scope)
        check_csrf(staff, csrf)
        return staff

    return dependency
