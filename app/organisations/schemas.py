from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.auth.scopes import OrgKind

OrgCode = Annotated[str, Field(pattern=r"^[A-Z0-9_-]{2,32}$", description="upper-case code")]


class OrganisationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: OrgCode
    name: str = Field(min_length=1, max_length=200)
    kind: OrgKind
    institution: str | None = Field(default=None, max_length=64)


class OrganisationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    kind: str
    institution: str | None
    active: bool
    version: int
    created_at: datetime


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org: OrgCode
    scopes: str = Field(min_length=1, max_length=400, description="space-separated scopes")


class ClientRead(BaseModel):
    client_id: str
    org: str
    scopes: str
    active: bool
    version: int


class ClientCreated(ClientRead):
    client_secret: str = Field(description="shown once; only a hash is stored")
