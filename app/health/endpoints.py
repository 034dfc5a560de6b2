from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text

from app.framework_errors import NotReady
from app.problems import ProblemResponse, problem

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process is up and serving."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "not ready"}})
async def readyz(request: Request) -> Any:
    """Readiness: database reachable, schema at the migrations' head, mirror fresh."""
    runtime = request.app.state.runtime
    if not runtime.ready:
        return _unready("starting or shutting down")
    try:
        async with runtime.db.read_session() as session:
            version = (
                await session.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar_one_or_none()
    except Exception:  # any database fault means "not ready", never a 500
        return _unready("database unreachable")
    if version != runtime.schema_head:
        return _unready(f"schema at {version}, expected {runtime.schema_head}")
    if runtime.mirror.state_error is not None:
        return _unready(runtime.mirror.state_error)
    if not await runtime.mirror.ensure_fresh():
        return _unready("listing index is stale")
    return {"status": "ready", "schema": version, "registry_version": runtime.mirror.seq}


def _unready(reason: str) -> ProblemResponse:
    return problem(503, NotReady.type_slug, NotReady.title, reason, headers={"Retry-After": "1"})
