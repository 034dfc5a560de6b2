"""The transactional outbox (SPEC §11): a message is a ``notification`` row written in the
unit of work of the change it reports, so it exists exactly when the change committed.

A message is for named organisations (one row each), for the holders of a kind of subject
(``holder``: the organisations holding it are found when it is delivered, so the write
path never looks them up), or for every `sync` holder (``listing.changed``: neither).
Services call ``notify``, or the helpers below for the messages that follow from a
subject's answer or a dispute. The holds service (SPEC §10) adds its messages with one call
in its unit of work::

    await notify(uow, EventType.HOLD_UPDATED, hold_state, subject_key=key,
                 organisation_ids=[requester_org_id], holder=holder_of(kind, institution))

Every row is written while the unit of work holds the registry's write lock, which is
what makes the ids commit-ordered (the delivery worker relies on it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from pydantic_core import to_jsonable_python
from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import OrgKind
from app.db.unit_of_work import UnitOfWork
from app.models import Notification
from app.subjects.answer import change_entry
from app.sync.listing import listing_from_state
from app.webhooks.events import EventType

NOTIFICATIONS = cast(Table, Notification.__table__)

# Which organisations hold a subject of each kind (SPEC §2 "theirs"; telecoms: phones).
_HOLDING_KIND: dict[str, str] = {OrgKind.BANK: "bank_account", OrgKind.EWALLET: "ewallet"}


def holder_of(kind: str, institution: str | None) -> str:
    """The audience of a subject's holders: ``bank_account:970436``, ``ewallet:MOMO``,
    ``phone`` (every telecom)."""
    return "phone" if kind == "phone" else f"{kind}:{institution}"


def holder_key(org_kind: str | None, institution: str | None) -> str | None:
    """Which ``holder`` audience an organisation belongs to, if any."""
    if org_kind == OrgKind.TELECOM:
        return "phone"
    kind = _HOLDING_KIND.get(org_kind or "")
    return None if kind is None or institution is None else holder_of(kind, institution)


def message_row(
    type_: EventType,
    data: dict[str, Any],
    now: datetime,
    *,
    organisation_id: int | None = None,
    holder: str | None = None,
    subject_key: str | None = None,
    subscription_id: str | None = None,
) -> dict[str, Any]:
    return {
        "type": type_.value,
        "organisation_id": organisation_id,
        "holder": holder,
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
    organisation_ids: Iterable[int] = (),
    holder: str | None = None,
    subject_key: str | None = None,
    subscription_id: str | None = None,
) -> None:
    """One message of ``type_`` for each of ``organisation_ids`` and one for ``holder``'s
    organisations, in this unit of work."""
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
    if holder is not None:
        rows.append(message_row(type_, data, uow.now, holder=holder, subject_key=subject_key))
    await write_messages(uow.session, rows)


def answer_messages(
    seq: int, state: dict[str, Any], previous_level: int, now: datetime
) -> list[dict[str, Any]]:
    """The messages of one subject event (its ``state`` at ``seq``): ``listing.changed``
    always, ``customer.listed`` to its holders when the risk level changed. The data is
    the change feed's entry, built by its one builder (``change_entry``)."""
    key = state["key"]
    entry = change_entry(seq, key, listing_from_state(state))
    rows = [message_row(EventType.LISTING_CHANGED, entry, now, subject_key=key)]
    if entry["risk_level"] != previous_level:
        data = {**entry, "previous_risk_level": previous_level}
        holder = holder_of(state["kind"], state["institution"])
        rows.append(
            message_row(EventType.CUSTOMER_LISTED, data, now, holder=holder, subject_key=key)
        )
    return rows


async def notify_answer_changed(
    uow: UnitOfWork, state: dict[str, Any], previous_level: int
) -> None:
    """After a subject's ``answer_changed`` event (the head of this unit's chain)."""
    rows = answer_messages(uow.events.head.seq, state, previous_level, uow.now)
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
