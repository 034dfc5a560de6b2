"""Who may do what with webhooks and the inbox (SPEC §2, §11), as plain functions.

- `webhooks:manage` (bank, ewallet, telecom, police, regulator) manages its own
  organisation's subscriptions; another organisation's subscription is answered like one
  that does not exist (404), and a deleted one is gone for everybody.
- `listing.changed` reports every subject's answer: subscribing to it needs `sync` on the
  token (403 `sync-required` otherwise), and it is delivered only while an active client
  of the organisation still holds `sync`.
- The inbox serves any token of the organisation its own messages.
"""

from __future__ import annotations

from app.auth.actor import Actor
from app.auth.scopes import Scope
from app.models import WebhookSubscription
from app.webhooks.events import EventType

# Webhooks an organisation may hold at once (not counting deleted ones).
MAX_WEBHOOKS_PER_ORGANISATION = 10


def may_see(actor: Actor, subscription: WebhookSubscription) -> bool:
    return subscription.organisation_id == actor.org_id and subscription.status != "deleted"


def may_subscribe(actor: Actor, events: list[EventType]) -> bool:
    return EventType.LISTING_CHANGED not in events or Scope.SYNC in actor.scopes
