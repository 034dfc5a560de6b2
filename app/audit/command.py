"""``registry audit verify|checkpoint|public-key``: the chain, its state and its checkpoints."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.db.ready import migrated_database
from app.terminal import JsonOption, emit, err_console

T = TypeVar("T")

audit_cli = typer.Typer(help="The audit chain", no_args_is_help=True)


def run_read(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one read session against the configured database."""

    async def runner() -> T:
        async with migrated_database(get_settings()) as db, db.read_session() as session:
            return await work(session)

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

    # A missing file (an auditor's typo) is refused by `migrated_database` before anything
    # could create it: it must not look like an empty, valid chain.
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
