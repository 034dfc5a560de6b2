"""The transactional outbox (SPEC §11): a message is a ``notification`` row written in the
unit of work of the change it reports, so it exists exactly when the change committed.

Services call ``notify`` (any message for named organisations), or the helpers below for
the messages that follow from a subject's answer or a dispute. The holds service (SPEC §10)
adds its messages with one call in its unit of work::

    await notify(uow, EventType.HOLD_UPDATED, hold_state,
                 organisation_ids={requester_org_id, holder_org_id}, subject_key=key)

Every row is written while the unit of work holds the registry's write lock, which is
what makes the ids commit-ordered (the delivery worker relies on it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from pydantic_core import to_jsonable_python
from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import OrgKind
from app.db.unit_of_work import UnitOfWork
from app.models import Notification, Organisation
from app.subjects.answer import change_entry
from app.sync.listing import listing_from_state
from app.webhooks.events import EventType

NOTIFICATIONS = cast(Table, Notification.__table__)

# Which organisations hold a subject of each kind (SPEC §2 "theirs"; telecoms: phones).
_HOLDER_KIND = {"bank_account": OrgKind.BANK, "ewallet": OrgKind.EWALLET, "phone": OrgKind.TELECOM}


def message_row(
    type_: EventType,
    data: dict[str, Any],
    now: datetime,
    *,
    organisation_id: int | None,
    subject_key: str | None = None,
    subscription_id: str | None = None,
) -> dict[str, Any]:
    return {
        "type": type_.value,
        "organisation_id": organisation_id,
        "subscription_id": subscription_id,
        "subject_key": subject_key,
        "data": to_jsonable_python(data),
        "created_at": now,
    }


async def write_messages(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(NOTIFICATIONS), rows)


async def notify(
    uow: UnitOfWork,
    type_: EventType,
    data: dict[str, Any],
    *,
    organisation_ids: Iterable[int],
    subject_key: str | None = None,
    subscription_id: str | None = None,
) -> None:
    """One message of ``type_`` for each of ``organisation_ids``, in this unit of work."""
    rows = [
        message_row(
            type_,
            data,
            uow.now,
            organisation_id=org_id,
            subject_key=subject_key,
            subscription_id=subscription_id,
        )
        for org_id in sorted(set(organisation_ids))
    ]
    await write_messages(uow.session, rows)


class Holders:
    """The active organisations holding each kind of subject, read once per unit of work
    (the import asks for thousands of subjects)."""

    def __init__(self, orgs: Iterable[tuple[int, str, str | None]]) -> None:
        self._by: dict[tuple[str, str | None], list[int]] = {}
        for org_id, kind, institution in orgs:
            key = (kind, None if kind == OrgKind.TELECOM else institution)
            self._by.setdefault(key, []).append(org_id)

    @classmethod
    async def load(cls, session: AsyncSession) -> Holders:
        stmt = select(Organisation.id, Organisation.kind, Organisation.institution).where(
            Organisation.active.is_(True), Organisation.kind.in_(list(_HOLDER_KIND.values()))
        )
        return cls((r[0], r[1], r[2]) for r in (await session.execute(stmt)).all())

    def of(self, kind: str, institution: str | None) -> list[int]:
        org_kind = _HOLDER_KIND.get(kind)
        if org_kind is None:
            return []
        return self._by.get((org_kind, None if kind == "phone" else institution), [])


def answer_messages(
    holders: Holders, seq: int, state: dict[str, Any], previous_level: int, now: datetime
) -> list[dict[str, Any]]:
    """The messages of one subject event (its ``state`` at ``seq``): ``listing.changed``
    always, ``customer.listed`` to the holders when the risk level changed. The data is
    the change feed's entry, built by its one builder (``change_entry``)."""
    key = state["key"]
    entry = change_entry(seq, key, listing_from_state(state))
    rows = [
        message_row(EventType.LISTING_CHANGED, entry, now, organisation_id=None, subject_key=key)
    ]
    if entry["risk_level"] != previous_level:
        data = {**entry, "previous_risk_level": previous_level}
        rows.extend(
            message_row(EventType.CUSTOMER_LISTED, data, now, organisation_id=org, subject_key=key)
            for org in holders.of(state["kind"], state["institution"])
        )
    return rows


async def notify_answer_changed(
    uow: UnitOfWork, state: dict[str, Any], previous_level: int
) -> None:
    """After a subject's ``answer_changed`` event (the head of this unit's chain). The
    holders are read only when the risk level changed (customer.listed)."""
    changed = int(state.get("risk_level") or 0) != previous_level
    holders = await Holders.load(uow.session) if changed else Holders(())
    rows = answer_messages(holders, uow.events.head.seq, state, previous_level, uow.now)
    await write_messages(uow.session, rows)


async def notify_dispute(
    uow: UnitOfWork, organisation_id: int, action: str, state: dict[str, Any]
) -> None:
    """``dispute.updated`` to the organisation that opened the dispute."""
    data = {"action": action, "dispute": state}
    await notify(
        uow,
        EventType.DISPUTE_UPDATED,
        data,
        organisation_ids=[organisation_id],
        subject_key=state.get("subject_key"),
    )
