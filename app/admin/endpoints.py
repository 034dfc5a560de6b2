"""Administration over HTTP (SPEC §9): organisations and their API clients.

The same service functions as ``registry org ...`` and ``registry client ...``; every
change is a chained change event by the calling operator's client.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request

from app.admin import service
from app.admin.auth import Administrator
from app.admin.policy import SelfLockout
from app.admin.schemas import (
    ClientPage,
    OrganisationPage,
    client_read,
    organisation_read,
    without_secret,
)
from app.db.session import ReadSession, resource_response, writing
from app.db.unit_of_work import UnitOfWork
from app.errors import (
    AUTH_ERRORS,
    IdempotencyKeyReused,
    InvalidInput,
    PreconditionRequired,
    StaleVersion,
    problem_responses,
)
from app.idempotency.service import idempotent_create
from app.organisations.schemas import (
    ClientCreate,
    ClientCreated,
    ClientRead,
    OrganisationCreate,
    OrganisationRead,
    SecretRotated,
)
from app.organisations.service import (
    ClientNotFound,
    ClientRevoked,
    OrganisationExists,
    OrganisationInactive,
    OrganisationNotFound,
    create_client,
    create_organisation,
    get_client,
    get_organisation,
    reactivate_organisation,
    rotate_client_secret,
)
from app.pagination import Cursor, Limit
from app.preconditions import IfMatch

router = APIRouter(tags=["admin"])

OrgCodePath = Annotated[str, Path(min_length=1, max_length=64, description="organisation code")]
ClientIdPath = Annotated[str, Path(min_length=1, max_length=64, description="client_id")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]

ORG_CHANGE_ERRORS = problem_responses(
    *AUTH_ERRORS, OrganisationNotFound, SelfLockout, PreconditionRequired, StaleVersion
)
CLIENT_CHANGE_ERRORS = problem_responses(
    *AUTH_ERRORS, ClientNotFound, SelfLockout, ClientRevoked, PreconditionRequired, StaleVersion
)


@router.get(
    "/v1/admin/organisations",
    response_model=OrganisationPage,
    responses=problem_responses(*AUTH_ERRORS, InvalidInput),
)
async def list_organisations(
    session: ReadSession, actor: Administrator, limit: Limit = 100, cursor: Cursor = None
) -> OrganisationPage:
    """Every organisation, in code order, cursor-paginated."""
    return await service.organisation_page(session, cursor=cursor, limit=limit)


@router.post(
    "/v1/admin/organisations",
    status_code=201,
    response_model=OrganisationRead,
    responses=problem_responses(
        *AUTH_ERRORS, InvalidInput, OrganisationExists, IdempotencyKeyReused
    ),
)
async def create_organisation_endpoint(
    request: Request,
    body: OrganisationCreate,
    actor: Administrator,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Create an organisation (as `registry org create`). Banks carry a BIN or bank code,
    e-wallets a wallet code, other kinds none; an existing code is a 409. Send
    `Idempotency-Key` to make retries safe."""

    async def create(uow: UnitOfWork) -> tuple[OrganisationRead, int, str]:
        org = await create_organisation(uow, **body.model_dump())
        return organisation_read(org), org.version, f"/v1/admin/organisations/{org.code}"

    return await idempotent_create(request, actor, body, create)


@router.get(
    "/v1/admin/organisations/{code}",
    response_model=OrganisationRead,
    responses=problem_responses(*AUTH_ERRORS, OrganisationNotFound),
)
async def read_organisation(code: OrgCodePath, session: ReadSession, actor: Administrator) -> Any:
    """One organisation, with its version as `ETag`."""
    org = await get_organisation(session, code)
    return resource_response(organisation_read(org), org.version)


@router.post(
    "/v1/admin/organisations/{code}/deactivate",
    response_model=OrganisationRead,
    responses=ORG_CHANGE_ERRORS,
)
async def deactivate_organisation_endpoint(
    request: Request, code: OrgCodePath, actor: Administrator, if_match: IfMatch = None
) -> Any:
    """Deactivate an organisation (as `registry org deactivate`): its clients are refused
    tokens and every token already issued to them stops working at once. Requires
    `If-Match`. Your own organisation is a 409 (`self-lockout`). An organisation already
    deactivated is answered as it is, with no new event."""
    async with writing(request, actor) as uow:
        org = await service.deactivate(uow, code, if_match)
        read = organisation_read(org)
    return resource_response(read, read.version)


