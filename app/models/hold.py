from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import UTCDateTime


class Hold(Base):
    """One institution's (or police's) request that the holder of an account hold money."""

    __tablename__ = "hold"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    # The registered organisation of the subject's institution when the hold was requested.
    holder_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    held_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    released_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    returned_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str] = mapped_column(Text)
    case_reference: Mapped[str | None] = mapped_column(String(100))
    # The ledger bucket the freeze went into (the case at the time of the answer): every
    # release and return of this hold is taken from that same bucket.
    ledger_case: Mapped[str | None] = mapped_column(String(100))
    transfer_reference: Mapped[str | None] = mapped_column(String(100))
    transferred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))
    respond_by: Mapped[datetime] = mapped_column(UTCDateTime)
    confirm_by: Mapped[datetime] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by: Mapped[str | None] = mapped_column(String(32))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_hold_status_confirm_by", "status", "confirm_by"),)
