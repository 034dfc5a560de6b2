"""Webhook subscriptions (SPEC §11): create, read, delete, ping, rotate the secret, and
disable on a 410. Every change is a chained ``webhook`` event whose state carries a digest
of the secrets, never a secret. Who may do what is ``app.webhooks.policy``."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.chain import format_timestamp
from app.audit.vocabulary import Action, Change, EntityType
from app.auth.actor import Actor
from app.db.engine import Database
from app.db.unit_of_work import UnitOfWork, unit_of_work
from app.errors import AppError, Conflict, NotFound
from app.models import Organisation, WebhookSubscription
from app.preconditions import check_if_match
from app.webhooks import policy, repository
from app.webhooks.events import EventType, webhook_id
from app.webhooks.outbox import notify
from app.webhooks.schemas import WebhookCreate, WebhookRead

SECRET_OVERLAP = timedelta(hours=24)


class WebhookNotFound(NotFound):
    title = "Webhook not found"


class SyncRequired(AppError):
    status = 403
    type_slug = "sync-required"
    title = "listing.changed needs the sync scope"
    description = (
        "A listing.changed subscription receives every subject's lookup answer, which only "
        "holders of the sync scope may read; the token that asked does not carry sync."
    )
    remedy = "Subscribe with a token that carries sync, or leave listing.changed out."


class TooManyWebhooks(Conflict):
    type_slug = "too-many-webhooks"
    title = "The organisation has as many webhooks as it may hold"
    description = (
        f"An organisation holds at most {policy.MAX_WEBHOOKS_PER_ORGANISATION} webhooks at once."
    )
    remedy = "Delete a webhook you no longer use (DELETE /v1/webhooks/{id}), then create one."


class WebhookDisabled(Conflict):
    type_slug = "webhook-disabled"
    title = "The webhook is disabled"
    description = "The webhook was disabled (its receiver answered 410 Gone): nothing is sent."
    remedy = "Create a new webhook for the receiver once it accepts messages again."


def new_secret() -> str:
    """``whsec_`` and 32 random bytes in base64, as Standard Webhooks libraries expect."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def secrets_digest(subscription: WebhookSubscription) -> str:
    """Names which secrets sign (so a secret replaced behind the chain is found) and
    reveals nothing of them: a SHA-256 over 256 random bits each."""
    both = f"{subscription.secret}\n{subscription.previous_secret or ''}"
    return hashlib.sha256(both.encode()).hexdigest()


def subscription_state(subscription: WebhookSubscription, org_code: str) -> dict[str, object]:
    until = subscription.previous_secret_until
    return {
        "id": subscription.id,
        "org": org_code,
        "url": subscription.url,
        "events": list(subscription.events),
        "status": subscription.status,
        "previous_secret_until": None if until is None else format_timestamp(until),
        "secrets_digest": secrets_digest(subscription),
    }


def webhook_read(subscription: WebhookSubscription, now: datetime) -> WebhookRead:
    until = subscription.previous_secret_until
    return WebhookRead(
        id=subscription.id,
        url=subscription.url,
        events=[EventType(e) for e in subscription.events],
        status="disabled" if subscription.status == "disabled" else "active",
        previous_secret_expires_at=until if until is not None and until > now else None,
        version=subscription.version,
        created_at=subscription.created_at,
        updated_at=subscription.updated_at,
    )


def signing_secrets(subscription: WebhookSubscription, now: datetime) -> list[str]:
    """The current secret, and the previous one while its overlap lasts."""
    previous, until = subscription.previous_secret, subscription.previous_secret_until
    if previous and until is not None and until > now:
        return [subscription.secret, previous]
    return [subscription.secret]


async def _record(uow: UnitOfWork, subscription: WebhookSubscription, action: Action) -> None:
    org = await uow.session.get(Organisation, subscription.organisation_id)
    assert org is not None
    await uow.record(
        Change(
            entity_type=EntityType.WEBHOOK,
            entity_id=subscription.id,
            entity_version=subscription.version,
            action=action,
            state=subscription_state(subscription, org.code),
        )
    )


