"""What endpoints use of the database: a read session, or a unit of work for a write.

A write endpoint runs its service inside ``async with writing(request, actor) as uow``
and builds its response after the block: the commit has succeeded by then, so a failed
commit can never follow a 2xx.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db.unit_of_work import UnitOfWork, unit_of_work
from app.errors import ServiceUnavailable
from app.preconditions import etag


async def open_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.runtime.db.read_session() as session:
        yield session


ReadSession = Annotated[AsyncSession, Depends(open_read_session)]


@asynccontextmanager
async def writing(request: Request, actor: Actor) -> AsyncIterator[UnitOfWork]:
    """The request's unit of work, refreshing this process's mirror after the commit.

    Refused (503) while the state disagrees with the chain (``app.audit.startup``): the
    next change would otherwise build on, and chain, the forged rows."""
    runtime = request.app.state.runtime
    if runtime.mirror.state_error is not None:
        raise ServiceUnavailable(runtime.mirror.state_error, retry_after=60)
    async with unit_of_work(runtime.db, actor, mirror=runtime.mirror) as uow:
        yield uow


def resource_response(
    resource: BaseModel,
    version: int,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A resource with its strong ETag."""
    return Response(
        resource.model_dump_json(),
        status_code=status_code,
        media_type="application/json",
        headers={"ETag": etag(version), **(headers or {})},
    )
