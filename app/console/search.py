"""Console search: any identifier form, a subject key or a pasted VietQR payload, read as
``GET /v1/subjects/{key}`` reads it (``history:read``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.auth.scopes import Scope
from app.console.auth import SignedIn, need
from app.console.pages import Lang, render
from app.console.routing import ConsoleRoute
from app.errors import AppError
from app.identifiers.vietqr import InvalidVietQR, parse_vietqr
from app.subjects.repository import SubjectEventRepository
from app.subjects.schemas import SubjectIn
from app.subjects.service import SubjectNotFound, canonical_key, identify, subject_record

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)


def subject_key(q: str, institution: str | None) -> str:
    """The canonical key of what was typed; InvalidInput (a message to show) otherwise."""
    q = q.strip()
    if q.startswith("000201"):  # an EMVCo payload, as VietQR codes are
        try:
            qr = parse_vietqr(q)
        except InvalidVietQR as exc:
            raise AppError(f"VietQR: {exc.reason}") from None
        return identify(
            SubjectIn(kind="bank_account", institution=qr.bin, identifier=qr.account)
        ).key
    if q.count(":") >= 2:
        return canonical_key(q)
    if institution:
        kind = "bank_account"
        try:
            return identify(SubjectIn(kind=kind, institution=institution, identifier=q)).key
        except AppError:
            kind = "ewallet"
        return identify(SubjectIn(kind=kind, institution=institution, identifier=q)).key
    return identify(SubjectIn(kind="phone", identifier=q)).key


@router.get("/search")
async def search(
    request: Request,
    staff: SignedIn,
    q: Annotated[str, Query(max_length=600)] = "",
    institution: Annotated[str, Query(max_length=32)] = "",
    lang: Lang = None,
) -> Response:
    """A subject's record: its answer, categories, flags and dispute state."""
    need(staff, Scope.HISTORY_READ)
    context: dict[str, object] = {"staff": staff, "q": q, "institution": institution}
    if q.strip():
        try:
            key = subject_key(q, institution or None)
            async with request.app.state.runtime.db.read_session() as session:
                head = await SubjectEventRepository(session).head()
                context["record"] = await subject_record(session, key, head=head)
        except SubjectNotFound:
            context["record"] = None
        except AppError as exc:
            if exc.status >= 500:
                raise
            context["error"] = exc.detail
    return render(request, "search.html", context, lang=lang)
