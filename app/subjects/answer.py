"""The one builder of the lookup answer (SPEC §6 ``POST /v1/lookup``) and its encoder.

Every path that answers a lookup (the ASGI fast path, the framework route, each batch item
and the VietQR lookup) builds the answer here and encodes it with ``encode``, so the same
subject gets the same bytes whichever door the caller used (a test holds them to that).
The answer is plain values, not a ``LookupResult`` model: validating a model per lookup
cost more than the rest of the answer; the model stays in ``schemas`` to document it.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import to_json

from app.subjects.risk import ACTIONS, RISK_NAMES
from app.sync.listing import Listing


def lookup_answer(
    key: str, listing: Listing, registry_version: int, warning_id: str | None = None
) -> dict[str, Any]:
    """The answer about ``key``, in ``LookupResult``'s field order, ready for ``encode``.

    Nothing about reporters, cases or holders: a ``Listing`` does not carry them.
    """
    level = listing.risk_level
    return {
        "key": key,
        "listed": level > 0,
        "risk_level": level,
        "risk": RISK_NAMES[level],
        "action": ACTIONS[level],
        "categories": list(listing.categories),
        "under_dispute": listing.under_dispute,
        "first_flagged_at": listing.first_flagged_at,
        "last_changed_at": listing.last_changed_at,
        "registry_version": registry_version,
        "warning_id": warning_id,
    }


def change_entry(seq: int, key: str, listing: Listing) -> dict[str, Any]:
    """A change-feed entry: ``seq`` and the lookup answer of ``key`` at that ``seq``.

    Built by ``lookup_answer`` so a bank's local copy answers exactly like the registry; no
    ``registry_version`` (the page carries it) and no ``warning_id`` (a feed issues none).
    """
    answer = lookup_answer(key, listing, 0)
    del answer["registry_version"], answer["warning_id"]
    return {"seq": seq, **answer}


def encode(value: dict[str, Any]) -> bytes:
    """Compact JSON, with datetimes as pydantic writes them (RFC 3339, ``Z`` for UTC)."""
    return to_json(value)
