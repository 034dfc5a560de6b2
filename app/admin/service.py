"""Admin operations: the organisations service's own functions (the ones the command line
calls), with the admin policy and the HTTP preconditions in front of them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.admin.policy import check_not_own_client, check_not_own_organisation
from app.admin.schemas import ClientPage, OrganisationPage, client_read, organisation_read
from app.db.unit_of_work import UnitOfWork
from app.models import Client, Organisation
from app.organisations.repository import ClientRepository, OrganisationRepository
from app.organisations.service import (
    Precondition,
    deactivate_organisation,
    get_organisation,
    revoke_client,
)
from app.pagination import decode_cursor, decode_time_cursor, encode_cursor
from app.preconditions import check_if_match


def if_match(header: str | None) -> Precondition:
    """The precondition of a change over HTTP: 428 without ``If-Match``, 412 when stale."""
    return lambda version: check_if_match(header, version)


async def organisation_page(
    session: AsyncSession, *, cursor: str | None, limit: int
) -> OrganisationPage:
    after = None if cursor is None else str(decode_cursor(cursor, 1)[0])
    rows = await OrganisationRepository(session).page(after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return OrganisationPage(
        items=[organisation_read(org) for org in rows],
        next_cursor=encode_cursor([rows[-1].code]) if more else None,
    )


async def client_page(
    session: AsyncSession, *, org: str | None, cursor: str | None, limit: int
) -> ClientPage:
    """One page of clients, of organisation ``org`` (404 when there is none) or of all."""
    org_id = None if org is None else (await get_organisation(session, org)).id
    after = decode_time_cursor(cursor)
    rows = await ClientRepository(session).page(org_id=org_id, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1][0] if rows else None
    return ClientPage(
        items=[client_read(client, owner) for client, owner in rows],
        next_cursor=(
            encode_cursor([last.created_at.isoformat(), last.client_id])
            if more and last is not None
            else None
        ),
    )


async def deactivate(uow: UnitOfWork, code: str, header: str | None) -> Organisation:
    """Deactivate another organisation than the caller's own (409 for its own)."""
    check_not_own_organisation(uow.actor, code)
    return await deactivate_organisation(uow, code, precondition=if_match(header))


async def revoke(uow: UnitOfWork, client_id: str, header: str | None) -> Client:
    """Revoke another client than the one calling (409 for that one)."""
    check_not_own_client(uow.actor, client_id)
    return await revoke_client(uow, client_id, precondition=if_match(header))
