from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class PublicCheckCount(Base):
    """Public (citizen) checks per day, Vietnam time; counted apart from member lookups."""

    __tablename__ = "public_check_count"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    checks: Mapped[int] = mapped_column(BigInteger, default=0)
    listed: Mapped[int] = mapped_column(BigInteger, default=0)
