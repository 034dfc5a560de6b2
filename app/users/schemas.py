"""API shapes of console users (SPEC §9 ``/v1/admin/users``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from app.text import Text
from app.users.roles import Role

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{2,63}$"


class UserStatus(StrEnum):
    INVITED = "invited"  # created; the enrolment link not used yet
    ACTIVE = "active"
    DISABLED = "disabled"


class UserCreate(BaseModel):
    """A new console user; the answer carries the one-time enrolment link."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"org": "C06", "username": "an.nguyen", "role": "analyst"}]
        },
    )

    org: Text = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    username: Text = Field(pattern=USERNAME_PATTERN, description="lower case, 3-64 characters")
    role: Role


class UserRead(BaseModel):
    id: str
    org: str
    username: str
    role: Role
    status: UserStatus
    scopes: list[str]
    created_at: datetime


class UserCreated(UserRead):
    enrolment_path: str = Field(description="one-time, valid until enrolment_expires_at")
    enrolment_expires_at: datetime


class UserPage(BaseModel):
    items: list[UserRead]
    next_cursor: str | None
