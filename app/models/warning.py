from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import UTCDateTime


class Warning(Base):
    """A lookup that answered warn or hold: who asked, about which subject, when (not the
    payer), and later what the customer did."""

    __tablename__ = "warning"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    subject_key: Mapped[str] = mapped_column(String(160))
    risk_level: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(8))
    registry_version: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))
    amount_vnd: Mapped[int | None] = mapped_column(BigInteger)
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_warning_created", "created_at"),
        Index("ix_warning_org_created", "organisation_id", "created_at"),
    )
