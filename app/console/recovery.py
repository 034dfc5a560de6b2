"""Console recovery ledger (``recovery:write``): the entries of the accounts the user's
institution holds (police: every account), and the form that records a freeze, release
or return.

The list is ``app.recovery.service.ledger_page`` and the form calls ``record_entry``, the
service of ``POST /v1/recoveries``, with the signed-in user's actor: who may record for
which account, and that a case never pays out more than it holds, are the service's and
``app.recovery.policy``'s rules, shown here as the page's error. The form's hidden
idempotency key is kept like an ``Idempotency-Key`` header, so a form sent twice records
one entry.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.auth.scopes import Scope
from app.console.auth import SignedIn, need
from app.console.i18n import AmountNotWhole, parse_amount, vnd
from app.console.pages import Lang, gettext_for, locale_of, render
from app.console.routing import ConsoleRoute
from app.console.session import Staff, check_csrf
from app.db.session import writing
from app.db.unit_of_work import UnitOfWork
from app.errors import AppError
from app.flags.schemas import MAX_VND
from app.idempotency.service import remember, replay, request_fingerprint
from app.preconditions import etag
from app.recovery.schemas import RecoveryCreate
from app.recovery.service import ledger_page, record_entry
from app.text import Text

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)

PAGE = 50
Cursor = Annotated[str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_-]+={0,2}$")]
IdempotencyKey = Annotated[Text, Form(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get("/recovery")
async def ledger(
    request: Request,
    staff: SignedIn,
    cursor: Cursor = None,
    recorded: Annotated[str | None, Query(max_length=1, pattern=r"^1$")] = None,
    lang: Lang = None,
) -> Response:
    """The ledger's entries newest first, and the totals of their cases."""
    need(staff, Scope.RECOVERY_WRITE)
    _ = gettext_for(request, lang)
    messages = [_("The entry is recorded.")] if recorded else []
    return await _page(request, staff, {}, None, 200, lang=lang, cursor=cursor, messages=messages)


async def _page(
    request: Request,
    staff: Staff,
    form: dict[str, str],
    error: str | None,
    status_code: int,
    *,
    lang: str | None = None,
    cursor: str | None = None,
    messages: list[str] | None = None,
) -> Response:
    async with request.app.state.runtime.db.read_session() as session:
        page = await ledger_page(session, staff.actor, cursor, PAGE)
    context: dict[str, Any] = {
        "staff": staff,
        "page": page,
        "form": {"institution": staff.org.institution or "", **form},
        "error": error,
        "messages": messages or [],
        "idempotency_key": form.get("idempotency_key") or str(uuid.uuid4()),
    }
    return render(request, "recovery.html", context, lang=lang, status_code=status_code)


@router.post("/recovery")
async def record(
    request: Request,
    staff: SignedIn,
    kind: Annotated[Text, Form(max_length=20)],
    identifier: Annotated[Text, Form(max_length=64)],
    action: Annotated[Text, Form(max_length=16)],
    amount: Annotated[Text, Form(max_length=40)],
    idempotency_key: IdempotencyKey,
    institution: Annotated[Text, Form(max_length=32)] = "",
    case_reference: Annotated[Text, Form(max_length=100)] = "",
    note: Annotated[Text, Form(max_length=2000)] = "",
    csrf: Annotated[Text, Form(max_length=100)] = "",
) -> Response:
    """Record a freeze, release or return, as ``POST /v1/recoveries`` does."""
    need(staff, Scope.RECOVERY_WRITE)
    check_csrf(staff, csrf)
    form = {
        "kind": kind,
        "institution": institution,
        "identifier": identifier,
        "action": action,
        "amount": amount,
        "case_reference": case_reference,
        "note": note,
        "idempotency_key": idempotency_key,
    }
    _ = gettext_for(request, None)
    try:
        body = _entry(form)
        async with writing(request, staff.actor) as uow:
            await _record_once(uow, idempotency_key, body)
    except AmountNotWhole:
        message = _("The amount must be a whole number of đồng, such as 8.000.000.")
        return await _page(request, staff, form, message, 422)
    except ValidationError as exc:
        message = _invalid(exc, _, locale_of(request, None))
        return await _page(request, staff, form, message, 422)
    except AppError as exc:
        if exc.status >= 500:
            raise
        return await _page(request, staff, form, exc.detail, exc.status)
    return RedirectResponse("/console/recovery?recorded=1", status_code=303)


def _entry(form: dict[str, str]) -> RecoveryCreate:
    """The form as the body ``POST /v1/recoveries`` takes (ValidationError otherwise)."""
    subject = {
        "kind": form["kind"],
        "institution": form["institution"] or None,
        "identifier": form["identifier"],
    }
    return RecoveryCreate.model_validate(
        {
            "subject": subject,
            "action": form["action"],
            "amount_vnd": parse_amount(form["amount"]),
            "case_reference": form["case_reference"].strip() or None,
            "note": form["note"].strip() or None,
        }
    )


async def _record_once(uow: UnitOfWork, key: str, body: RecoveryCreate) -> None:
    """``record_entry`` once per key, kept as ``POST /v1/recoveries`` keeps it (the same
    key and body from the API answers the stored 201; another body is refused)."""
    org_id = uow.actor.org_id
    assert org_id is not None
    fingerprint = request_fingerprint(body.model_dump(mode="json"))
    if await replay(uow.session, org_id, key, fingerprint) is not None:
        return  # the same form, sent again: recorded the first time
    read = await record_entry(uow, body)
    await remember(uow.session, org_id, key, fingerprint, 201, read.model_dump_json(), etag(1))


def _invalid(exc: ValidationError, _: Any, locale: str) -> str:
    """The first refused field, named as the form names it."""
    labels = {
        "amount_vnd": _("Amount (VND)"),
        "action": _("Entry"),
        "case_reference": _("Case reference"),
        "note": _("Note"),
        "kind": _("Kind"),
        "institution": _("Bank or e-wallet"),
        "identifier": _("Account or wallet number"),
    }
    first = exc.errors()[0]
    field = next((labels[p] for p in reversed(first["loc"]) if p in labels), None)
    if field == labels["amount_vnd"]:
        bounds: str = _("The amount must be more than 0 đồng and at most %(most)s.")
        return bounds % {"most": vnd(MAX_VND, locale)}
    return f"{field or '.'.join(str(p) for p in first['loc'])}: {first['msg']}"
