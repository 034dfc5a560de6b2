"""Rules for organisations and clients (SPEC §2)."""

from __future__ import annotations

import secrets

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.vocabulary import Action, Change, EntityType
from app.auth.client_secret import DUMMY_HASH, hash_secret, new_secret, verify_secret
from app.auth.scopes import OrgKind, parse_scopes, scopes_for_kind
from app.db.unit_of_work import UnitOfWork
from app.errors import Conflict, InvalidClient, InvalidInput, NotFound
from app.models import Client, Organisation
from app.organisations.repository import ClientRepository, OrganisationRepository
from app.reference.catalogue import bank_bin, ewallet_code


class OrganisationNotFound(NotFound):
    title = "Organisation not found"


class ClientNotFound(NotFound):
    title = "Client not found"


def _field_error(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, errors=[{"loc": [field], "msg": message, "type": "value_error"}])


def normalise_institution(kind: str, institution: str | None) -> str | None:
    """Banks carry a BIN, e-wallets a wallet code; every other kind carries none."""
    if kind == OrgKind.BANK:
        found = bank_bin(institution or "")
        if found is None:
            raise _field_error("institution", f"unknown bank: {institution!r}")
        return found
    if kind == OrgKind.EWALLET:
        found = ewallet_code(institution or "")
        if found is None:
            raise _field_error("institution", f"unknown e-wallet: {institution!r}")
        return found
    if institution:
        raise _field_error("institution", f"organisations of kind {kind} have no institution")
    return None


def organisation_state(org: Organisation) -> dict[str, object]:
    return {
        "code": org.code,
        "name": org.name,
        "kind": org.kind,
        "institution": org.institution,
        "active": org.active,
    }


def client_state(client: Client, org_code: str) -> dict[str, object]:
    # The secret hash is deliberately not part of the (public, audited) state.
    return {
        "client_id": client.client_id,
        "org": org_code,
        "scopes": client.scopes,
        "active": client.active,
    }


def _organisation_change(org: Organisation, action: Action) -> Change:
    return Change(
        entity_type=EntityType.ORGANISATION,
        entity_id=org.code,
        entity_version=org.version,
        action=action,
        state=organisation_state(org),
    )


def _client_change(client: Client, org_code: str, action: Action) -> Change:
    return Change(
        entity_type=EntityType.CLIENT,
        entity_id=client.client_id,
        entity_version=client.version,
        action=action,
        state=client_state(client, org_code),
    )


async def create_organisation(
    uow: UnitOfWork, *, code: str, name: str, kind: str, institution: str | None
) -> Organisation:
    """Create an organisation; the institution code is checked against the shipped lists."""
    if kind not in OrgKind.__members__.values():
        raise _field_error("kind", f"unknown organisation kind: {kind!r}")
    institution = normalise_institution(kind, institution)
    repo = OrganisationRepository(uow.session)
    if await repo.by_code(code) is not None:
        raise Conflict(f"organisation {code} already exists")
    now = uow.now
    org = await repo.add(
        Organisation(
            code=code,
            name=name,
            kind=kind,
            institution=institution,
            active=True,
            version=1,
            created_at=now,
            updated_at=now,
        )
    )
    await uow.record(_organisation_change(org, Action.CREATED))
    return org


async def deactivate_organisation(uow: UnitOfWork, code: str) -> Organisation:
    """Deactivate an organisation: every token of its clients stops working at once."""
    org = await OrganisationRepository(uow.session).by_code(code)
    if org is None:
        raise OrganisationNotFound(f"no organisation {code}")
    if org.active:
        org.active = False
        org.version += 1
        org.updated_at = uow.now
        await uow.record(_organisation_change(org, Action.DEACTIVATED))
    return org


async def create_client(uow: UnitOfWork, *, org_code: str, scopes: str) -> tuple[Client, str]:
    """Create a client; returns it with its secret, which is never stored or shown again."""
    org = await OrganisationRepository(uow.session).by_code(org_code)
    if org is None:
        raise OrganisationNotFound(f"no organisation {org_code}")
    if not org.active:
        raise Conflict(f"organisation {org_code} is deactivated")
    requested = parse_scopes(scopes)
    allowed = scopes_for_kind(org.kind)
    refused = [s for s in requested if s not in allowed]
    if not requested or refused:
        raise _field_error(
            "scopes",
            f"scopes not allowed for a {org.kind}: {' '.join(refused) or '(none given)'}; "
            f"allowed: {' '.join(sorted(allowed))}",
        )
    secret = new_secret()
    secret_hash = await anyio.to_thread.run_sync(hash_secret, secret)
    client = await ClientRepository(uow.session).add(
        Client(
            client_id="cli_" + secrets.token_hex(12),
            organisation_id=org.id,
            secret_hash=secret_hash,
            scopes=" ".join(requested),
            active=True,
            version=1,
            created_at=uow.now,
            updated_at=uow.now,
        )
    )
    await uow.record(_client_change(client, org.code, Action.CREATED))
    return client, secret


async def revoke_client(uow: UnitOfWork, client_id: str) -> Client:
    """Revoke a client: tokens already issued to it stop working at once."""
    client = await ClientRepository(uow.session).by_client_id(client_id)
    if client is None:
        raise ClientNotFound(f"no client {client_id}")
    org = await OrganisationRepository(uow.session).by_id(client.organisation_id)
    assert org is not None
    if client.active:
        client.active = False
        client.version += 1
        client.updated_at = uow.now
        await uow.record(_client_change(client, org.code, Action.REVOKED))
    return client


async def authenticate_client(
    session: AsyncSession, client_id: str, secret: str
) -> tuple[Client, Organisation]:
    """Check a client's credentials; unknown id and wrong secret are indistinguishable."""
    client = await ClientRepository(session).by_client_id(client_id[:64])
    stored = client.secret_hash if client is not None else DUMMY_HASH
    ok = await anyio.to_thread.run_sync(verify_secret, secret[:512], stored)
    if client is None or not ok or not client.active:
        raise InvalidClient("unknown client or wrong secret")
    org = await OrganisationRepository(session).by_id(client.organisation_id)
    if org is None or not org.active:
        raise InvalidClient("the client's organisation is deactivated")
    return client, org
