"""Who is signed in to the console, and what a page needs of them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.console.session import Staff, current_staff
from app.errors import NotFound


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
MaybeSignedIn = Annotated[Staff | None, Depends(maybe_signed_in)]


def need(staff: Staff, scope: str) -> None:
    """A page the user's scopes do not reach answers exactly like one that does not exist."""
    if not staff.may(scope):
        raise ConsolePageNotFound("no such page")
