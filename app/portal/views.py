"""The portal's check: the home page's forms, and the answer page.

A form post is answered with the answer page directly (no redirect: nothing the citizen
typed ever goes into a URL, a log line or the browser's history of addresses).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.console.pages import Lang
from app.errors import AppError
from app.identifiers.normalise import Subject as Identifier
from app.portal.advice import advice_lines, verdict
from app.portal.check import PublicAnswer, public_answer, subject_of_vietqr
from app.portal.language import gettext
from app.portal.listings import bank_choices, latest_bulletins, methods_now, wallet_choices
from app.portal.pages import PortalRoute, locale_of, render
from app.portal.policy import PublicAction, check_public_limit
from app.reference.catalogue import banks, ewallets, typologies
from app.subjects.schemas import SubjectIn
from app.subjects.service import identify
from app.text import Text

router = APIRouter(include_in_schema=False, route_class=PortalRoute)

KINDS = ("bank_account", "ewallet", "phone")


async def _home(request: Request, form: dict[str, str], error: str | None, status: int) -> Response:
    context = {
        "form": form,
        "error": error,
        "banks": bank_choices(),
        "wallets": wallet_choices(),
        "bulletins": await latest_bulletins(request, 3),
        "rising": [m for m in await methods_now(request) if m.recent][:3],
    }
    return render(request, "home.html", context, status_code=status)


@router.get("/")
async def home(request: Request, lang: Lang = None) -> Response:
    """Check before you pay: the forms, the newest bulletins and rising scam methods."""
    return await _home(request, {}, None, 200)


def subject_name(subject: Identifier, locale: str) -> str:
    """``0011002345678 · Vietcombank`` as a citizen reads it."""
    if subject.kind == "bank_account":
        bank = next((b for b in banks() if b.bin == subject.institution), None)
        return f"{subject.identifier} · {bank.short_name if bank else subject.institution}"
    if subject.kind == "ewallet":
        wallet = next((w for w in ewallets() if w.code == subject.institution), None)
        return f"{subject.identifier} · {wallet.name.split(' - ')[0] if wallet else ''}"
    return subject.identifier


def _answer(request: Request, subject: Identifier, answer: PublicAnswer) -> Response:
    locale = locale_of(request)
    headline, sentence = verdict(answer.level, locale)
    names = {t.code: (t.name_en if locale == "en" else t.name_vi) for t in typologies()}
    context = {
        "answer": answer,
        "subject": subject_name(subject, locale),
        "headline": headline,
        "sentence": sentence,
        "methods": [(code, names.get(code, code)) for code in answer.categories],
        "steps": advice_lines(answer.level, answer.categories, locale),
    }
    return render(request, "answer.html", context)


def _identified(kind: str, institution: str, identifier: str, payload: str) -> Any:
    if kind == "vietqr":
        return subject_of_vietqr(payload.strip(), ("body", "payload"))
    subject = SubjectIn(kind=kind, institution=institution or None, identifier=identifier)
    return identify(subject), None


@router.post("/kiem-tra")
async def check(
    request: Request,
    kind: Annotated[Text, Form(max_length=20)],
    institution: Annotated[Text, Form(max_length=32)] = "",
    identifier: Annotated[Text, Form(max_length=64)] = "",
    payload: Annotated[Text, Form(max_length=600)] = "",
) -> Response:
    """The answer about an account, e-wallet, phone number or pasted VietQR payload."""
    form = {"kind": kind, "institution": institution, "identifier": identifier}
    _ = gettext(locale_of(request))
    if kind not in (*KINDS, "vietqr"):
        return await _home(request, form, _("Choose what you want to check."), 422)
    await check_public_limit(request, PublicAction.CHECK)
    try:
        subject, amount = _identified(kind, institution, identifier, payload)
    except AppError as exc:
        if exc.status != 422:
            raise
        return await _home(request, form, _explain(kind, exc, _), 422)
    answer = await public_answer(request.app.state.runtime, subject.key, amount)
    return _answer(request, subject, answer)


def _explain(kind: str, exc: AppError, _: Callable[[str], str]) -> str:
    if kind == "vietqr":
        return _("This is not a valid VietQR code: %(reason)s") % {"reason": exc.detail}
    if kind == "phone":
        return _("This is not a Vietnamese mobile number.")
    if kind == "ewallet":
        return _("Choose the e-wallet and type the wallet number or phone number.")
    return _("Choose the bank and type the account number (6 to 19 digits or letters).")


@router.post("/kiem-tra/anh")
async def check_image(request: Request) -> Response:
    """The answer about the account a photo or screenshot of a VietQR code pays."""
    runtime = request.app.state.runtime
    reader = request.app.state.qr_reader
    _ = gettext(locale_of(request))
    async with request.form(max_files=1, max_fields=4, max_part_size=4096) as form:
        upload = form.get("image")
        data = (
            None
            if upload is None or isinstance(upload, str)
            else await upload.read(reader.max_bytes + 1)
        )
    if data is None:
        return await _home(request, {"kind": "image"}, _("Choose a photo of the QR code."), 422)
    await check_public_limit(request, PublicAction.CHECK)
    try:
        payload = await reader.read(data)
        subject, amount = subject_of_vietqr(payload, ("body", "image"))
    except AppError as exc:
        if exc.status != 422:
            raise
        text = _("The photo could not be used: %(reason)s") % {"reason": _(exc.detail)}
        return await _home(request, {"kind": "image"}, text, 422)
    return _answer(request, subject, await public_answer(runtime, subject.key, amount))