@router.post(
    "/v1/admin/organisations/{code}/reactivate",
    response_model=OrganisationRead,
    responses=ORG_CHANGE_ERRORS,
)
async def reactivate_organisation_endpoint(
    request: Request, code: OrgCodePath, actor: Administrator, if_match: IfMatch = None
) -> Any:
    """Reactivate an organisation (as `registry org reactivate`): its clients that are not
    revoked may get tokens again. Requires `If-Match`; an active organisation is answered
    as it is, with no new event."""
    async with writing(request, actor) as uow:
        org = await reactivate_organisation(uow, code, precondition=service.if_match(if_match))
        read = organisation_read(org)
    return resource_response(read, read.version)


@router.get(
    "/v1/admin/clients",
    response_model=ClientPage,
    responses=problem_responses(*AUTH_ERRORS, InvalidInput, OrganisationNotFound),
)
async def list_clients(
    session: ReadSession,
    actor: Administrator,
    org: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> ClientPage:
    """API clients, oldest first, cursor-paginated; `org` keeps one organisation's (404
    when there is no such organisation). Never a secret nor its hash."""
    return await service.client_page(session, org=org, cursor=cursor, limit=limit)


@router.post(
    "/v1/admin/clients",
    status_code=201,
    response_model=ClientCreated,
    responses=problem_responses(
        *AUTH_ERRORS,
        InvalidInput,
        OrganisationNotFound,
        OrganisationInactive,
        IdempotencyKeyReused,
    ),
)
async def create_client_endpoint(
    request: Request,
    body: ClientCreate,
    actor: Administrator,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Create an API client (as `registry client create`): `scopes` must all be allowed
    for the organisation's kind (422 otherwise). The `client_secret` is in this answer only:
    it is stored as a hash, and an `Idempotency-Key` replay answers `client_secret: null`."""

    async def create(uow: UnitOfWork) -> tuple[ClientCreated, int, str]:
        client, secret = await create_client(uow, org_code=body.org, scopes=body.scopes)
        read = client_read(client, await get_organisation(uow.session, body.org))
        created = ClientCreated(**read.model_dump(), client_secret=secret)
        return created, client.version, f"/v1/admin/clients/{client.client_id}"

    # Every answer carries `Cache-Control: no-store` (app.request_context): no cache on the
    # way keeps a secret.
    return await idempotent_create(request, actor, body, create, stored=without_secret)


@router.get(
    "/v1/admin/clients/{client_id}",
    response_model=ClientRead,
    responses=problem_responses(*AUTH_ERRORS, ClientNotFound),
)
async def read_client(client_id: ClientIdPath, session: ReadSession, actor: Administrator) -> Any:
    """One API client, with its version as `ETag`; never its secret nor its hash."""
    client, org = await get_client(session, client_id)
    return resource_response(client_read(client, org), client.version)


@router.post(
    "/v1/admin/clients/{client_id}/revoke",
    response_model=ClientRead,
    responses=CLIENT_CHANGE_ERRORS,
)
async def revoke_client_endpoint(
    request: Request, client_id: ClientIdPath, actor: Administrator, if_match: IfMatch = None
) -> Any:
    """Revoke a client (as `registry client revoke`): refused tokens from now on, and
    every token already issued to it stops working at once. Requires `If-Match`. The
    client you are calling with is a 409 (`self-lockout`). A revoked client is answered as
    it is, with no new event."""
    async with writing(request, actor) as uow:
        client = await service.revoke(uow, client_id, if_match)
        read = client_read(*await get_client(uow.session, client.client_id))
    return resource_response(read, read.version)


@router.post(
    "/v1/admin/clients/{client_id}/rotate-secret",
    response_model=SecretRotated,
    responses=CLIENT_CHANGE_ERRORS,
)
async def rotate_client_secret_endpoint(
    request: Request, client_id: ClientIdPath, actor: Administrator, if_match: IfMatch = None
) -> Any:
    """Give a client a new secret (as `registry client rotate-secret`), in this answer
    only; the old secret is refused at the token endpoint from now on. Tokens already
    issued keep working until they expire: revoke the client to end them. Requires
    `If-Match` (a retry after success is a 412, never a second rotation); a revoked client
    is a 409."""
    async with writing(request, actor) as uow:
        client, secret = await rotate_client_secret(
            uow, client_id, precondition=service.if_match(if_match)
        )
        read = client_read(*await get_client(uow.session, client.client_id))
    rotated = SecretRotated(**read.model_dump(), client_secret=secret)
    return resource_response(rotated, rotated.version)
