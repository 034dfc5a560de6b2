"""Report a scam: the form, and the receipt with its reference number."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.console.pages import Lang
from app.errors import AppError
from app.portal.endpoints import file_citizen_report
from app.portal.language import gettext
from app.portal.listings import bank_choices, wallet_choices
from app.portal.pages import PortalRoute, locale_of, render
from app.portal.policy import PublicAction, check_public_limit
from app.portal.schemas import CitizenReportIn
from app.subjects.schemas import SubjectIn
from app.text import Text

router = APIRouter(include_in_schema=False, route_class=PortalRoute)


def _form_page(request: Request, form: dict[str, str], error: str | None) -> Response:
    context = {
        "form": form,
        "error": error,
        "banks": bank_choices(),
        "wallets": wallet_choices(),
        "today": date.today().isoformat(),
    }
    return render(request, "report.html", context, status_code=422 if error else 200)


@router.get("/bao-cao")
async def report_page(request: Request, lang: Lang = None) -> Response:
    """The form to report a scam to the police."""
    return _form_page(request, {}, None)


def _amount(text: str) -> int | None:
    digits = text.replace(".", "").replace(",", "").replace(" ", "").removesuffix("đ")
    if not digits:
        return None
    if not digits.isdigit() or len(digits) > 15:
        raise ValueError("amount")
    return int(digits)


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise ValueError("occurred_on") from None


def _body(form: dict[str, str]) -> CitizenReportIn:
    kind = form["kind"]
    institution = {"bank_account": form["bank"], "ewallet": form["wallet"]}.get(kind)
    return CitizenReportIn(
        subject=SubjectIn(
            kind=kind, institution=institution or None, identifier=form["identifier"]
        ),
        amount_vnd=_amount(form["amount"]),
        occurred_on=_date(form["occurred_on"]),
        description=form["description"],
        contact=form["contact"] or None,
    )


def _problem(exc: Exception, _: Callable[[str], str]) -> str:
    if isinstance(exc, ValidationError):
        field = str(exc.errors()[0]["loc"][0])
        messages = {
            "description": _("Tell us how it happened (at most 2,000 characters)."),
            "contact": _("The contact is too long (at most 200 characters)."),
            "occurred_on": _("The date is not valid."),
        }
        return messages.get(field, _("Check the account, e-wallet or phone number."))
    if isinstance(exc, AppError):
        return _("Check the account, e-wallet or phone number: %(reason)s") % {"reason": exc.detail}
    if str(exc) == "occurred_on":
        return _("The date is not valid.")
    return _("The amount must be a whole number of đồng.")


@router.post("/bao-cao")
async def report(
    request: Request,
    kind: Annotated[Text, Form(max_length=20)],
    identifier: Annotated[Text, Form(max_length=64)],
    description: Annotated[Text, Form(max_length=4000)],
    bank: Annotated[Text, Form(max_length=32)] = "",
    wallet: Annotated[Text, Form(max_length=32)] = "",
    amount: Annotated[Text, Form(max_length=30)] = "",
    occurred_on: Annotated[Text, Form(max_length=10)] = "",
    contact: Annotated[Text, Form(max_length=400)] = "",
) -> Response:
    """File the report into the police review queue; the receipt shows its reference."""
    form = {
        "kind": kind,
        "bank": bank,
        "wallet": wallet,
        "identifier": identifier,
        "amount": amount,
        "occurred_on": occurred_on,
        "description": description,
        "contact": contact,
    }
    _ = gettext(locale_of(request))
    try:
        body = _body(form)
    except (ValidationError, ValueError) as exc:
        return _form_page(request, form, _problem(exc, _))
    await check_public_limit(request, PublicAction.REPORT)
    try:
        reference = await file_citizen_report(request, body)
    except AppError as exc:
        if exc.status != 422:
            raise
        return _form_page(request, form, _problem(exc, _))
    return render(request, "report_done.html", {"reference": reference})
