"""The auditors' console: change events filtered by who, what and when, with CSV export;
chain and state verification on demand; a signed checkpoint to download."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from app.audit.checkpoint import CheckpointError, make_checkpoint
from app.audit.repository import filtered_events
from app.audit.verify import verify_chain
from app.audit.vocabulary import Action, EntityType
from app.auth.scopes import Scope
from app.console.auth import SignedIn, need, submitting
from app.console.i18n import VIETNAM
from app.console.pages import Lang, render
from app.console.routing import ConsoleRoute
from app.console.session import Staff
from app.errors import ServiceUnavailable

AuditorForm = Annotated[Staff, Depends(submitting(Scope.AUDIT_READ))]
router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
PAGE = 100
CSV_LIMIT = 10_000

Org = Annotated[str, Query(max_length=32)]
Entity = Annotated[EntityType | None, Query()]
Act = Annotated[Action | None, Query()]
Day = Annotated[date | None, Query()]
After = Annotated[int, Query(ge=0, le=2**62)]


def _day_start(day: date | None) -> datetime | None:
    """Midnight of ``day`` in Vietnam: auditors think in Vietnamese dates."""
    return None if day is None else datetime.combine(day, time(), tzinfo=VIETNAM)


async def _events(
    request: Request,
    after: int,
    limit: int,
    actor: str,
    entity: EntityType | None,
    action: Action | None,
    since: date | None,
    until: date | None,
) -> list[object]:
    end = _day_start(until + timedelta(days=1)) if until is not None else None
    async with request.app.state.runtime.db.read_session() as session:
        rows = await filtered_events(
            session,
            after=after,
            limit=limit,
            actor_org=actor.strip() or None,
            entity_type=entity,
            action=action,
            since=_day_start(since),
            until=end,
        )
    return list(rows)


def _filters(
    actor: str,
    entity: EntityType | None,
    action: Action | None,
    since: date | None,
    until: date | None,
) -> dict[str, str]:
    values = {
        "actor": actor,
        "entity": entity or "",
        "action": action or "",
        "since": since.isoformat() if since else "",
        "until": until.isoformat() if until else "",
    }
    return {k: v for k, v in values.items() if v}


def _page(
    request: Request,
    staff: Staff,
    events: list[object],
    filters: dict[str, str],
    verify: object,
    lang: str | None,
) -> Response:
    last = getattr(events[-1], "seq", 0) if len(events) == PAGE else None
    context = {
        "staff": staff,
        "events": events,
        "filters": filters,
        "entity_types": [e.value for e in EntityType],
        "actions": [a.value for a in Action],
        "query": urlencode(filters),
        "next_after": last,
        "next_query": urlencode({**filters, "after": last or 0}),
        "verify": verify,
    }
    return render(request, "audit.html", context, lang=lang)


@router.get("/audit")
async def audit_page(
    request: Request,
    staff: SignedIn,
    actor: Org = "",
    entity: Entity = None,
    action: Act = None,
    since: Day = None,
    until: Day = None,
    after: After = 0,
    lang: Lang = None,
) -> Response:
    need(staff, Scope.AUDIT_READ)
    events = await _events(request, after, PAGE, actor, entity, action, since, until)
    return _page(request, staff, events, _filters(actor, entity, action, since, until), None, lang)


@router.get("/audit/events.csv")
async def audit_csv(
    request: Request,
    staff: SignedIn,
    actor: Org = "",
    entity: Entity = None,
    action: Act = None,
    since: Day = None,
    until: Day = None,
    after: After = 0,
) -> Response:
    """What the page shows, as CSV (at most 10,000 events from ``after``)."""
    need(staff, Scope.AUDIT_READ)
    events = await _events(request, after, CSV_LIMIT, actor, entity, action, since, until)
    out = io.StringIO()
    writer = csv.writer(out)
    columns = [
        "seq",
        "occurred_at",
        "entity_type",
        "entity_id",
        "entity_version",
        "action",
        "actor_org",
        "actor_client",
        "request_id",
        "subject_key",
        "state",
        "prev_hash",
        "hash",
    ]
    writer.writerow(columns)
    for e in events:
        row = [getattr(e, c) for c in columns]
        row[columns.index("state")] = json.dumps(row[columns.index("state")], ensure_ascii=False)
        # A cell starting with = + - @ is a formula to a spreadsheet: quote it as text.
        writer.writerow([f"'{v}" if isinstance(v, str) and v[:1] in "=+-@" else v for v in row])
    headers = {"Content-Disposition": 'attachment; filename="audit-events.csv"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


@router.post("/audit/verify")
async def audit_verify(request: Request, staff: AuditorForm) -> Response:
    """Recompute the whole chain and check every state table against it, now."""
    async with request.app.state.runtime.db.read_session() as session:
        result = await verify_chain(session)
    events = await _events(request, 0, PAGE, "", None, None, None, None)
    return _page(request, staff, events, {}, result, None)


@router.post("/audit/checkpoint")
async def audit_checkpoint(request: Request, staff: AuditorForm) -> Response:
    """Verify the chain and download its head signed (verify it with the public keys)."""
    key_file = request.app.state.runtime.settings.checkpoint_key_file
    try:
        async with request.app.state.runtime.db.read_session() as session:
            signed = await make_checkpoint(session, key_file)
    except (CheckpointError, RuntimeError) as exc:
        raise ServiceUnavailable(str(exc), retry_after=60) from None
    name = f"checkpoint-{signed.head_seq}.json"
    return Response(
        json.dumps(signed.document(), indent=2) + "\n",
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
