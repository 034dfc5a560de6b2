"""What the admin endpoints answer; the bodies they take are the organisations domain's."""

from __future__ import annotations

from pydantic import BaseModel

from app.models import Client, Organisation
from app.organisations.schemas import ClientCreated, ClientRead, OrganisationRead


class OrganisationPage(BaseModel):
    items: list[OrganisationRead]
    next_cursor: str | None


class ClientPage(BaseModel):
    items: list[ClientRead]
    next_cursor: str | None


def organisation_read(org: Organisation) -> OrganisationRead:
    return OrganisationRead.model_validate(org)


def client_read(client: Client, org: Organisation) -> ClientRead:
    """A client as shown: never its secret nor any form of its hash."""
    return ClientRead(
        client_id=client.client_id,
        org=org.code,
        scopes=client.scopes,
        active=client.active,
        version=client.version,
        created_at=client.created_at,
        updated_at=client.updated_at,
    )


def without_secret(created: BaseModel) -> BaseModel:
    """What an Idempotency-Key replay of a client create answers: the secret is not kept."""
    assert isinstance(created, ClientCreated)
    return created.model_copy(update={"client_secret": None})
