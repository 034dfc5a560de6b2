"""Console users (SPEC §12): creation with a one-time enrolment link, enrolment (password
and TOTP), sign-in, disabling. The same functions serve ``registry user ...``, the admin API
and the console; every change is a chained change event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.vocabulary import Action, Change, EntityType
from app.auth.actor import Actor
from app.db.unit_of_work import UnitOfWork
from app.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from app.models import Organisation, StaffUser
from app.organisations.service import OrganisationInactive, get_organisation
from app.users import credentials
from app.users.repository import SessionRepository, UserRepository
from app.users.roles import role_scopes, roles_for_kind
from app.users.schemas import UserCreate, UserRead, UserStatus

ENROLMENT_VALID = timedelta(days=3)


class UserNotFound(NotFound):
    title = "User not found"


class UserExists(Conflict):
    type_slug = "user-exists"
    title = "A user with this username exists"
    description = "Usernames are unique across every organisation."
    remedy = "Pick another username (for example with the organisation's code in it)."


class EnrolmentInvalid(InvalidInput):
    title = "The enrolment link or the values sent are not valid"


class LoginFailed(Unauthenticated):
    title = "Sign-in failed"


def user_state(user: StaffUser, org_code: str) -> dict[str, object]:
    """What a change event records of a user: never the password hash or TOTP secret,
    only their digest (so one swapped in by hand no longer matches the chain)."""
    return {
        "id": user.id,
        "org": org_code,
        "username": user.username,
        "role": user.role,
        "status": user.status,
        "credential_digest": credentials.credential_digest(user.password_hash, user.totp_secret),
    }


def user_read(user: StaffUser, org: Organisation) -> UserRead:
    scopes = role_scopes(org.kind, user.role) or frozenset()
    return UserRead(
        id=user.id,
        org=org.code,
        username=user.username,
        role=user.role,  # validated by pydantic
        status=user.status,
        scopes=sorted(scopes),
        created_at=user.created_at,
    )


def user_actor(user: StaffUser, org: Organisation, request_id: str | None) -> Actor:
    """The user as the actor of the services: the scopes of the role, the organisation's
    identity, and ``user:<username>`` where an API call names its client."""
    return Actor(
        org_id=org.id,
        org_code=org.code,
        org_kind=org.kind,
        institution=org.institution,
        client_id=f"user:{user.username}",
        jti=None,
        request_id=request_id,
        scopes=frozenset(role_scopes(org.kind, user.role) or ()),
    )


async def _record(uow: UnitOfWork, user: StaffUser, org: Organisation, action: Action) -> None:
    await uow.record(
        Change(
            entity_type=EntityType.USER,
            entity_id=user.id,
            entity_version=user.version,
            action=action,
            state=user_state(user, org.code),
        )
    )


async def create_user(
    uow: UnitOfWork, *, org_code: str, username: str, role: str
) -> tuple[StaffUser, Organisation, str]:
    """A new user of ``org_code``, invited: returns the one-time enrolment token."""
    try:
        fields = UserCreate(org=org_code, username=username, role=role)
    except ValueError as exc:
        raise InvalidInput(str(exc).splitlines()[0]) from None
    org = await get_organisation(uow.session, fields.org)
    if not org.active:
        raise OrganisationInactive(f"organisation {org.code} is deactivated")
    if role_scopes(org.kind, fields.role) is None:
        allowed = ", ".join(roles_for_kind(org.kind)) or "none"
        raise InvalidInput(f"a {org.kind} has no role {fields.role}; its roles: {allowed}")
    repo = UserRepository(uow.session)
    if await repo.by_username(fields.username) is not None:
        raise UserExists(f"user {fields.username} already exists")
    token = credentials.new_token()
    user = await repo.add(
        StaffUser(
            id=str(uuid.uuid4()),
            organisation_id=org.id,
            username=fields.username,
            role=fields.role.value,
            status=UserStatus.INVITED.value,
            password_hash=None,
            totp_secret=credentials.new_totp_secret(),
            totp_last_step=None,
            enrolment_hash=credentials.token_digest(token),
            enrolment_expires_at=uow.now + ENROLMENT_VALID,
            version=1,
            created_at=uow.now,
            updated_at=uow.now,
        )
    )
    await _record(uow, user, org, Action.CREATED)
    return user, org, token


async def pending_enrolment(session: AsyncSession, token: str, now: datetime) -> StaffUser:
    """The invited user whose enrolment link this is; EnrolmentInvalid otherwise."""
    found = await UserRepository(session).by_enrolment(credentials.token_digest(token))
    if found is None:
        raise EnrolmentInvalid("this enrolment link is not valid (used, replaced or unknown)")
    user, _ = found
    expires = user.enrolment_expires_at
    if user.status != UserStatus.INVITED or expires is None or expires <= now:
        raise EnrolmentInvalid("this enrolment link has expired; ask for a new one")
    return user


async def enrol_user(uow: UnitOfWork, *, token: str, password: str, code: str) -> StaffUser:
    """Set the password and prove the authenticator with one code: the user is active."""
    user = await pending_enrolment(uow.session, token, uow.now)
    if (problem := credentials.password_problem(password, user.username)) is not None:
        raise EnrolmentInvalid(problem)
    step = credentials.accepted_step(user.totp_secret, code, None, uow.now.timestamp())
    if step < 0:
        raise EnrolmentInvalid("the authenticator code is not right; check the phone's clock")
    user.password_hash = await anyio.to_thread.run_sync(credentials.hash_password, password)
    user.totp_last_step = step
    user.status = UserStatus.ACTIVE.value
    user.enrolment_hash = None
    user.enrolment_expires_at = None
    user.version += 1
    user.updated_at = uow.now
    org = await get_organisation_by_id(uow.session, user.organisation_id)
    await _record(uow, user, org, Action.ENROLLED)
    return user


async def get_organisation_by_id(session: AsyncSession, org_id: int) -> Organisation:
    from app.organisations.repository import OrganisationRepository

    org = await OrganisationRepository(session).by_id(org_id)
    assert org is not None  # a foreign key
    return org


@dataclass(frozen=True)
class SignedIn:
    user: StaffUser
    org: Organisation


async def authenticate(
    session: AsyncSession, *, username: str, password: str, code: str, now: datetime
) -> SignedIn:
    """Password and TOTP code, always both; one generic failure whatever was wrong.

    The accepted code's time step is claimed in the caller's transaction, so a code seen
    over a shoulder (or sent twice at once) cannot be used again."""
    found = await UserRepository(session).by_username(username[:64])
    user, org = found if found is not None else (None, None)
    password_hash = user.password_hash if user is not None else None
    ok = await anyio.to_thread.run_sync(credentials.verify_password, password_hash, password)
    if user is None or org is None or not ok:
        raise LoginFailed("wrong username, password or code")
    if user.status != UserStatus.ACTIVE or not org.active:
        raise LoginFailed("wrong username, password or code")
    step = credentials.accepted_step(user.totp_secret, code, user.totp_last_step, now.timestamp())
    if step < 0 or not await UserRepository(session).claim_step(user.id, step):
        raise LoginFailed("wrong username, password or code")
    return SignedIn(user, org)


async def get_user(session: AsyncSession, user_id: str) -> tuple[StaffUser, Organisation]:
    found = await UserRepository(session).by_id(user_id)
    if found is None:
        raise UserNotFound(f"no user {user_id}")
    return found


async def disable_user(uow: UnitOfWork, user_id: str) -> tuple[StaffUser, Organisation]:
    """Disable a user and end every session at once. Idempotent."""
    user, org = await get_user(uow.session, user_id)
    if user.status != UserStatus.DISABLED:
        user.status = UserStatus.DISABLED.value
        user.enrolment_hash = None
        user.version += 1
        user.updated_at = uow.now
        await _record(uow, user, org, Action.DISABLED)
    await SessionRepository(uow.session).end_all(user.id, uow.now)
    return user, org


class UserDisabled(Conflict):
    type_slug = "user-disabled"
    title = "The user is disabled"
    description = "A disabled user's credentials are not reset: they can no longer sign in."
    remedy = "Create a new user for the person if they are to work in the console again."


async def reset_user(uow: UnitOfWork, user_id: str) -> tuple[StaffUser, Organisation, str]:
    """A forgotten password or a lost authenticator: the user's password and TOTP secret
    are discarded, every session ends, and they enrol again with the new one-time link
    this returns (the old link, if any, stops working)."""
    user, org = await get_user(uow.session, user_id)
    if user.status == UserStatus.DISABLED:
        raise UserDisabled(f"user {user.username} is disabled")
    token = credentials.new_token()
    user.status = UserStatus.INVITED.value
    user.password_hash = None
    user.totp_secret = credentials.new_totp_secret()
    user.totp_last_step = None
    user.enrolment_hash = credentials.token_digest(token)
    user.enrolment_expires_at = uow.now + ENROLMENT_VALID
    user.version += 1
    user.updated_at = uow.now
    await _record(uow, user, org, Action.CREDENTIALS_RESET)
    await SessionRepository(uow.session).end_all(user.id, uow.now)
    return user, org, token


async def list_users(
    session: AsyncSession, *, org_code: str | None, after: str | None, limit: int
) -> list[tuple[StaffUser, Organisation]]:
    org_id = None
    if org_code is not None:
        org_id = (await get_organisation(session, org_code)).id
    return await UserRepository(session).page(org_id=org_id, after=after, limit=limit)
