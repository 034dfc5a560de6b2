from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import UTCDateTime


class SigningKey(Base):
    """One token-signing key (ES256), shared by every process through the database.

    ``private_key`` is the PKCS8 key sealed with AES-256-GCM under a key derived from
    ``REGISTRY_JWT_KEY_FILE`` (app.auth.keys): a copy of the database alone cannot sign.
    A key signs from ``active_from`` until ``retired_at``; it verifies tokens issued before
    ``retired_at`` until they expire.
    """

    __tablename__ = "signing_key"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_key: Mapped[str] = mapped_column(Text)
    private_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    active_from: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
