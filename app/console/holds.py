"""Console holds (SPEC §10): requests sent and received with their deadlines, the police's
holds awaiting confirmation, a request form, and each hold's answer, confirm, release,
return and cancel.

Every change calls the hold service the API calls, with the user as the actor, under the
version the page was read at (If-Match): who may do what is ``app.holds.policy``'s rule,
so a bank that is not the holder, or a requester trying to confirm, gets the 404 the API
gives. The buttons a page shows follow the same policy functions (a convenience: the
service decides again).
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.auth.scopes import Scope
from app.console.auth import SignedIn, need
from app.console.i18n import AmountNotWhole, parse_amount
from app.console.pages import Lang, first_error, gettext_for, render
from app.console.routing import ConsoleRoute
from app.console.session import Staff, check_csrf
from app.db.session import writing
from app.db.unit_of_work import UnitOfWork
from app.errors import AppError, StaleVersion
from app.holds import policy
from app.holds.money import release_hold, return_hold
from app.holds.repository import HoldRepository, HoldRow
from app.holds.schemas import (
    HoldAmount,
    HoldConfirm,
    HoldCreate,
    HoldDeclined,
    HoldHeld,
    HoldRead,
    HoldRole,
    HoldStatus,
)
from app.holds.service import (
    HoldStateConflict,
    HoldTerms,
    cancel_hold,
    confirm_hold,
    get_hold,
    hold_read,
    request_hold,
    respond_hold,
)
from app.idempotency.service import idempotent_create
from app.pagination import decode_time_cursor, next_time_cursor
from app.preconditions import etag
from app.subjects.schemas import SubjectIn
from app.text import Text

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)

HoldId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]
Cursor = Annotated[str | None, Query(max_length=200)]
HOLD_SCOPES = (Scope.HOLDS_WRITE, Scope.HOLDS_RESPOND, Scope.HOLDS_CONFIRM, Scope.HISTORY_READ)
PAGE = 50
HoldChange = Literal[
    "held", "no_funds", "no_such_account", "confirm", "release", "return", "cancel"
]


def _need_holds(staff: Staff) -> None:
    """The hold pages' readers, as the API's (``HoldReader``)."""
    if not any(staff.may(s) for s in HOLD_SCOPES[:-1]):
        need(staff, Scope.HISTORY_READ)


@router.get("/holds")
async def holds_page(
    request: Request,
    staff: SignedIn,
    role: Annotated[HoldRole | None, Query()] = None,
    status: Annotated[HoldStatus | None, Query()] = None,
    cursor: Cursor = None,
    lang: Lang = None,
) -> Response:
    """Holds, oldest first, with their deadlines: sent (``role=requester``), received
    (``role=holder``), or every one the user may see; ``status=held`` is what police have
    to confirm before ``confirm_by``."""
    _need_holds(staff)
    async with request.app.state.runtime.db.read_session() as session:
        rows = await HoldRepository(session).page(
            requester_id=staff.actor.org_id,
            holder=policy.held_at(staff.actor),
            role=role,
            every=policy.sees_every_hold(staff.actor),
            status=status,
            after=decode_time_cursor(cursor),
            limit=PAGE + 1,
        )
    next_cursor = next_time_cursor(rows, PAGE)
    query = {k: v for k, v in {"role": role, "status": status}.items() if v}
    context = {
        "staff": staff,
        "holds": [hold_read(*row) for row in rows[:PAGE]],
        "role": role,
        "status": status,
        "statuses": get_args(HoldStatus),
        "next_cursor": next_cursor,
        "next_query": urlencode({**query, "cursor": next_cursor or ""}),
    }
    return render(request, "holds.html", context, lang=lang)


@router.get("/holds/new")
async def new_hold_page(request: Request, staff: SignedIn, lang: Lang = None) -> Response:
    need(staff, Scope.HOLDS_WRITE)
    return _new_hold(request, staff, {}, None, lang)


def _new_hold(
    request: Request,
    staff: Staff,
    form: dict[str, str],
    error: str | None,
    lang: str | None,
    status_code: int = 200,
) -> Response:
    context = {
        "staff": staff,
        "form": form,
        "error": error,
        "idempotency_key": form.get("idempotency_key") or str(uuid.uuid4()),
    }
    return render(request, "hold_new.html", context, lang=lang, status_code=status_code)


@router.post("/holds/new")
async def request_hold_form(
    request: Request,
    staff: SignedIn,
    kind: Annotated[Text, Form(max_length=20)],
    institution: Annotated[Text, Form(max_length=32)],
    identifier: Annotated[Text, Form(max_length=64)],
    amount: Annotated[Text, Form(max_length=30)],
    reason: Annotated[Text, Form(max_length=2000)],
    idempotency_key: Annotated[Text, Form(min_length=1, max_length=200)],
    case_reference: Annotated[Text, Form(max_length=64)] = "",
    transfer_reference: Annotated[Text, Form(max_length=64)] = "",
    csrf: Annotated[Text, Form(max_length=100)] = "",
) -> Response:
    """Ask the holding institution to hold money, as POST /v1/holds does; the hidden
    idempotency key makes a second submit of the same form answer the first hold."""
    need(staff, Scope.HOLDS_WRITE)
    check_csrf(staff, csrf)
    form = {
        "kind": kind,
        "institution": institution,
        "identifier": identifier,
        "amount": amount,
        "reason": reason,
        "case_reference": case_reference,
        "transfer_reference": transfer_reference,
        "idempotency_key": idempotency_key,
    }
    _ = gettext_for(request, None)
    terms = HoldTerms.of(request.app.state.runtime.settings)
    try:
        body = HoldCreate(
            subject=SubjectIn(kind=kind, institution=institution or None, identifier=identifier),
            amount_vnd=parse_amount(amount),
            reason=reason,
            case_reference=case_reference or None,
            transfer_reference=transfer_reference or None,
        )

        async def create(uow: UnitOfWork) -> tuple[HoldRead, int, str]:
            row = await request_hold(uow, body, terms)
            return hold_read(*row), row[0].version, f"/console/holds/{row[0].id}"

        answer = await idempotent_create(request, staff.actor, body, create, key=idempotency_key)
    except AmountNotWhole:
        message = _("The amount must be a whole number of đồng, such as 8.000.000.")
        return _new_hold(request, staff, form, str(message), None, 422)
    except ValidationError as exc:
        return _new_hold(request, staff, form, first_error(exc), None, 422)
    except AppError as exc:
        if exc.status >= 500:
            raise
        return _new_hold(request, staff, form, exc.detail, None, exc.status)
    hold_id = json.loads(bytes(answer.body))["id"]
    return RedirectResponse(f"/console/holds/{hold_id}", status_code=303)


@router.get("/holds/{hold_id}")
async def hold_page(
    request: Request, staff: SignedIn, hold_id: HoldId, lang: Lang = None
) -> Response:
    """One hold, its deadlines, and the changes this user may make to it now."""
    _need_holds(staff)
    return await _hold(request, staff, hold_id, None, lang)


def _may(staff: Staff, row: HoldRow) -> dict[str, bool]:
    """Which forms the page shows (the service decides again on submit)."""
    hold, subject, actor = row[0], row[1], staff.actor
    return {
        "respond": hold.status == "requested" and policy.may_respond(actor, subject),
        "confirm": hold.status == "held" and policy.may_confirm(actor),
        "release": hold.status in ("held", "lapsed", "confirmed")
        and policy.may_release(actor, subject),
        "return": hold.status == "confirmed" and policy.may_return(actor, subject),
        "cancel": hold.status == "requested" and policy.may_cancel(actor, hold),
    }


async def _hold(
    request: Request,
    staff: Staff,
    hold_id: str,
    error: str | None,
    lang: str | None,
    status_code: int = 200,
) -> Response:
    async with request.app.state.runtime.db.read_session() as session:
        row = await get_hold(session, staff.actor, hold_id)  # 404 unless the user may see it
    context: dict[str, Any] = {
        "staff": staff,
        "hold": hold_read(*row),
        "may": _may(staff, row),
        "error": error,
    }
    return render(request, "hold.html", context, lang=lang, status_code=status_code)


@router.post("/holds/{hold_id}/change")
async def change_hold_form(
    request: Request,
    staff: SignedIn,
    hold_id: HoldId,
    change: Annotated[HoldChange, Form()],
    version: Annotated[int, Form(ge=1, le=2**31)],
    amount: Annotated[Text, Form(max_length=30)] = "",
    case_reference: Annotated[Text, Form(max_length=64)] = "",
    csrf: Annotated[Text, Form(max_length=100)] = "",
) -> Response:
    """Answer, confirm, release, return or cancel under the version the page was read at,
    as the API's endpoints do; a page read before someone else's change is shown again as
    it is now."""
    _need_holds(staff)
    check_csrf(staff, csrf)
    _ = gettext_for(request, None)
    try:
        async with writing(request, staff.actor) as uow:
            await _change(uow, hold_id, change, amount, case_reference, etag(version))
    except AmountNotWhole:
        message = _("The amount must be a whole number of đồng, such as 8.000.000.")
        return await _hold(request, staff, hold_id, str(message), None, 422)
    except ValidationError as exc:
        return await _hold(request, staff, hold_id, first_error(exc), None, 422)
    except (StaleVersion, HoldStateConflict) as exc:
        message = _("This hold has changed since you read it; here it is as it is now.")
        return await _hold(request, staff, hold_id, f"{message} ({exc.detail})", None, exc.status)
    except AppError as exc:
        if exc.status >= 500 or exc.status == 404:
            raise
        return await _hold(request, staff, hold_id, exc.detail, None, exc.status)
    return RedirectResponse(f"/console/holds/{hold_id}", status_code=303)


async def _change(
    uow: UnitOfWork,
    hold_id: str,
    change: str,
    amount: str,
    case_reference: str,
    if_match: str,
) -> None:
    """The service call of one console change (each checks who may, as for the API)."""
    if change == "held":
        await respond_hold(
            uow, hold_id, HoldHeld(outcome="held", held_vnd=parse_amount(amount)), if_match
        )
    elif change in ("no_funds", "no_such_account"):
        await respond_hold(uow, hold_id, HoldDeclined(outcome=change), if_match)
    elif change == "confirm":
        await confirm_hold(uow, hold_id, HoldConfirm(case_reference=case_reference), if_match)
    elif change == "release":
        await release_hold(uow, hold_id, _positive(amount), if_match)
    elif change == "return":
        await return_hold(uow, hold_id, _positive(amount), if_match)
    else:
        await cancel_hold(uow, hold_id, if_match)


def _positive(amount: str) -> int:
    """An amount to release or return, bounded as the API's ``HoldAmount`` bounds it."""
    return HoldAmount(amount_vnd=parse_amount(amount)).amount_vnd
