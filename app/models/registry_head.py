from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

GENESIS_HASH = "0" * 64


class RegistryHead(Base):
    """The single row holding the newest ``seq`` and hash; locking it serialises writers."""

    __tablename__ = "registry_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
