"""Reading subscriptions, their pending messages and their delivery log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import Scope, parse_scopes
from app.models import Client, Notification, Organisation, WebhookDelivery, WebhookSubscription
from app.webhooks.events import EventType
from app.webhooks.outbox import holder_key

_ADDRESSED = frozenset(EventType) - {EventType.LISTING_CHANGED, EventType.PING}


async def last_notification_id(session: AsyncSession) -> int:
    found = (await session.execute(select(func.max(Notification.id)))).scalar_one_or_none()
    return int(found or 0)


async def holds_sync(session: AsyncSession, org_id: int) -> bool:
    """Whether an active client of the organisation holds ``sync`` (listing.changed)."""
    stmt = select(Client.scopes).where(Client.organisation_id == org_id, Client.active.is_(True))
    return any(
        Scope.SYNC in parse_scopes(scopes) for scopes in (await session.execute(stmt)).scalars()
    )


def addressed_to(
    subscription: WebhookSubscription, *, holder: str | None, sync: bool
) -> ColumnElement[bool]:
    """The messages this subscription receives: its organisation's and its holder
    audience's (``holder_key``), of the types it chose; every listing.changed when it chose
    that and its organisation holds ``sync``; and pings sent to it."""
    wanted = [t for t in subscription.events if t in _ADDRESSED]
    cases = [
        Notification.subscription_id == subscription.id,
        and_(
            Notification.organisation_id == subscription.organisation_id,
            Notification.subscription_id.is_(None),
            Notification.type.in_(wanted),
        ),
    ]
    if holder is not None:
        cases.append(and_(Notification.holder == holder, Notification.type.in_(wanted)))
    if sync and EventType.LISTING_CHANGED in subscription.events:
        cases.append(
            and_(
                Notification.organisation_id.is_(None),
                Notification.type == EventType.LISTING_CHANGED,
            )
        )
    return or_(*cases)


async def next_message(
    session: AsyncSession, subscription: WebhookSubscription, up_to: int
) -> Notification | None:
    sync = EventType.LISTING_CHANGED in subscription.events and await holds_sync(
        session, subscription.organisation_id
    )
    org = await session.get(Organisation, subscription.organisation_id)
    holder = None if org is None else holder_key(org.kind, org.institution)
    stmt = (
        select(Notification)
        .where(
            Notification.id > subscription.cursor,
            Notification.id <= up_to,
            addressed_to(subscription, holder=holder, sync=sync),
        )
        .order_by(Notification.id)
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def subscriptions_of(session: AsyncSession, org_id: int) -> Sequence[WebhookSubscription]:
    stmt = (
        select(WebhookSubscription)
        .where(
            WebhookSubscription.organisation_id == org_id,
            WebhookSubscription.status != "deleted",
        )
        .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
    )
    return (await session.execute(stmt)).scalars().all()


async def deliveries_page(
    session: AsyncSession, subscription_id: str, after: int, limit: int
) -> Sequence[WebhookDelivery]:
    """The subscription's attempts, newest first, below ``after`` (0: from the newest)."""
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if after:
        stmt = stmt.where(WebhookDelivery.id < after)
    stmt = stmt.order_by(WebhookDelivery.id.desc()).limit(limit)
    return (await session.execute(stmt)).scalars().all()


async def inbox_page(
    session: AsyncSession, org_id: int, holder: str | None, after: int, limit: int
) -> Sequence[Notification]:
    """The organisation's own messages (its own and its holder audience's) after
    ``after``, oldest first."""
    mine = Notification.organisation_id == org_id
    if holder is not None:
        mine = or_(mine, Notification.holder == holder)
    stmt = (
        select(Notification)
        .where(mine, Notification.id > after)
        .order_by(Notification.id)
        .limit(limit)
    )
    return (await session.execute(stmt)).scalars().all()


def due(now: datetime, head: int) -> ColumnElement[bool]:
    """Active subscriptions with messages possibly pending, not leased, due now."""
    s = WebhookSubscription
    return and_(
        s.status == "active",
        s.cursor < head,
        or_(s.next_attempt_at.is_(None), s.next_attempt_at <= now),
        or_(s.leased_until.is_(None), s.leased_until < now),
    )
