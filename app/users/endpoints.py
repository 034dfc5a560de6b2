"""Console users over HTTP (SPEC §9 ``/v1/admin/users``): the same service functions as
``registry user ...``; every change is a chained change event by the operator's client."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from app.admin.auth import Administrator
from app.db.session import ReadSession, resource_response, writing
from app.errors import AUTH_ERRORS, InvalidInput, problem_responses
from app.models import Organisation, StaffUser
from app.organisations.service import OrganisationInactive, OrganisationNotFound
from app.pagination import Cursor, Limit, decode_cursor, encode_cursor
from app.users.schemas import UserCreate, UserCreated, UserPage, UserRead
from app.users.service import (
    UserDisabled,
    UserExists,
    UserNotFound,
    create_user,
    disable_user,
    get_user,
    list_users,
    reset_user,
    user_read,
)

router = APIRouter(tags=["admin"])

UserId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]


@router.get(
    "/v1/admin/users",
    response_model=UserPage,
    responses=problem_responses(*AUTH_ERRORS, InvalidInput, OrganisationNotFound),
)
async def list_users_endpoint(
    session: ReadSession,
    actor: Administrator,
    org: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> UserPage:
    """Console users in username order, cursor-paginated; `org` keeps one organisation's.
    Never a password hash, a TOTP secret or an enrolment link."""
    after = str(decode_cursor(cursor, 1)[0]) if cursor else None
    rows = await list_users(session, org_code=org, after=after, limit=limit + 1)
    items = [user_read(*row) for row in rows[:limit]]
    next_cursor = encode_cursor([items[-1].username]) if len(rows) > limit else None
    return UserPage(items=items, next_cursor=next_cursor)


@router.post(
    "/v1/admin/users",
    status_code=201,
    response_model=UserCreated,
    responses=problem_responses(
        *AUTH_ERRORS, InvalidInput, OrganisationNotFound, OrganisationInactive, UserExists
    ),
)
async def create_user_endpoint(request: Request, body: UserCreate, actor: Administrator) -> Any:
    """Create a console user (as `registry user create`) with a role of their organisation's
    kind (`registry user roles`). The answer's `enrolment_path`, under this service's
    address, is the one-time link where they set a password and an authenticator; it is
    shown once. A retry of the same username is a 409 `user-exists`."""
    async with writing(request, actor) as uow:
        user, org, token = await create_user(
            uow, org_code=body.org, username=body.username, role=body.role
        )
        created = _with_enrolment(user, org, token)
    return resource_response(
        created, user.version, status_code=201, headers={"Location": f"/v1/admin/users/{user.id}"}
    )


def _with_enrolment(user: StaffUser, org: Organisation, token: str) -> UserCreated:
    assert user.enrolment_expires_at is not None
    return UserCreated(
        **user_read(user, org).model_dump(),
        enrolment_path=f"/console/enrol/{token}",
        enrolment_expires_at=user.enrolment_expires_at,
    )


@router.get(
    "/v1/admin/users/{user_id}",
    response_model=UserRead,
    responses=problem_responses(*AUTH_ERRORS, UserNotFound),
)
async def read_user(user_id: UserId, session: ReadSession, actor: Administrator) -> Any:
    """One console user, with its version as `ETag`."""
    user, org = await get_user(session, user_id)
    return resource_response(user_read(user, org), user.version)


@router.post(
    "/v1/admin/users/{user_id}/disable",
    response_model=UserRead,
    responses=problem_responses(*AUTH_ERRORS, UserNotFound),
)
async def disable_user_endpoint(request: Request, user_id: UserId, actor: Administrator) -> Any:
    """Disable a console user: every session of theirs ends at once and they can no longer
    sign in. A user already disabled is answered as it is, with no new event."""
    async with writing(request, actor) as uow:
        user, org = await disable_user(uow, user_id)
        read = user_read(user, org)
    return resource_response(read, user.version)


@router.post(
    "/v1/admin/users/{user_id}/reset",
    response_model=UserCreated,
    responses=problem_responses(*AUTH_ERRORS, UserNotFound, UserDisabled),
)
async def reset_user_endpoint(request: Request, user_id: UserId, actor: Administrator) -> Any:
    """Reset a console user's credentials (a forgotten password or a lost authenticator):
    their sessions end, the password and TOTP secret are discarded, and the answer's
    `enrolment_path` is a new one-time link (shown once) where they enrol again. Each call
    makes a new link; the previous one stops working. A disabled user is a 409."""
    async with writing(request, actor) as uow:
        user, org, token = await reset_user(uow, user_id)
        reset = _with_enrolment(user, org, token)
    return resource_response(reset, user.version)
