"""Console dispute pages: the resolvers' queue by deadline, an institution's own disputes,
opening a dispute for a customer, and a dispute's decision.

Each page calls the service the /v1/disputes endpoints call, with the signed-in user as the
actor, so who may open, see and decide a dispute is the rule of ``app.disputes.policy``. The
open form carries an idempotency key (a double submit opens one dispute) and the decision
form the version it was read at as If-Match (a stale page is refused).
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
from app.console.pages import Lang, first_error, gettext_for, render
from app.console.routing import ConsoleRoute
from app.console.session import Staff, check_csrf
from app.db.session import writing
from app.db.unit_of_work import UnitOfWork
from app.disputes.policy import holds_the_account
from app.disputes.repository import DisputeRepository, DisputeRow
from app.disputes.schemas import DisputeCreate, DisputeRead, DisputeResolve, DisputeStatus
from app.disputes.service import (
    DisputeAlreadyOpen,
    DisputeClosed,
    NothingToDispute,
    NotOwnInstitution,
    dispute_read,
    get_dispute,
    open_dispute,
    resolve_dispute,
)
from app.errors import AppError, IdempotencyKeyReused, StaleVersion
from app.flags.schemas import FlagRead
from app.flags.service import get_flag
from app.idempotency.service import idempotent_create
from app.pagination import decode_time_cursor, encode_cursor, next_time_cursor
from app.preconditions import etag
from app.subjects.risk import ACTIVE_STATUSES
from app.subjects.schemas import SubjectIn
from app.text import Text

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)

DisputeId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]
FlagRef = Annotated[str | None, Query(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]
Cursor = Annotated[str | None, Query(max_length=200)]
PAGE = 50


def may_open_for(staff: Staff, flag: FlagRead) -> bool:
    """Whether the flag page offers "open a dispute": an active flag on a subject the
    user's institution holds (the service decides again when the form is sent)."""
    subject = flag.subject
    return (
        staff.may(Scope.DISPUTES_WRITE)
        and flag.status in ACTIVE_STATUSES
        and holds_the_account(staff.actor, subject.kind, subject.institution)
    )


def _need_reader(staff: Staff) -> None:
    """The dispute pages' scopes, as the API's: the opener, resolvers, history readers."""
    if not any(staff.may(s) for s in (Scope.DISPUTES_WRITE, Scope.DISPUTES_RESOLVE)):
        need(staff, Scope.HISTORY_READ)


@router.get("/disputes")
async def disputes_page(
    request: Request,
    staff: SignedIn,
    status: Annotated[DisputeStatus | None, Query()] = None,
    cursor: Cursor = None,
    lang: Lang = None,
) -> Response:
    """Resolvers: the open disputes, overdue first then by deadline. Openers: their own
    organisation's disputes and their state, oldest first."""
    if not staff.may(Scope.DISPUTES_RESOLVE):
        need(staff, Scope.DISPUTES_WRITE)
    queue = staff.may(Scope.DISPUTES_RESOLVE)
    async with request.app.state.runtime.db.read_session() as session:
        repo = DisputeRepository(session)
        if queue:
            rows, next_cursor = await _by_deadline(repo, cursor)
        else:
            rows = await repo.page(
                org_id=staff.actor.org_id,
                status=status,
                overdue_at=None,
                key=None,
                after=decode_time_cursor(cursor),
                limit=PAGE + 1,
            )
            next_cursor = next_time_cursor(rows, PAGE)
    _ = gettext_for(request, lang)
    query = {"status": status} if status and not queue else {}
    context = {
        "staff": staff,
        "queue": queue,
        "heading": _("Dispute queue") if queue else _("Our disputes"),
        "disputes": [dispute_read(*row) for row in rows[:PAGE]],
        "status": status,
        "statuses": get_args(DisputeStatus),
        "next_cursor": next_cursor,
        "next_query": urlencode({**query, "cursor": next_cursor or ""}),
    }
    return render(request, "disputes.html", context, lang=lang)


async def _by_deadline(
    repo: DisputeRepository, cursor: str | None
) -> tuple[list[DisputeRow], str | None]:
    """A page of open disputes by deadline, and the (due_at, id) cursor of the next."""
    rows = await repo.open_by_deadline(after=decode_time_cursor(cursor), limit=PAGE + 1)
    if len(rows) <= PAGE:
        return rows, None
    last = rows[PAGE - 1][0]
    return rows, encode_cursor([last.due_at.isoformat(), last.id])


@router.get("/disputes/new")
async def new_dispute_page(
    request: Request, staff: SignedIn, flag: FlagRef = None, lang: Lang = None
) -> Response:
    """The open form; from a flag page (``?flag=``) it names that flag and its subject."""
    need(staff, Scope.DISPUTES_WRITE)
    form: dict[str, str] = {}
    if flag is not None:
        async with request.app.state.runtime.db.read_session() as session:
            row = await get_flag(session, staff.actor, flag)  # 404 unless the user may see it
        subject = row[1]
        form = {
            "kind": subject.kind,
            "institution": subject.institution or "",
            "identifier": subject.identifier,
            "flag_id": flag,
        }
    return _new_dispute(request, staff, form, None, lang)


