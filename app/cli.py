"""The ``registry`` command line (SPEC §7), configured by ``REGISTRY_*`` variables."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.config import Settings, get_settings
from app.console import JsonOption, emit, err_console
from app.db.engine import create_database
from app.db.migrations import upgrade_to_head
from app.db.unit_of_work import UnitOfWork, unit_of_work
from app.errors import AppError
from app.imports.command import import_file
from app.reports.command import report

T = TypeVar("T")

cli = typer.Typer(
    help="Suspicious-account registry", no_args_is_help=True, pretty_exceptions_enable=False
)
org_cli = typer.Typer(help="Organisations", no_args_is_help=True)
client_cli = typer.Typer(help="API clients", no_args_is_help=True)
key_cli = typer.Typer(help="Token signing keys", no_args_is_help=True)
audit_cli = typer.Typer(help="The audit chain", no_args_is_help=True)
cli.add_typer(org_cli, name="org")
cli.add_typer(client_cli, name="client")
cli.add_typer(key_cli, name="key")
cli.add_typer(audit_cli, name="audit")
cli.command("import")(import_file)
cli.command("report")(report)


def run_in_transaction(
    work: Callable[[UnitOfWork], Awaitable[T]], settings: Settings | None = None
) -> T:
    """Run ``work`` in one unit of work against the configured database."""

    async def runner() -> T:
        db = create_database(settings or get_settings())
        try:
            async with unit_of_work(db, Actor.command_line()) as uow:
                return await work(uow)
        finally:
            await db.dispose()

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

    settings = get_settings()
    if migrate_first:
        upgrade_to_head(settings.database_url)
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
    """Expire unconfirmed reports past their TTL (also runs inside `registry serve`)."""
    from app.flags.expiry import expire_due_flags

    async def runner() -> int:
        db = create_database(get_settings())
        try:
            return await expire_due_flags(db)
        finally:
            await db.dispose()

    emit({"expired": asyncio.run(runner())}, as_json, "expiry")


def run_read(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one read session against the configured database."""

    async def runner() -> T:
        db = create_database(get_settings())
        try:
            async with db.read_session() as session:
                return await work(session)
        finally:
            await db.dispose()

    return asyncio.run(runner())


def _fail(message: str, code: int = 2) -> typer.Exit:
    from rich.markup import escape

    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=code)


@audit_cli.command("verify")
def audit_verify(
    checkpoint: Annotated[
        Path | None, typer.Option(help="a checkpoint file (JSON) to check the chain against")
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="checkpoint public key: PEM, or the JWKS of /v1/audit/checkpoint-keys "
            "(default: derived from REGISTRY_CHECKPOINT_KEY_FILE if that exists)",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Verify the hash chain straight from the database, and a checkpoint if given.

    Exit 1 when the chain or the checkpoint does not verify; 2 when the checkpoint or key
    file cannot be used. Never creates a key.
    """
    from app.audit.checkpoint import (
        CheckpointError,
        check_checkpoint,
        configured_public_keys,
        load_public_keys,
        parse_checkpoint,
    )
    from app.audit.verify import verify_chain

    settings = get_settings()
    if public_key is not None and checkpoint is None:
        raise _fail("--public-key checks a checkpoint: give --checkpoint FILE too")
    if checkpoint is not None:
        # Everything about the files is settled before the database is touched.
        try:
            if checkpoint.is_dir() or not checkpoint.exists():
                raise CheckpointError(f"{checkpoint}: no such checkpoint file")
            if checkpoint.stat().st_size > 64 * 1024:
                raise CheckpointError(f"{checkpoint}: too large to be a checkpoint")
            document = parse_checkpoint(checkpoint.read_text(encoding="utf-8", errors="replace"))
            if public_key is not None:
                keys = load_public_keys(public_key)
            else:
                keys = configured_public_keys(settings.checkpoint_key_file)
                if not keys:
                    raise CheckpointError(
                        f"no checkpoint key at {settings.checkpoint_key_file}; give the "
                        "checkpoint public key with --public-key FILE"
                    )
        except (CheckpointError, OSError) as exc:
            raise _fail(str(exc)) from None
    from sqlalchemy.exc import SQLAlchemyError

    from app.db.files import sqlite_file

    database_file = sqlite_file(settings.database_url)
    if database_file is not None and not database_file.is_file():
        # Connecting would create an empty file: an auditor's typo must not look like a chain.
        raise _fail(f"no SQLite database file at {database_file} (REGISTRY_DATABASE_URL)")
    try:
        result = run_read(verify_chain).model_dump()
        if checkpoint is not None:
            check = run_read(lambda s: check_checkpoint(s, document, keys))
            result["checkpoint"] = check.as_dict()
            result["ok"] = result["ok"] and check.ok
    except (SQLAlchemyError, OSError) as exc:
        raise _fail(f"cannot read the audit chain from the database: {exc}") from None
    emit(result, as_json, "audit chain")
    if not result["ok"]:
        raise typer.Exit(code=1)


@audit_cli.command("checkpoint")
def audit_checkpoint(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write it here")] = None,
    as_json: JsonOption = False,
) -> None:
    """Sign the chain head with the checkpoint key (kept outside the database).

    Writes the JSON checkpoint document (head_seq, head_hash, created_at, kid, signature).
    The key file REGISTRY_CHECKPOINT_KEY_FILE is created (0600) on the first checkpoint.
    """
    import json

    from app.audit.checkpoint import CheckpointError, make_checkpoint

    settings = get_settings()
    try:
        signed = run_read(lambda s: make_checkpoint(s, settings.checkpoint_key_file))
    except CheckpointError as exc:
        raise _fail(str(exc)) from None
    except RuntimeError as exc:
        raise _fail(str(exc), code=1) from None
    document = signed.document()
    if output is not None:
        output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    emit(
        {
            **document,
            "seq": signed.head_seq,
            "hash": signed.head_hash,
            "file": str(output) if output else None,
        },
        as_json,
        "checkpoint signed",
    )


@audit_cli.command("public-key")
def audit_public_key(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write it here")] = None,
    as_json: JsonOption = False,
) -> None:
    """Export the checkpoint public key (PEM) for auditors; never creates a key."""
    from app.audit.checkpoint import CheckpointError, configured_public_keys, public_pem

    key_file = get_settings().checkpoint_key_file
    try:
        keys = configured_public_keys(key_file)
    except CheckpointError as exc:
        raise _fail(str(exc)) from None
    if not keys:
        raise _fail(f"no checkpoint key at {key_file}; `registry audit checkpoint` creates it")
    kid, key = next(iter(keys.items()))
    pem = public_pem(key).decode("ascii")
    if output is not None:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(pem)
    if as_json:
        emit({"kid": kid, "public_key": pem, "file": str(output) if output else None}, True, "")
    elif output is None:
        typer.echo(pem, nl=False)
    else:
        emit({"kid": kid, "file": str(output)}, False, "checkpoint public key")


def main() -> None:
    cli()
