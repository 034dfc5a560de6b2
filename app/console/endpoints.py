"""Console sign-in: enrolment, login, logout (SPEC §12)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.console.auth import MaybeSignedIn, SignedIn
from app.console.cookies import remember_language
from app.console.pages import Lang, gettext_for, render
from app.console.routing import ConsoleRoute
from app.console.session import (
    check_csrf,
    check_login_csrf,
    end_session,
    login_csrf,
    set_login_csrf,
    start_session,
)
from app.db.types import utcnow
from app.db.unit_of_work import unchained_write, unit_of_work
from app.oauth.failures import FailedAuthLimit
from app.request_context import request_id_var
from app.text import Text
from app.users import credentials
from app.users.service import (
    EnrolmentInvalid,
    LoginFailed,
    authenticate,
    enrol_user,
    get_organisation_by_id,
    pending_enrolment,
    user_actor,
)

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)

Token = Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
Field200 = Annotated[Text, Form(max_length=256)]


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/language/{code}")
async def switch_language(
    code: Annotated[str, Path(pattern=r"^(vi|en)$")],
    next: Annotated[str, Query(max_length=2000)] = "/console/",
) -> Response:
    """Remember the language (a cookie) and go back to the page, never off this site."""
    if not next.startswith("/console/") or "//" in next or "\\" in next:
        next = "/console/"
    response = RedirectResponse(next, status_code=303)
    remember_language(response, code)
    return response


@router.get("/login")
async def login_page(request: Request, staff: MaybeSignedIn, lang: Lang = None) -> Response:
    if staff is not None:
        return RedirectResponse("/console/", status_code=303)
    token = login_csrf(request)
    response = render(request, "login.html", {"login_csrf": token, "username": ""}, lang=lang)
    set_login_csrf(response, token)
    return response


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[Text, Form(max_length=64)],
    password: Field200,
    code: Annotated[Text, Form(max_length=16)],
    csrf: Annotated[Text, Form(max_length=100)] = "",
) -> Response:
    check_login_csrf(request, csrf)
    runtime = request.app.state.runtime
    limit = FailedAuthLimit.console_login(runtime.limiter.store, runtime.settings)
    name = username.strip().lower()
    counted = await limit.begin(name, _address(request))  # RateLimited: a 429 page
    try:
        async with unchained_write(runtime.db) as session:
            signed = await authenticate(
                session, username=name, password=password, code=code, now=utcnow()
            )
    except LoginFailed:
        _ = gettext_for(request, None)
        token = login_csrf(request)
        context = {
            "login_csrf": token,
            "username": name,
            "error": _("Wrong username, password or code."),
        }
        page = render(request, "login.html", context, status_code=401)
        set_login_csrf(page, token)
        return page
    if counted:
        await limit.succeeded(name, _address(request))
    response = RedirectResponse("/console/", status_code=303)
    await start_session(runtime.db, signed.user.id, response)
    return response


@router.post("/logout")
async def logout(
    request: Request, staff: SignedIn, csrf: Annotated[Text, Form(max_length=100)] = ""
) -> Response:
    check_csrf(staff, csrf)
    response = RedirectResponse("/console/login", status_code=303)
    await end_session(request.app.state.runtime.db, request, response)
    return response


async def _enrol_page(
    request: Request, token: str, *, lang: str | None = None, error: str | None = None
) -> Response:
    runtime = request.app.state.runtime
    async with runtime.db.read_session() as session:
        user = await pending_enrolment(session, token, utcnow())
    csrf = login_csrf(request)
    context = {
        "token": token,
        "username": user.username,
        "secret": user.totp_secret,
        "qr_svg": credentials.totp_qr_svg(user.totp_secret, user.username),
        "login_csrf": csrf,
        "error": error,
    }
    status = 200 if error is None else 422
    response = render(request, "enrol.html", context, lang=lang, status_code=status)
    set_login_csrf(response, csrf)
    return response


@router.get("/enrol/{token}")
async def enrol_page(request: Request, token: Token, lang: Lang = None) -> Response:
    return await _enrol_page(request, token, lang=lang)


@router.post("/enrol/{token}")
async def enrol(
    request: Request,
    token: Token,
    password: Field200,
    code: Annotated[Text, Form(max_length=16)],
    csrf: Annotated[Text, Form(max_length=100)] = "",
) -> Response:
    check_login_csrf(request, csrf)
    runtime = request.app.state.runtime
    async with runtime.db.read_session() as session:
        user = await pending_enrolment(session, token, utcnow())
        org = await get_organisation_by_id(session, user.organisation_id)
    # The event of the enrolment names the user who enrolled.
    actor = user_actor(user, org, request_id_var.get())
    try:
        async with unit_of_work(runtime.db, actor) as uow:
            await enrol_user(uow, token=token, password=password, code=code)
    except EnrolmentInvalid as exc:
        return await _enrol_page(request, token, error=exc.detail)
    _ = gettext_for(request, None)
    context = {
        "heading": _("Your account is ready"),
        "text": _("Sign in with your username, password and a new authenticator code."),
        "link": "/console/login",
        "link_text": _("Sign in"),
    }
    return render(request, "message.html", context)
