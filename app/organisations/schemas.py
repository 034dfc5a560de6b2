"""Organisations and clients as the CLI and the admin API take and show them.

``OrganisationCreate`` and ``ClientCreate`` are the one statement of what a valid
organisation or client request is: the HTTP bodies are these models, and the services
validate the command line's arguments through the same models (``validated``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.auth.scopes import OrgKind
from app.errors import InvalidInput
from app.text import Text

ORG_CODE_PATTERN = r"^[A-Z0-9_-]{2,32}$"

OrgCode = Annotated[Text, Field(pattern=ORG_CODE_PATTERN, description="upper-case code")]

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], **fields: Any) -> M:
    """``model`` built from ``fields``, or the 422 the HTTP API gives for the same input."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        names = ", ".join(".".join(map(str, e["loc"])) for e in errors)
        raise InvalidInput(f"invalid {names}", errors=errors) from None


class OrganisationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"code": "TCB", "name": "Techcombank", "kind": "bank", "institution": "TCB"}
            ]
        },
    )

    code: OrgCode
    name: Text = Field(min_length=1, max_length=200)
    kind: OrgKind
    institution: Text | None = Field(
        default=None, max_length=64, description="banks: BIN or bank code; e-wallets: code"
    )


class OrganisationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    kind: str
    institution: str | None
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class ClientCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"org": "TCB", "scopes": "lookup sync"}]}
    )

    org: OrgCode
    scopes: Text = Field(min_length=1, max_length=400, description="space-separated scopes")


class ClientRead(BaseModel):
    client_id: str
    org: str
    scopes: str
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class ClientCreated(ClientRead):
    client_secret: str | None = Field(
        description="shown once, in this answer only; only a hash is stored. An "
        "Idempotency-Key replay answers null: rotate the secret if the first answer was lost"
    )


class SecretRotated(ClientRead):
    client_secret: str = Field(description="the new secret, shown once; the old one is refused")
