from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request, Response

from app.db.session import ReadSession, resource_response, writing
from app.db.types import utcnow
from app.db.unit_of_work import UnitOfWork
from app.errors import (
    AUTH_ERRORS,
    IdempotencyKeyReused,
    InvalidInput,
    PreconditionRequired,
    StaleVersion,
    problem_responses,
)
from app.idempotency.service import CREATED_RESPONSE, idempotent_create
from app.pagination import Cursor, Limit, decode_cursor, encode_cursor
from app.preconditions import IfMatch, etag_response
from app.webhooks import policy, repository
from app.webhooks.auth import Manager
from app.webhooks.events import webhook_id
from app.webhooks.schemas import (
    DeliveryPage,
    DeliveryRead,
    PingSent,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookSecretRotated,
)
from app.webhooks.service import (
    SyncRequired,
    TooManyWebhooks,
    WebhookDisabled,
    WebhookNotFound,
    create_subscription,
    delete_subscription,
    get_subscription,
    rotate_secret,
    send_ping,
    webhook_read,
)
from app.webhooks.targets import AllowedHosts, TargetRefused, check_target

router = APIRouter(tags=["webhooks"])

WebhookId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]
CHANGE_ERRORS = problem_responses(*AUTH_ERRORS, WebhookNotFound, PreconditionRequired, StaleVersion)


async def _checked_url(request: Request, url: str) -> None:
    """The SSRF check (app.webhooks.targets), made before the write lock is taken: it
    resolves the host name."""
    allowed = AllowedHosts.parse(request.app.state.runtime.settings.webhook_allowed_hosts)
    try:
        await check_target(url, allowed)
    except TargetRefused as exc:
        error = {"loc": ["body", "url"], "msg": exc.reason, "type": "value_error"}
        raise InvalidInput(exc.reason, errors=[error]) from None


def _without_secret(created: Any) -> Any:
    return created.model_copy(update={"secret": None})


@router.post(
    "/v1/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    responses={
        **CREATED_RESPONSE,
        **problem_responses(
            *AUTH_ERRORS, InvalidInput, SyncRequired, TooManyWebhooks, IdempotencyKeyReused
        ),
    },
)
async def create_webhook(
    request: Request,
    body: WebhookCreate,
    actor: Manager,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Any:
    """Subscribe a URL to `events`; the answer's `secret` (`whsec_...`) is shown once.

    Messages follow Standard Webhooks 1.0 (`webhook-id`, `webhook-timestamp`,
    `webhook-signature` headers; body `{"type", "timestamp", "data"}`), at least once, in
    order, retried with backoff for 24 h. The URL must be `https` to a public address
    (422 saying why otherwise); `listing.changed` needs a token carrying `sync` (403).
    A new webhook receives the messages written from now on."""
    if not policy.may_subscribe(actor, body.events):
        raise SyncRequired("listing.changed needs a token carrying sync")
    await _checked_url(request, body.url)

    async def create(uow: UnitOfWork) -> tuple[WebhookCreated, int, str]:
        subscription, secret = await create_subscription(uow, body)
        read = webhook_read(subscription, uow.now)
        created = WebhookCreated(**read.model_dump(), secret=secret)
        return created, subscription.version, f"/v1/webhooks/{subscription.id}"

    return await idempotent_create(request, actor, body, create, stored=_without_secret)


@router.get("/v1/webhooks", response_model=WebhookList, responses=problem_responses(*AUTH_ERRORS))
async def list_webhooks(session: ReadSession, actor: Manager) -> WebhookList:
    """Your organisation's webhooks (never their secrets), oldest first."""
    assert actor.org_id is not None
    now = utcnow()
    subscriptions = await repository.subscriptions_of(session, actor.org_id)
    return WebhookList(items=[webhook_read(s, now) for s in subscriptions])


@router.delete("/v1/webhooks/{hook_id}", status_code=204, responses=CHANGE_ERRORS)
async def delete_webhook(
    request: Request, hook_id: WebhookId, actor: Manager, if_match: IfMatch = None
) -> Response:
    """Delete a webhook: nothing more is sent to it. Requires `If-Match` (its ETag, the
    `version` in the list)."""
    async with writing(request, actor) as uow:
        await delete_subscription(uow, hook_id, if_match)
    return Response(status_code=204)


@router.post(
    "/v1/webhooks/{hook_id}/test",
    status_code=202,
    response_model=PingSent,
    responses=problem_responses(*AUTH_ERRORS, WebhookNotFound, WebhookDisabled),
)
async def ping_webhook(request: Request, hook_id: WebhookId, actor: Manager) -> PingSent:
    """Queue a `ping` message for this webhook only (whatever its `events`); see it arrive
    at your receiver and in `GET /v1/webhooks/{id}/deliveries`."""
    async with writing(request, actor) as uow:
        message_id = await send_ping(uow, hook_id)
    return PingSent(webhook_id=message_id)


@router.post(
    "/v1/webhooks/{hook_id}/rotate-secret",
    response_model=WebhookSecretRotated,
    responses={**etag_response(), **CHANGE_ERRORS},
)
async def rotate_webhook_secret(
    request: Request, hook_id: WebhookId, actor: Manager, if_match: IfMatch = None
) -> Response:
    """A new secret, shown once in this answer. For 24 h both sign: `webhook-signature`
    carries two space-separated `v1,` signatures, so receivers switch without losing a
    message. Requires `If-Match` (a retry after success is a 412, never a second rotation)."""
    async with writing(request, actor) as uow:
        subscription, secret = await rotate_secret(uow, hook_id, if_match)
        read = webhook_read(subscription, uow.now)
    rotated = WebhookSecretRotated(**read.model_dump(), secret=secret)
    return resource_response(rotated, rotated.version)


@router.get(
    "/v1/webhooks/{hook_id}/deliveries",
    response_model=DeliveryPage,
    responses=problem_responses(*AUTH_ERRORS, InvalidInput, WebhookNotFound),
)
async def list_deliveries(
    hook_id: WebhookId,
    session: ReadSession,
    actor: Manager,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> DeliveryPage:
    """Every delivery attempt of the webhook, newest first: the message's `webhook-id`,
    the attempt number, the receiver's status code or the error, and the outcome
    (`delivered`, `retrying`, `failed` after 24 h of retries, `disabled` by a 410)."""
    await get_subscription(session, actor, hook_id)
    after = int(decode_cursor(cursor, 1)[0]) if cursor else 0
    rows = await repository.deliveries_page(session, hook_id, after, limit + 1)
    items = [
        DeliveryRead(
            id=row.id,
            webhook_id=webhook_id(row.notification_id),
            type=row.event_type,
            attempt=row.attempt,
            status=row.status,
            status_code=row.status_code,
            error=row.error,
            duration_ms=row.duration_ms,
            attempted_at=row.attempted_at,
        )
        for row in rows[:limit]
    ]
    next_cursor = encode_cursor([items[-1].id]) if len(rows) > limit else None
    return DeliveryPage(items=items, next_cursor=next_cursor)
