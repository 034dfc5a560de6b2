"""Request-scoped sessions: one request, one transaction, committed by the endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession


async def _write_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.runtime.db.write_session() as session:
        yield session


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.runtime.db.read_session() as session:
        yield session


WriteSession = Annotated[AsyncSession, Depends(_write_session)]
ReadSession = Annotated[AsyncSession, Depends(_read_session)]


async def commit(request: Request, session: AsyncSession) -> None:
    """Commit, then bring this process's mirror up to date before the response is built.

    Called by endpoints before they build their response, so a failed commit can never
    follow a 2xx, and the caller's next lookup on this process already sees the change.
    """
    await session.commit()
    await request.app.state.runtime.mirror.refresh()


async def commit_and_respond(
    request: Request,
    session: AsyncSession,
    resource: BaseModel,
    version: int,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Serialise, commit, then answer with the resource and its ETag.

    The body is built before the commit (attributes may not be touched after it) but sent
    only once the commit succeeded.
    """
    payload = resource.model_dump_json()
    await commit(request, session)
    return Response(
        payload,
        status_code=status_code,
        media_type="application/json",
        headers={"ETag": f'"{version}"', **(headers or {})},
    )
