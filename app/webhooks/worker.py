"""The delivery worker: a loop in every ``registry serve`` process (SPEC §11).

Each round claims due subscriptions with one conditional UPDATE (``leased_until`` unset
or past), so with several processes each subscription is served by one worker at a time;
then sends each claimed subscription's next messages strictly in id order. The cursor
moves past a message only after a 2xx, or once it has been retried for
``REGISTRY_WEBHOOK_RETRY_HOURS`` since its first attempt (then it is ``failed``); a failure
backs off exponentially; a 410 disables the subscription (a chained change). Every
attempt is logged in ``webhook_delivery``. Delivery is at least once: a worker killed
after a 2xx but before its commit sends that message again, with the same ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import or_, select, update

from app.auth.actor import Actor
from app.config import Settings
from app.db.engine import Database
from app.db.types import utcnow
from app.db.unit_of_work import unchained_write
from app.models import Notification, Organisation, WebhookDelivery, WebhookSubscription
from app.webhooks import repository
from app.webhooks.sender import Outcome, message_body, new_client, send, signed_headers
from app.webhooks.service import disable_gone, signing_secrets
from app.webhooks.targets import AllowedHosts, TargetRefused, check_target

log = logging.getLogger(__name__)
_CLAIM_BATCH = 20
_MESSAGES_PER_CLAIM = 50


@dataclass(frozen=True)
class Pending:
    subscription: WebhookSubscription
    message: Notification | None
    head: int


class DeliveryWorker:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.owner = str(uuid.uuid4())
        self.allowed = AllowedHosts.parse(settings.webhook_allowed_hosts)
        self.lease = timedelta(seconds=settings.webhook_lease_seconds)

    async def run(self) -> None:
        async with new_client(
            self.settings.webhook_connect_timeout_seconds,
            self.settings.webhook_read_timeout_seconds,
        ) as client:
            while True:
                try:
                    busy = await self.run_once(client)
                except Exception:  # a database fault: try again next round
                    log.warning("webhook delivery round failed", exc_info=True)
                    busy = 0
                if not busy:
                    await asyncio.sleep(self.settings.webhook_poll_interval_seconds)

    async def run_once(self, client: httpx.AsyncClient) -> int:
        """One round: claim, deliver, release; the number of subscriptions served."""
        claimed = await self.claim(utcnow())
        for subscription_id in claimed:
            try:
                await self.deliver(client, subscription_id)
            finally:
                await self.release(subscription_id)
        return len(claimed)

    async def claim(self, now: datetime) -> list[str]:
        async with self.db.read_session() as session:
            head = await repository.last_notification_id(session)
            stmt = (
                select(WebhookSubscription.id)
                .join(Organisation, Organisation.id == WebhookSubscription.organisation_id)
                .where(repository.due(now, head), Organisation.active.is_(True))
                .order_by(WebhookSubscription.next_attempt_at, WebhookSubscription.id)
                .limit(_CLAIM_BATCH)
            )
            candidates = list((await session.execute(stmt)).scalars())
        if not candidates:
            return []
        s = WebhookSubscription
        claim = (
            update(s)
            .where(s.id.in_(candidates), or_(s.leased_until.is_(None), s.leased_until < now))
            .values(leased_until=now + self.lease, lease_owner=self.owner)
            .returning(s.id)
        )
        async with unchained_write(self.db) as session:
            return sorted((await session.execute(claim)).scalars())

    async def release(self, subscription_id: str) -> None:
        s = WebhookSubscription
        async with unchained_write(self.db) as session:
            await session.execute(
                update(s)
                .where(s.id == subscription_id, s.lease_owner == self.owner)
                .values(leased_until=None, lease_owner=None)
            )

    async def pending(self, subscription_id: str) -> Pending | None:
        async with self.db.read_session() as session:
            head = await repository.last_notification_id(session)
            sub = await session.get(WebhookSubscription, subscription_id)
            if sub is None or sub.status != "active" or sub.lease_owner != self.owner:
                return None
            message = await repository.next_message(session, sub, head)
            session.expunge_all()
        return Pending(sub, message, head)

    async def deliver(self, client: httpx.AsyncClient, subscription_id: str) -> None:
        """Send the subscription's messages in order until none is left, one fails, or
        this claim's share (messages, or half the lease) is used up."""
        stop = time.monotonic() + self.lease.total_seconds() / 2
        for _ in range(_MESSAGES_PER_CLAIM):
            if time.monotonic() > stop:
                return
            found = await self.pending(subscription_id)
            if found is None:
                return
            if found.message is None:
                await self.settle(found.subscription, found.head, attempts=0)
                return
            outcome = await self.attempt(client, found.subscription, found.message)
            if not await self.record(found.subscription, found.message, outcome):
                return

    async def attempt(
        self, client: httpx.AsyncClient, sub: WebhookSubscription, message: Notification
    ) -> Outcome:
        try:
            target = await check_target(sub.url, self.allowed)
        except TargetRefused as exc:
            return Outcome(None, f"target refused: {exc.reason}"[:200], 0)
        now = utcnow()
        body = message_body(message)
        headers = signed_headers(message, body, signing_secrets(sub, now), now)
        settings = self.settings
        deadline = settings.webhook_connect_timeout_seconds + settings.webhook_read_timeout_seconds
        return await send(client, target, headers, body, deadline + 1)

    async def record(
        self, sub: WebhookSubscription, message: Notification, outcome: Outcome
    ) -> bool:
        """Log the attempt and move the subscription on; whether to send the next one."""
        now = utcnow()
        first = sub.first_attempt_at or now
        attempt = sub.attempts + 1
        given_up = now - first >= timedelta(hours=self.settings.webhook_retry_hours)
        if outcome.gone:
            status = "disabled"
        elif outcome.delivered:
            status = "delivered"
        else:
            status = "failed" if given_up else "retrying"
        await self.log(sub, message, outcome, attempt, status, now)
        if outcome.gone:
            await disable_gone(self.db, sub.id, Actor.command_line("webhooks"))
            return False
        if status in ("delivered", "failed"):
            return await self.settle(sub, message.id, attempts=0)
        delay = self.settings.webhook_backoff_base_seconds * 2 ** (attempt - 1)
        delay = min(delay, self.settings.webhook_backoff_max_seconds)
        await self.settle(
            sub, sub.cursor, attempts=attempt, first=first, retry_at=now + timedelta(seconds=delay)
        )
        return False

    async def log(
        self,
        sub: WebhookSubscription,
        message: Notification,
        outcome: Outcome,
        attempt: int,
        status: str,
        now: datetime,
    ) -> None:
        async with unchained_write(self.db) as session:
            session.add(
                WebhookDelivery(
                    subscription_id=sub.id,
                    notification_id=message.id,
                    event_type=message.type,
                    attempt=attempt,
                    status=status,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    duration_ms=outcome.duration_ms,
                    attempted_at=now,
                )
            )

    async def settle(
        self,
        sub: WebhookSubscription,
        cursor: int,
        *,
        attempts: int,
        first: datetime | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """Store the delivery state, if this worker still holds the lease."""
        s = WebhookSubscription
        values = {
            "cursor": cursor,
            "attempts": attempts,
            "first_attempt_at": first,
            "next_attempt_at": retry_at,
        }
        async with unchained_write(self.db) as session:
            result = await session.execute(
                update(s).where(s.id == sub.id, s.lease_owner == self.owner).values(**values)
            )
        held = bool(getattr(result, "rowcount", 0))
        if held:
            sub.cursor, sub.attempts = cursor, attempts
            sub.first_attempt_at, sub.next_attempt_at = first, retry_at
        return held


async def run_delivery(db: Database, settings: Settings) -> None:
    """The background task of ``registry serve``."""
    await DeliveryWorker(db, settings).run()


async def deliver_pending(db: Database, settings: Settings) -> int:
    """One round (tests and drills): claim and deliver what is due now."""
    worker = DeliveryWorker(db, settings)
    async with new_client(
        settings.webhook_connect_timeout_seconds, settings.webhook_read_timeout_seconds
    ) as client:
        return await worker.run_once(client)
