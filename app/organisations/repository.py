from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Client, Organisation


class OrganisationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_code(self, code: str) -> Organisation | None:
        stmt = select(Organisation).where(Organisation.code == code)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_id(self, org_id: int) -> Organisation | None:
        return await self.session.get(Organisation, org_id)

    async def all(self) -> list[Organisation]:
        stmt = select(Organisation).order_by(Organisation.code)
        return list((await self.session.execute(stmt)).scalars())

    async def page(self, *, after: str | None, limit: int) -> list[Organisation]:
        """Organisations in code order, from just after ``after``."""
        stmt = select(Organisation).order_by(Organisation.code).limit(limit)
        if after is not None:
            stmt = stmt.where(Organisation.code > after)
        return list((await self.session.execute(stmt)).scalars())

    async def add(self, org: Organisation) -> Organisation:
        self.session.add(org)
        await self.session.flush()
        return org


class ClientRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_client_id(self, client_id: str) -> Client | None:
        stmt = select(Client).where(Client.client_id == client_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def with_organisations(self) -> list[tuple[Client, Organisation]]:
        stmt = select(Client, Organisation).join(
            Organisation, Organisation.id == Client.organisation_id
        )
        return [(c, o) for c, o in (await self.session.execute(stmt)).all()]

    async def page(
        self, *, org_id: int | None, after: tuple[datetime, str] | None, limit: int
    ) -> list[tuple[Client, Organisation]]:
        """Clients oldest first (ties by ``client_id``), of one organisation or of all."""
        stmt = (
            select(Client, Organisation)
            .join(Organisation, Organisation.id == Client.organisation_id)
            .order_by(Client.created_at, Client.client_id)
            .limit(limit)
        )
        if org_id is not None:
            stmt = stmt.where(Client.organisation_id == org_id)
        if after is not None:
            stmt = stmt.where(tuple_(Client.created_at, Client.client_id) > tuple_(*after))
        return [(c, o) for c, o in (await self.session.execute(stmt)).all()]

    async def add(self, client: Client) -> Client:
        self.session.add(client)
        await self.session.flush()
        return client