def _new_dispute(
    request: Request,
    staff: Staff,
    form: dict[str, str],
    error: str | None,
    lang: str | None,
    status_code: int = 200,
    open_id: str | None = None,
) -> Response:
    context = {
        "staff": staff,
        "form": form,
        "error": error,
        "open_id": open_id,
        "idempotency_key": form.get("idempotency_key") or str(uuid.uuid4()),
    }
    return render(request, "dispute_new.html", context, lang=lang, status_code=status_code)


def _open_error(request: Request, exc: AppError) -> str:
    """What the officer reads when the service refuses the dispute."""
    _ = gettext_for(request, None)
    if isinstance(exc, NotOwnInstitution):
        return str(
            _(
                "This subject is not held at your institution: only the bank, e-wallet or "
                "telecom that holds it can open a dispute for it."
            )
        )
    if isinstance(exc, NothingToDispute):
        return str(_("This subject has no active flag to dispute."))
    if isinstance(exc, DisputeAlreadyOpen):
        return str(_("This subject already has an open dispute."))
    if isinstance(exc, IdempotencyKeyReused):
        return str(_("This form was already sent with other values; reload the page."))
    return exc.detail


@router.post("/disputes/new")
async def open_dispute_form(
    request: Request,
    staff: SignedIn,
    kind: Annotated[Text, Form(max_length=20)],
    identifier: Annotated[Text, Form(max_length=64)],
    reason: Annotated[Text, Form(max_length=2000)],
    idempotency_key: Annotated[Text, Form(min_length=1, max_length=200)],
    institution: Annotated[Text, Form(max_length=32)] = "",
    flag_id: Annotated[Text, Form(max_length=36)] = "",
    csrf: Annotated[Text, Form(max_length=100)] = "",
) -> Response:
    """Open a dispute for the institution's customer, as POST /v1/disputes does (the hidden
    idempotency key makes a second submit of the same form answer the first dispute)."""
    need(staff, Scope.DISPUTES_WRITE)
    check_csrf(staff, csrf)
    form = {
        "kind": kind,
        "institution": institution,
        "identifier": identifier,
        "reason": reason,
        "flag_id": flag_id,
        "idempotency_key": idempotency_key,
    }
    dispute_days = request.app.state.runtime.settings.dispute_days

    async def create(uow: UnitOfWork) -> tuple[DisputeRead, int, str]:
        row = await open_dispute(uow, body, dispute_days=dispute_days)
        return dispute_read(*row), row[0].version, f"/v1/disputes/{row[0].id}"

    try:
        body = DisputeCreate(
            subject=SubjectIn(kind=kind, institution=institution or None, identifier=identifier),
            reason=reason,
            flag_id=flag_id or None,
        )
        answer = await idempotent_create(request, staff.actor, body, create, key=idempotency_key)
    except ValidationError as exc:
        return _new_dispute(request, staff, form, first_error(exc), None, 422)
    except AppError as exc:
        if exc.status >= 500:
            raise
        open_id = exc.extra.get("dispute_id")
        error = _open_error(request, exc)
        return _new_dispute(request, staff, form, error, None, exc.status, open_id)
    dispute_id = json.loads(bytes(answer.body))["id"]
    return RedirectResponse(f"/console/disputes/{dispute_id}", status_code=303)


@router.get("/disputes/{dispute_id}")
async def dispute_page(
    request: Request, staff: SignedIn, dispute_id: DisputeId, lang: Lang = None
) -> Response:
    """One dispute, with the decision form for resolvers while it is open."""
    _need_reader(staff)
    return await _dispute(request, staff, dispute_id, None, lang)


async def _dispute(
    request: Request,
    staff: Staff,
    dispute_id: str,
    error: str | None,
    lang: str | None,
    status_code: int = 200,
) -> Response:
    async with request.app.state.runtime.db.read_session() as session:
        row = await get_dispute(session, staff.actor, dispute_id)  # 404 unless it may see it
    dispute = dispute_read(*row)
    context: dict[str, Any] = {
        "staff": staff,
        "dispute": dispute,
        "can_decide": staff.may(Scope.DISPUTES_RESOLVE) and dispute.status == "open",
        "error": error,
    }
    return render(request, "dispute.html", context, lang=lang, status_code=status_code)


@router.post("/disputes/{dispute_id}/decide")
async def decide_dispute_form(
    request: Request,
    staff: SignedIn,
    dispute_id: DisputeId,
    outcome: Annotated[Literal["upheld", "rejected"], Form()],
    version: Annotated[int, Form(ge=1, le=2**31)],
    note: Annotated[Text, Form(max_length=2000)] = "",
    csrf: Annotated[Text, Form(max_length=100)] = "",
) -> Response:
    """Uphold or reject under the version the page was read at, as the API's resolve does;
    a page read before someone else's change is refused and shown again as it is now."""
    need(staff, Scope.DISPUTES_RESOLVE)
    check_csrf(staff, csrf)
    body = DisputeResolve(outcome=outcome, note=note)
    try:
        async with writing(request, staff.actor) as uow:
            await resolve_dispute(uow, dispute_id, body, etag(version))
    except (StaleVersion, DisputeClosed) as exc:
        _ = gettext_for(request, None)
        error = _(
            "This dispute has changed since you read it (perhaps someone else decided it); "
            "here it is as it is now."
        )
        return await _dispute(request, staff, dispute_id, str(error), None, exc.status)
    return RedirectResponse(f"/console/disputes/{dispute_id}", status_code=303)
