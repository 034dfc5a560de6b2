from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import UTCDateTime

# An autoincrementing BIGINT on PostgreSQL; SQLite autoincrements only an INTEGER key.
NotificationId = BigInteger().with_variant(Integer(), "sqlite")


class Notification(Base):
    """One message of the transactional outbox (SPEC §11), written in the transaction of
    the change it reports. ``id`` orders the messages: every row is written under the
    registry's write lock, so ids are assigned in commit order and a reader that sees id
    ``n`` committed has seen every smaller id too."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(NotificationId, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(32))
    # The organisation it is for; NULL for a holder audience or listing.changed (every
    # sync holder).
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    # Or the holders of a kind of subject (``bank_account:<BIN>``, ``ewallet:<code>``,
    # ``phone``): every organisation holding such subjects (customer.listed). Resolved when
    # delivered, so the write is one INSERT whoever holds the subject.
    holder: Mapped[str | None] = mapped_column(String(40))
    # Set for a message meant for one subscription only (a ping).
    subscription_id: Mapped[str | None] = mapped_column(String(36))
    subject_key: Mapped[str | None] = mapped_column(String(160))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_notification_org_id", "organisation_id", "id"),
        Index("ix_notification_holder_id", "holder", "id"),
    )
