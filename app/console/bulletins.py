"""Police bulletins about new scam methods (``flags:review``): published at once on the
portal (``/canh-bao``) and in its Atom feed (``/feeds/canh-bao.xml``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.auth.scopes import Scope
from app.console.auth import SignedIn, need, submitting
from app.console.pages import Lang, locale_of, render
from app.console.routing import ConsoleRoute
from app.console.session import Staff
from app.console.statuses import categories
from app.db.session import writing
from app.errors import AppError
from app.portal.repository import BulletinRepository
from app.portal.service import publish_bulletin
from app.text import Text

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)

Publisher = Annotated[Staff, Depends(submitting(Scope.FLAGS_REVIEW))]


async def _page(
    request: Request,
    staff: Staff,
    form: dict[str, str],
    error: str | None,
    lang: str | None = None,
) -> Response:
    async with request.app.state.runtime.db.read_session() as session:
        rows = await BulletinRepository(session).latest(50)
    context = {
        "staff": staff,
        "bulletins": rows,
        "form": form,
        "error": error,
        "categories": categories(locale_of(request, lang)),
        "messages": [],
    }
    status = 422 if error else 200
    return render(request, "bulletins.html", context, lang=lang, status_code=status)


@router.get("/bulletins")
async def bulletins(request: Request, staff: SignedIn, lang: Lang = None) -> Response:
    """The bulletins published, and the form to publish one."""
    need(staff, Scope.FLAGS_REVIEW)
    return await _page(request, staff, {}, None, lang)


@router.post("/bulletins")
async def publish(
    request: Request,
    staff: Publisher,
    title: Annotated[Text, Form(max_length=200)],
    body: Annotated[Text, Form(max_length=4000)],
    category: Annotated[Text, Form(max_length=64)] = "",
) -> Response:
    """Publish a bulletin in the name of the user's organisation."""
    form = {"title": title, "body": body, "category": category}
    try:
        async with writing(request, staff.actor) as uow:
            await publish_bulletin(
                uow, staff.org, title=title, body=body, category=category or None
            )
    except AppError as exc:
        if exc.status >= 500:
            raise
        return await _page(request, staff, form, exc.detail)
    return RedirectResponse("/console/bulletins", status_code=303)