async def _count(session: AsyncSession, org_id: int) -> int:
    stmt = select(func.count()).where(
        WebhookSubscription.organisation_id == org_id, WebhookSubscription.status != "deleted"
    )
    return int((await session.execute(stmt)).scalar_one())


async def create_subscription(
    uow: UnitOfWork, data: WebhookCreate
) -> tuple[WebhookSubscription, str]:
    """A new active subscription (its URL checked by the caller, before the write lock);
    it receives the messages written from now on."""
    actor = uow.actor
    assert actor.org_id is not None
    if not policy.may_subscribe(actor, data.events):
        raise SyncRequired("listing.changed needs a token carrying sync")
    if await _count(uow.session, actor.org_id) >= policy.MAX_WEBHOOKS_PER_ORGANISATION:
        raise TooManyWebhooks(f"at most {policy.MAX_WEBHOOKS_PER_ORGANISATION} webhooks")
    secret = new_secret()
    subscription = WebhookSubscription(
        id=str(uuid.uuid4()),
        organisation_id=actor.org_id,
        url=data.url,
        events=[e.value for e in data.events],
        secret=secret,
        status="active",
        version=1,
        created_at=uow.now,
        updated_at=uow.now,
        cursor=await repository.last_notification_id(uow.session),
        attempts=0,
    )
    uow.session.add(subscription)
    await uow.session.flush()
    await _record(uow, subscription, Action.CREATED)
    return subscription, secret


async def get_subscription(
    session: AsyncSession, actor: Actor, subscription_id: str
) -> WebhookSubscription:
    subscription = await session.get(WebhookSubscription, subscription_id)
    if subscription is None or not policy.may_see(actor, subscription):
        raise WebhookNotFound(f"no webhook {subscription_id}")
    return subscription


async def delete_subscription(uow: UnitOfWork, subscription_id: str, if_match: str | None) -> None:
    """Nothing more is sent; the row stays (status ``deleted``) with its history."""
    subscription = await get_subscription(uow.session, uow.actor, subscription_id)
    check_if_match(if_match, subscription.version)
    subscription.status = "deleted"
    subscription.version += 1
    subscription.updated_at = uow.now
    await uow.session.flush()
    await _record(uow, subscription, Action.DELETED)


async def rotate_secret(
    uow: UnitOfWork, subscription_id: str, if_match: str | None
) -> tuple[WebhookSubscription, str]:
    """A new secret; the current one keeps signing beside it for 24 h."""
    subscription = await get_subscription(uow.session, uow.actor, subscription_id)
    check_if_match(if_match, subscription.version)
    secret = new_secret()
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_until = uow.now + SECRET_OVERLAP
    subscription.secret = secret
    subscription.version += 1
    subscription.updated_at = uow.now
    await uow.session.flush()
    await _record(uow, subscription, Action.SECRET_ROTATED)
    return subscription, secret


async def send_ping(uow: UnitOfWork, subscription_id: str) -> str:
    """Queue a ``ping`` for this subscription only; its ``webhook-id``."""
    subscription = await get_subscription(uow.session, uow.actor, subscription_id)
    if subscription.status != "active":
        raise WebhookDisabled(f"webhook {subscription_id} is disabled")
    data = {"webhook": subscription.id, "message": "test message from the registry"}
    assert uow.actor.org_id is not None
    await notify(
        uow,
        EventType.PING,
        data,
        organisation_ids=[uow.actor.org_id],
        subscription_id=subscription.id,
    )
    return webhook_id(await repository.last_notification_id(uow.session))


async def disable_gone(db: Database, subscription_id: str, actor: Actor) -> None:
    """The receiver answered 410 Gone: disable the subscription (a chained change)."""
    async with unit_of_work(db, actor) as uow:
        subscription = await uow.session.get(WebhookSubscription, subscription_id)
        if subscription is None or subscription.status != "active":
            return
        subscription.status = "disabled"
        subscription.version += 1
        subscription.updated_at = uow.now
        await uow.session.flush()
        await _record(uow, subscription, Action.DISABLED)
