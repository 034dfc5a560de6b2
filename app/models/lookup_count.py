from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class LookupCount(Base):
    """Lookups per organisation per day (Vietnam time); allow answers are only counted."""

    __tablename__ = "lookup_count"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    lookups: Mapped[int] = mapped_column(BigInteger, default=0)
    warned: Mapped[int] = mapped_column(BigInteger, default=0)
