"""Console work pages: flags, a flag's decision, reporting, search.

Each calls the service the API endpoint calls, with the signed-in user as the actor, so
every rule (who sees which flag, who may confirm, one active flag per organisation, the
ETag check) is the same rule; the form carries the version it was read at as If-Match.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.auth.scopes import Scope
from app.console.auth import SignedIn, need
from app.console.disputes import may_open_for
from app.console.pages import Lang, first_error, gettext_for, locale_of, render
from app.console.routing import ConsoleRoute
from app.console.session import Staff, check_csrf
from app.console.statuses import categories
from app.db.session import writing
from app.db.unit_of_work import UnitOfWork
from app.errors import AppError
from app.flags.policy import FlagAction, sees_every_flag
from app.flags.repository import FlagRepository
from app.flags.schemas import FlagCreate, FlagRead, FlagStatus
from app.flags.service import create_flag, flag_read, get_flag, transition_flag
from app.idempotency.service import idempotent_create
from app.pagination import decode_time_cursor, next_time_cursor
from app.preconditions import etag
from app.subjects.repository import SubjectEventRepository
from app.subjects.schemas import SubjectIn
from app.text import Text

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)

FlagId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]
Category = Annotated[str | None, Query(max_length=64)]
Cursor = Annotated[str | None, Query(max_length=200)]
PAGE = 50


@router.get("/")
async def home(request: Request, staff: SignedIn, lang: Lang = None) -> Response:
    reported = 0
    if staff.may(Scope.FLAGS_REVIEW):
        async with request.app.state.runtime.db.read_session() as session:
            reported = await FlagRepository(session).count(status=FlagStatus.REPORTED)
    return render(request, "home.html", {"staff": staff, "reported": reported}, lang=lang)


async def list_flags(
    request: Request,
    staff: Staff,
    *,
    status: str | None,
    category: str | None,
    cursor: str | None,
    lang: str | None,
    heading: str,
    show_status: bool,
    filters: Mapping[str, Any] | None = None,
    kept: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    """A page of flags oldest first; ``filters`` narrow the query (repository arguments),
    ``kept`` are the filters as the address carries them (kept in the next-page link)."""
    after = decode_time_cursor(cursor)
    org_id = None if sees_every_flag(staff.actor) and not show_status else staff.actor.org_id
    async with request.app.state.runtime.db.read_session() as session:
        rows = await FlagRepository(session).page(
            org_id=org_id,
            status=status,
            category=category or None,
            key=None,
            after=after,
            limit=PAGE + 1,
            **(filters or {}),
        )
    next_cursor = next_time_cursor(rows, PAGE)
    # The queue's status is its own, not a parameter: only the flags page's link carries it.
    listed = {"status": status if show_status else None, "category": category, **(kept or {})}
    query = {k: v for k, v in listed.items() if v}
    context = {
        "staff": staff,
        "heading": heading,
        "flags": [flag_read(*row) for row in rows[:PAGE]],
        "categories": categories(locale_of(request, lang)),
        "category": category,
        "status": status,
        "statuses": [s.value for s in FlagStatus],
        "show_status": show_status,
        "next_cursor": next_cursor,
        "next_query": urlencode({**query, "cursor": next_cursor or ""}),
        **(extra or {}),
    }
    return render(request, "flags.html", context, lang=lang)


@router.get("/flags")
async def own_flags(
    request: Request,
    staff: SignedIn,
    status: Annotated[FlagStatus | None, Query()] = None,
    category: Category = None,
    cursor: Cursor = None,
    lang: Lang = None,
) -> Response:
    """The flags of the user's own organisation and their state."""
    need(staff, Scope.FLAGS_WRITE)
    _ = gettext_for(request, lang)
    return await list_flags(
        request,
        staff,
        status=status,
        category=category,
        cursor=cursor,
        lang=lang,
        heading=_("Our flags"),
        show_status=True,
    )


@router.get("/flags/new")
async def new_flag_page(request: Request, staff: SignedIn, lang: Lang = None) -> Response:
    need(staff, Scope.FLAGS_WRITE)
    return _new_flag(request, staff, {}, None, lang)


def _new_flag(
    request: Request, staff: Staff, form: dict[str, str], error: str | None, lang: str | None
) -> Response:
    context = {
        "staff": staff,
        "form": form,
        "error": error,
        "categories": categories(locale_of(request, lang)),
        "idempotency_key": form.get("idempotency_key") or str(uuid.uuid4()),
    }
    return render(request, "flag_new.html", context, lang=lang, status_code=422 if error else 200)


