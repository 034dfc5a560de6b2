"""``registry backup FILE [--force]``: the command around ``app.db.backup``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from app.config import get_settings
from app.terminal import JsonOption, emit, err_console


def backup(
    file: Annotated[Path, typer.Argument(help="where the copy goes (SQLite: a .db file)")],
    force: Annotated[bool, typer.Option("--force", help="replace FILE if it exists")] = False,
    as_json: JsonOption = False,
) -> None:
    """A consistent copy of the live database, safe while `registry serve` runs.

    SQLite: the online backup API (a plain `cp` misses what is still in the WAL).
    PostgreSQL: prints the `pg_dump` and `pg_restore` commands to run, and exits 2."""
    from app.db.backup import BackupRefused, backup_sqlite, pg_commands

    settings = get_settings()
    if not settings.is_sqlite:
        commands = pg_commands(settings.database_url, file)
        if as_json:
            emit({"engine": "postgresql", **dataclasses.asdict(commands)}, True, "")
        else:
            err_console.print(
                "PostgreSQL is backed up with its own tools; run (PGPASSWORD or ~/.pgpass "
                "gives the password):",
                soft_wrap=True,
            )
            typer.echo(commands.backup)
            err_console.print("and restore into an empty database (createdb) with:")
            typer.echo(commands.restore)
        raise typer.Exit(code=2)
    try:
        done = backup_sqlite(settings.database_url, file, force=force)
    except BackupRefused as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(code=1) from None
    emit(dataclasses.asdict(done), as_json, "backup written")
