"""``GET /v1/notifications`` (SPEC §11): the webhook messages as an inbox, for
organisations that cannot receive webhooks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.db.session import ReadSession
from app.errors import AUTH_ERRORS, AppError, InvalidInput, problem_responses
from app.pagination import Limit
from app.webhooks import repository
from app.webhooks.auth import InboxReader
from app.webhooks.events import EventType, webhook_id
from app.webhooks.outbox import holder_key
from app.webhooks.schemas import InboxMessage, InboxPage

router = APIRouter(tags=["webhooks"])


class InboxCursorAhead(AppError):
    status = 409
    type_slug = "inbox-cursor-ahead"
    title = "Cursor is ahead of the newest message"
    description = (
        "The after you sent is beyond the newest message id (last_id in the answer): the "
        "registry was restored from a backup, and messages you hold may no longer exist."
    )
    remedy = "Read the inbox again from 0 (or from an id at most last_id); never skip ahead."

    def __init__(self, after: int, last_id: int) -> None:
        super().__init__(f"after={after} is beyond the newest message {last_id}")
        self.extra = {"last_id": last_id}


@router.get(
    "/v1/notifications",
    response_model=InboxPage,
    responses=problem_responses(*AUTH_ERRORS, InvalidInput, InboxCursorAhead),
)
async def inbox(
    session: ReadSession,
    actor: InboxReader,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Limit = 100,
) -> InboxPage:
    """Your organisation's messages after `after`, oldest first, with any token of the
    organisation: `customer.listed`, `dispute.updated`, `hold.*` and pings, with the same
    `data` a webhook delivers. Keep `next_after` and ask again. `listing.changed` is not
    repeated here: read it from `GET /v1/changes` (the same entries). An `after` beyond
    `last_id` is 409 (the registry was restored from a backup): read again from 0."""
    assert actor.org_id is not None
    last = await repository.last_notification_id(session)
    if after > last:
        raise InboxCursorAhead(after, last)
    holder = holder_key(actor.org_kind, actor.institution)
    rows = await repository.inbox_page(session, actor.org_id, holder, after, limit)
    items = [
        InboxMessage(
            id=row.id,
            webhook_id=webhook_id(row.id),
            type=EventType(row.type),
            timestamp=row.created_at,
            data=row.data,
        )
        for row in rows
    ]
    return InboxPage(items=items, next_after=items[-1].id if items else after, last_id=last)