@router.post("/flags/new")
async def report_flag(
    request: Request,
    staff: SignedIn,
    kind: Annotated[Text, Form(max_length=20)],
    identifier: Annotated[Text, Form(max_length=64)],
    category: Annotated[Text, Form(max_length=64)],
    institution: Annotated[Text, Form(max_length=32)] = "",
    amount: Annotated[Text, Form(max_length=20)] = "",
    description: Annotated[Text, Form(max_length=2000)] = "",
    idempotency_key: Annotated[Text, Form(max_length=200)] = "",
    csrf: Annotated[Text, Form(max_length=100)] = "",
) -> Response:
    """Report (flag) an account, e-wallet or phone number, as POST /v1/flags does; the
    form's hidden idempotency key makes a double submit land on the same flag."""
    need(staff, Scope.FLAGS_WRITE)
    check_csrf(staff, csrf)
    form = {
        "institution": institution,
        "identifier": identifier,
        "amount": amount,
        "description": description,
        "idempotency_key": idempotency_key,
    }
    try:
        body = FlagCreate(
            subject=SubjectIn(kind=kind, institution=institution or None, identifier=identifier),
            category=category,
            description=description,
            amount_lost_vnd=int(amount.replace(".", "").replace(",", "")) if amount else None,
        )
        ttl_days = request.app.state.runtime.settings.flag_ttl_days

        async def create(uow: UnitOfWork) -> tuple[FlagRead, int, str]:
            row = await create_flag(uow, body, ttl_days=ttl_days)
            return flag_read(*row), row[0].version, f"/console/flags/{row[0].id}"

        answer = await idempotent_create(
            request, staff.actor, body, create, key=idempotency_key or None
        )
    except (ValidationError, ValueError) as exc:
        return _new_flag(request, staff, form, _first_error(exc), None)
    except AppError as exc:
        if exc.status >= 500:
            raise
        return _new_flag(request, staff, form, exc.detail, None)
    flag_id = json.loads(bytes(answer.body))["id"]
    return RedirectResponse(f"/console/flags/{flag_id}", status_code=303)


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return first_error(exc)
    return "the amount must be a whole number of đồng"


@router.get("/flags/{flag_id}")
async def flag_page(
    request: Request, staff: SignedIn, flag_id: FlagId, lang: Lang = None
) -> Response:
    """One flag, its decision form for reviewers, and its subject's history."""
    async with request.app.state.runtime.db.read_session() as session:
        row = await get_flag(session, staff.actor, flag_id)  # 404 unless the user may see it
        timeline = None
        if staff.may(Scope.HISTORY_READ) or staff.may(Scope.FLAGS_REVIEW):
            timeline = await SubjectEventRepository(session).history(row[1].key, 0, 500)
    return _flag(request, staff, flag_read(*row), timeline, None, lang)


def _flag(
    request: Request,
    staff: Staff,
    flag: FlagRead,
    timeline: object,
    error: str | None,
    lang: str | None,
    status_code: int = 200,
) -> Response:
    can_decide = staff.may(Scope.FLAGS_REVIEW) and flag.status in (
        FlagStatus.REPORTED,
        FlagStatus.CONFIRMED,
    )
    context = {
        "staff": staff,
        "flag": flag,
        "timeline": timeline,
        "can_decide": can_decide,
        "can_dispute": may_open_for(staff, flag),
        "error": error,
    }
    return render(request, "flag.html", context, lang=lang, status_code=status_code)


@router.post("/flags/{flag_id}/decide")
async def decide_flag(
    request: Request,
    staff: SignedIn,
    flag_id: FlagId,
    decision: Annotated[FlagAction, Form()],
    version: Annotated[int, Form(ge=1, le=2**31)],
    reason: Annotated[Text, Form(max_length=2000)] = "",
    csrf: Annotated[Text, Form(max_length=100)] = "",
) -> Response:
    """Confirm or reject, under the version the page was read at (a stale page is refused)."""
    need(staff, Scope.FLAGS_REVIEW)
    check_csrf(staff, csrf)
    if decision not in (FlagAction.CONFIRM, FlagAction.REJECT):
        raise AppError("only confirm or reject")
    async with writing(request, staff.actor) as uow:
        await transition_flag(uow, flag_id, decision, etag(version), reason=reason or None)
    return RedirectResponse(f"/console/flags/{flag_id}", status_code=303)
