"""The notification types of SPEC §11: the names subscribers choose and receive."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    # any subject's lookup answer changed (audience: every organisation holding `sync`)
    LISTING_CHANGED = "listing.changed"
    # a subject at the subscriber's own institution became listed or changed risk
    CUSTOMER_LISTED = "customer.listed"
    # holds the subscriber requested or holds (SPEC §10; written by the holds service)
    HOLD_REQUESTED = "hold.requested"
    HOLD_UPDATED = "hold.updated"
    # disputes the subscriber opened
    DISPUTE_UPDATED = "dispute.updated"
    # POST /v1/webhooks/{id}/test: for that one subscription
    PING = "ping"


def webhook_id(notification_id: int) -> str:
    """The ``webhook-id`` of a message: the same on every retry."""
    return f"msg_{notification_id}"
