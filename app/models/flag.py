from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import UTCDateTime

# The statuses that count towards a subject's risk (app.subjects.risk.ACTIVE_STATUSES).
ACTIVE_SQL = "status IN ('reported', 'confirmed')"


class Flag(Base):
    """One organisation's report about one subject."""

    __tablename__ = "flag"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    status: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    amount_lost_vnd: Mapped[int | None] = mapped_column(BigInteger)
    case_reference: Mapped[str | None] = mapped_column(String(100))
    holder_name: Mapped[str | None] = mapped_column(String(200))
    # Why it was last confirmed, rejected or withdrawn (SPEC §8), when the caller said.
    reason: Mapped[str | None] = mapped_column(Text)
    import_fingerprint: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_flag_org_status", "organisation_id", "status", "created_at"),
        Index("ix_flag_status_expires", "status", "expires_at"),
        Index("ix_flag_import", "organisation_id", "import_fingerprint", unique=True),
        # One active flag per organisation and subject (SPEC §8), even against direct SQL.
        Index(
            "uq_flag_active_per_organisation",
            "subject_id",
            "organisation_id",
            unique=True,
            postgresql_where=text(ACTIVE_SQL),
            sqlite_where=text(ACTIVE_SQL),
        ),
    )
