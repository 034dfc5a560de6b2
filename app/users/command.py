"""``registry user create|roles|disable|reset``: console users (SPEC §12)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from app.config import get_settings
from app.db.unit_of_work import UnitOfWork
from app.terminal import JsonOption, console, emit
from app.users.roles import ROLE_SCOPES
from app.users.schemas import UserRead

user_cli = typer.Typer(help="Console users", no_args_is_help=True)


def enrolment_url(token: str) -> str:
    return f"{get_settings().public_url.rstrip('/')}/console/enrol/{token}"


@user_cli.command("create")
def user_create(
    org: Annotated[str, typer.Option(help="organisation code")],
    username: Annotated[str, typer.Option(help="lower case, 3-64 characters")],
    role: Annotated[str, typer.Option(help="see `registry user roles`")],
    as_json: JsonOption = False,
) -> None:
    """Create a console user; prints the one-time enrolment link (valid 3 days)."""
    from app.cli import run_in_transaction
    from app.users.service import create_user, user_read

    async def work(uow: UnitOfWork) -> tuple[UserRead, str, datetime | None]:
        user, organisation, token = await create_user(
            uow, org_code=org, username=username, role=role
        )
        return user_read(user, organisation), token, user.enrolment_expires_at

    read, token, expires = run_in_transaction(work)
    record = read.model_dump(mode="json")
    record |= {"enrolment_url": enrolment_url(token), "enrolment_expires_at": str(expires)}
    emit(record, as_json, "user created: send the enrolment link to them (shown once)")


@user_cli.command("disable")
def user_disable(user_id: str, as_json: JsonOption = False) -> None:
    """Disable a user; their sessions end at once."""
    from app.cli import run_in_transaction
    from app.users.service import disable_user, user_read

    async def work(uow: UnitOfWork) -> UserRead:
        return user_read(*await disable_user(uow, user_id))

    emit(run_in_transaction(work).model_dump(mode="json"), as_json, "user disabled")


@user_cli.command("reset")
def user_reset(user_id: str, as_json: JsonOption = False) -> None:
    """A forgotten password or lost authenticator: ends the user's sessions, discards both
    credentials and prints a new one-time enrolment link (valid 3 days)."""
    from app.cli import run_in_transaction
    from app.users.service import reset_user, user_read

    async def work(uow: UnitOfWork) -> tuple[UserRead, str, datetime | None]:
        user, organisation, token = await reset_user(uow, user_id)
        return user_read(user, organisation), token, user.enrolment_expires_at

    read, token, expires = run_in_transaction(work)
    record = read.model_dump(mode="json")
    record |= {"enrolment_url": enrolment_url(token), "enrolment_expires_at": str(expires)}
    emit(record, as_json, "credentials reset: send the new enrolment link to them (shown once)")


@user_cli.command("roles")
def user_roles(as_json: JsonOption = False) -> None:
    """Every role, the organisation kind it belongs to and its scopes."""
    rows = [
        {"kind": kind.value, "role": role.value, "scopes": sorted(scopes)}
        for (kind, role), scopes in ROLE_SCOPES.items()
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        console.print(f"{row['kind']:<10} {row['role']:<14} {' '.join(row['scopes'])}")
