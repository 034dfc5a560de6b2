"""The ``registry`` command line (SPEC §7), configured by ``REGISTRY_*`` variables."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from typer.core import TyperGroup

from app.audit.command import audit_cli
from app.auth.actor import Actor
from app.config import Settings, get_settings
from app.db.backup_command import backup
from app.db.migrations import upgrade_to_head
from app.db.ready import DatabaseNotReady, migrated_database
from app.db.unit_of_work import UnitOfWork, unit_of_work
from app.errors import AppError
from app.imports.command import import_file
from app.reports.command import report
from app.terminal import JsonOption, emit, err_console
from app.users.command import user_cli

T = TypeVar("T")


class RegistryGroup(TyperGroup):
    """Every command's database trouble as the one line that says what to do."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click Context is private
        try:
            return super().invoke(ctx)
        except DatabaseNotReady as exc:  # exit 2 (usage), never a traceback
            err_console.print(
                f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(code=2) from None


cli = typer.Typer(
    cls=RegistryGroup,
    help="Suspicious-account registry",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
org_cli = typer.Typer(help="Organisations", no_args_is_help=True)
client_cli = typer.Typer(help="API clients", no_args_is_help=True)
key_cli = typer.Typer(help="Token signing keys", no_args_is_help=True)
cli.add_typer(org_cli, name="org")
cli.add_typer(client_cli, name="client")
cli.add_typer(key_cli, name="key")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(user_cli, name="user")
cli.command("import")(import_file)
cli.command("report")(report)
cli.command("backup")(backup)


def run_in_transaction(
    work: Callable[[UnitOfWork], Awaitable[T]], settings: Settings | None = None
) -> T:
    """Run ``work`` in one unit of work against the configured database."""

    async def runner() -> T:
        async with (
            migrated_database(settings or get_settings()) as db,
            unit_of_work(db, Actor.command_line()) as uow,
        ):
            return await work(uow)

    try:
        return asyncio.run(runner())
    except AppError as exc:
        err_console.print(f"[red]error:[/red] {exc.detail}")
        for error in exc.errors or []:
            err_console.print(f"  {'.'.join(map(str, error['loc']))}: {error['msg']}")
        raise typer.Exit(code=1) from None


@cli.command()
def migrate(as_json: JsonOption = False) -> None:
    """Bring the database schema to head (Alembic)."""
    settings = get_settings()
    upgrade_to_head(settings.database_url)
    emit({"schema": "head"}, as_json, "migrated")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
    migrate_first: Annotated[bool, typer.Option("--migrate/--no-migrate")] = True,
) -> None:
    """Run the API (migrates first unless --no-migrate)."""
    import uvicorn

    from app.logging_config import logging_config
    from app.metrics.multiprocess import serving_metrics

    settings = get_settings()
    if migrate_first:
        upgrade_to_head(settings.database_url)
    # Before the workers start: they inherit PROMETHEUS_MULTIPROC_DIR (app.metrics).
    with serving_metrics(workers, settings.metrics_enabled):
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            server_header=False,
            access_log=False,
            log_config=logging_config(settings.log_level),
            timeout_graceful_shutdown=20,
        )


@cli.command()
def demo(
    db_file: Annotated[str, typer.Option(help="SQLite file, recreated")] = "registry-demo.db",
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="seed and print only")] = False,
    as_json: JsonOption = False,
) -> None:
    """Fresh SQLite demo: organisations, clients, flags; prints tokens and curl examples."""
    from app.demo import prepare_demo, print_demo

    info = prepare_demo(db_file, host=host, port=port)
    print_demo(info, as_json=as_json)
    if not no_serve:
        serve(host=host, port=port, workers=1, migrate_first=False)


