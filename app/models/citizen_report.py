from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import UTCDateTime


class CitizenReport(Base):
    """A scam reported by a citizen on the public portal, waiting for police review.

    It lists nothing by itself: an analyst turns it into a flag (``flag_id``) or closes it.
    """

    __tablename__ = "citizen_report"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # What the citizen is told to quote: short, unambiguous, unique.
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    subject_key: Mapped[str] = mapped_column(String(160))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_institution: Mapped[str | None] = mapped_column(String(16))
    subject_identifier: Mapped[str] = mapped_column(String(64))
    amount_vnd: Mapped[int | None] = mapped_column(BigInteger)
    occurred_on: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    flag_id: Mapped[str | None] = mapped_column(String(36))
    reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_citizen_report_status_created", "status", "created_at"),)
