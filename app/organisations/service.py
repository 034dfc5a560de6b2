"""Rules for organisations and clients (SPEC §2)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.vocabulary import Action, Change, EntityType
from app.auth.client_secret import DUMMY_HASH, hash_secret, new_secret, verify_secret
from app.auth.scopes import OrgKind, parse_scopes, scopes_for_kind
from app.db.unit_of_work import UnitOfWork
from app.errors import Conflict, InvalidClient, InvalidInput, NotFound
from app.models import Client, Organisation
from app.organisations.repository import ClientRepository, OrganisationRepository
from app.organisations.schemas import ClientCreate, OrganisationCreate, validated
from app.reference.catalogue import bank_bin, ewallet_code


class OrganisationNotFound(NotFound):
    title = "Organisation not found"


class ClientNotFound(NotFound):
    title = "Client not found"


class ClientRevoked(Conflict):
    type_slug = "client-revoked"
    title = "The client is revoked"
    description = "The API client was revoked: it can no longer get tokens or change."
    remedy = "Create a new client for the organisation (POST /v1/admin/clients)."


class OrganisationInactive(Conflict):
    type_slug = "organisation-inactive"
    title = "The organisation is deactivated"
    description = "The organisation is deactivated, so nothing may be created for it."
    remedy = "Reactivate it first (POST /v1/admin/organisations/{code}/reactivate)."


class OrganisationExists(Conflict):
    type_slug = "organisation-exists"
    title = "An organisation with this code exists"
    description = "Organisation codes are unique; the problem names the existing one."
    remedy = (
        "Use the existing organisation (GET /v1/admin/organisations/{code}) or pick another code."
    )


# Called with an entity's current version just before a change is made to it (never when
# the entity is already in the state asked for): the HTTP API's If-Match check.
Precondition = Callable[[int], None]


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


def secret_digest(secret_hash: str) -> str:
    """A digest of the stored (salted, scrypt) secret hash: it names which secret is current
    so the state check sees a hash replaced behind the chain, and reveals nothing of it."""
    return hashlib.sha256(secret_hash.encode()).hexdigest()


def client_state(client: Client, org_code: str) -> dict[str, object]:
    # The secret hash itself is deliberately not part of the (audited, readable) state.
    return {
        "client_id": client.client_id,
        "org": org_code,
        "scopes": client.scopes,
        "active": client.active,
        "secret_digest": secret_digest(client.secret_hash),
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
    fields = validated(OrganisationCreate, code=code, name=name, kind=kind, institution=institution)
    institution = normalise_institution(fields.kind, fields.institution)
    repo = OrganisationRepository(uow.session)
    if await repo.by_code(fields.code) is not None:
        raise OrganisationExists(f"organisation {fields.code} already exists")
    now = uow.now
    org = await repo.add(
        Organisation(
            code=fields.code,
            name=fields.name,
            kind=fields.kind.value,
            institution=institution,
            active=True,
            version=1,
            created_at=now,
            updated_at=now,
        )
    )
    await uow.record(_organisation_change(org, Action.CREATED))
    return org


async def get_organisation(session: AsyncSession, code: str) -> Organisation:
    org = await OrganisationRepository(session).by_code(code)
    if org is None:
        raise OrganisationNotFound(f"no organisation {code}")
    return org


async def _set_organisation_active(
    uow: UnitOfWork, code: str, active: bool, precondition: Precondition | None
) -> Organisation:
    """Idempotent: an organisation already in the state asked for is left as it is, with
    no event and no precondition check (a retry of a change that was made succeeds)."""
    org = await get_organisation(uow.session, code)
    if org.active != active:
        if precondition is not None:
            precondition(org.version)
        org.active = active
        org.version += 1
        org.updated_at = uow.now
        action = Action.REACTIVATED if active else Action.DEACTIVATED
        await uow.record(_organisation_change(org, action))
    return org


async def deactivate_organisation(
    uow: UnitOfWork, code: str, *, precondition: Precondition | None = None
) -> Organisation:
    """Deactivate an organisation: its clients get no tokens, and every token already
    issued to them stops working at once."""
    return await _set_organisation_active(uow, code, False, precondition)


async def reactivate_organisation(
    uow: UnitOfWork, code: str, *, precondition: Precondition | None = None
) -> Organisation:
    """Reactivate an organisation: its clients that are not revoked may get tokens again."""
    return await _set_organisation_active(uow, code, True, precondition)


async def _hashed_new_secret() -> tuple[str, str]:
    secret = new_secret()
    return secret, await anyio.to_thread.run_sync(hash_secret, secret)


async def create_client(uow: UnitOfWork, *, org_code: str, scopes: str) -> tuple[Client, str]:
    """Create a client; returns it with its secret, which is never stored or shown again."""
    fields = validated(ClientCreate, org=org_code, scopes=scopes)
    org = await get_organisation(uow.session, fields.org)
    if not org.active:
        raise OrganisationInactive(f"organisation {org.code} is deactivated")
    requested = parse_scopes(fields.scopes)
    allowed = scopes_for_kind(org.kind)
    refused = [s for s in requested if s not in allowed]
    if not requested or refused:
        raise _field_error(
            "scopes",
            f"scopes not allowed for a {org.kind}: {' '.join(refused) or '(none given)'}; "
            f"allowed: {' '.join(sorted(allowed))}",
        )
    secret, secret_hash = await _hashed_new_secret()
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


async def get_client(session: AsyncSession, client_id: str) -> tuple[Client, Organisation]:
    client = await ClientRepository(session).by_client_id(client_id)
    if client is None:
        raise ClientNotFound(f"no client {client_id}")
    org = await OrganisationRepository(session).by_id(client.organisation_id)
    assert org is not None
    return client, org


async def revoke_client(
    uow: UnitOfWork, client_id: str, *, precondition: Precondition | None = None
) -> Client:
    """Revoke a client: tokens already issued to it stop working at once. Idempotent: a
    revoked client stays as it is, with no event and no precondition check."""
    client, org = await get_client(uow.session, client_id)
    if client.active:
        if precondition is not None:
            precondition(client.version)
        client.active = False
        client.version += 1
        client.updated_at = uow.now
        await uow.record(_client_change(client, org.code, Action.REVOKED))
    return client


async def rotate_client_secret(
    uow: UnitOfWork, client_id: str, *, precondition: Precondition | None = None
) -> tuple[Client, str]:
    """Give a client a new secret, returned once; the old secret is refused from the commit
    on. Tokens already issued keep working until they expire (revoke the client to end
    them). A revoked client is not given one (409)."""
    client, org = await get_client(uow.session, client_id)
    if not client.active:
        raise ClientRevoked(f"client {client_id} is revoked")
    if precondition is not None:
        precondition(client.version)
    secret, client.secret_hash = await _hashed_new_secret()
    client.version += 1
    client.updated_at = uow.now
    await uow.record(_client_change(client, org.code, Action.SECRET_ROTATED))
    return client, secret


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
