from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import UTCDateTime


class ChangeEvent(Base):
    """One immutable change, linked into the hash chain; ``seq`` is gap-free and global."""

    __tablename__ = "change_event"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    entity_version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    actor_org: Mapped[str | None] = mapped_column(String(32))
    actor_client: Mapped[str | None] = mapped_column(String(64))
    token_jti: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(200))
    subject_key: Mapped[str | None] = mapped_column(String(160))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_change_event_entity", "entity_type", "entity_id", "seq"),
        Index("ix_change_event_subject", "subject_key", "seq"),
        Index("ix_change_event_type_seq", "entity_type", "seq"),
    )