@org_cli.command("create")
def org_create(
    code: Annotated[str, typer.Option(help="upper-case code, e.g. VCB")],
    name: Annotated[str, typer.Option(help="display name")],
    kind: Annotated[
        str, typer.Option(help="bank|ewallet|telecom|police|regulator|auditor|operator")
    ],
    institution: Annotated[str | None, typer.Option(help="BIN or bank code; e-wallet code")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an organisation."""
    from app.organisations.service import create_organisation, organisation_state

    org = run_in_transaction(
        lambda uow: create_organisation(
            uow, code=code, name=name, kind=kind, institution=institution
        )
    )
    emit(organisation_state(org), as_json, "organisation created")


@org_cli.command("deactivate")
def org_deactivate(code: str, as_json: JsonOption = False) -> None:
    """Deactivate an organisation; its tokens stop working at once."""
    from app.organisations.service import deactivate_organisation, organisation_state

    org = run_in_transaction(lambda uow: deactivate_organisation(uow, code))
    emit(organisation_state(org), as_json, "organisation deactivated")


@org_cli.command("reactivate")
def org_reactivate(code: str, as_json: JsonOption = False) -> None:
    """Reactivate an organisation; its clients that are not revoked may get tokens again."""
    from app.organisations.service import organisation_state, reactivate_organisation

    org = run_in_transaction(lambda uow: reactivate_organisation(uow, code))
    emit(organisation_state(org), as_json, "organisation reactivated")


@client_cli.command("create")
def client_create(
    org: Annotated[str, typer.Option(help="organisation code")],
    scopes: Annotated[str, typer.Option(help='space-separated, e.g. "lookup sync"')],
    as_json: JsonOption = False,
) -> None:
    """Create an API client; prints client_id and client_secret once."""
    from app.organisations.service import create_client

    client, secret = run_in_transaction(lambda uow: create_client(uow, org_code=org, scopes=scopes))
    emit(
        {
            "client_id": client.client_id,
            "client_secret": secret,
            "org": org,
            "scopes": client.scopes,
        },
        as_json,
        "client created (the secret is shown only once)",
    )


@client_cli.command("revoke")
def client_revoke(client_id: str, as_json: JsonOption = False) -> None:
    """Revoke a client; its tokens stop working at once."""
    from app.organisations.service import revoke_client

    client = run_in_transaction(lambda uow: revoke_client(uow, client_id))
    emit({"client_id": client.client_id, "active": client.active}, as_json, "client revoked")


@client_cli.command("rotate-secret")
def client_rotate_secret(client_id: str, as_json: JsonOption = False) -> None:
    """Give a client a new secret, printed once; the old one is refused at once."""
    from app.organisations.service import rotate_client_secret

    client, secret = run_in_transaction(lambda uow: rotate_client_secret(uow, client_id))
    emit(
        {"client_id": client.client_id, "client_secret": secret, "scopes": client.scopes},
        as_json,
        "client secret rotated (the new secret is shown only once)",
    )


@key_cli.command("rotate")
def key_rotate(as_json: JsonOption = False) -> None:
    """Start signing with a new key in every process; the old one keeps verifying the
    tokens it signed before its retirement until they expire."""
    from app.auth.key_store import rotate_signing_key

    settings = get_settings()
    new, retired = run_in_transaction(
        lambda uow: rotate_signing_key(
            uow, settings.jwt_key_file, publish_delay=settings.key_publish_delay_seconds
        ),
        settings,
    )
    emit(
        {
            "kid": new.kid,
            "signs_from": new.active_from.isoformat(),
            "retired": [row.kid for row in retired],
        },
        as_json,
        "signing key rotated",
    )


@cli.command()
def expire(as_json: JsonOption = False) -> None:
    """Expire unconfirmed reports past their TTL, lapse holds not confirmed by their
    confirm_by and delete old console sessions (all also run inside `registry serve`)."""
    from app.db.types import utcnow
    from app.flags.expiry import expire_due_flags
    from app.holds.lapse import lapse_due_holds
    from app.users.cleanup import delete_old_sessions

    async def runner() -> dict[str, int]:
        settings = get_settings()
        async with migrated_database(settings) as db:
            return {
                "expired": await expire_due_flags(db),
                "lapsed_holds": await lapse_due_holds(db),
                "console_sessions_deleted": await delete_old_sessions(db, settings, utcnow()),
            }

    emit(asyncio.run(runner()), as_json, "expiry")


def main() -> None:
    try:
        cli()
    except DatabaseNotReady as exc:  # one line that says what to do, exit 2 (usage)
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
