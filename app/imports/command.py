"""``registry import FILE --org C``: bulk flags with a progress bar."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from app.config import get_settings
from app.db.ready import migrated_database
from app.errors import AppError
from app.terminal import JsonOption, emit, err_console


def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX")],
    org: Annotated[str, typer.Option(help="the reporting organisation's code")],
    as_json: JsonOption = False,
) -> None:
    """Bulk flags from CSV/XLSX: all-or-nothing per file, safe to re-run."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from app.imports.errors import ImportFileError
    from app.imports.reader import count_data_rows
    from app.imports.service import import_flags

    settings = get_settings()
    total = count_data_rows(file)

    async def runner(progress: Callable[[int], None]) -> Any:
        async with migrated_database(settings) as db:
            return await import_flags(
                db, org, file, ttl_days=settings.flag_ttl_days, progress=progress
            )

    columns = [
        *Progress.get_default_columns()[:2],
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=err_console, disable=as_json) as bar:
        task = bar.add_task(f"importing {file.name}", total=total)
        try:
            report = asyncio.run(runner(lambda done: bar.update(task, completed=done)))
        except ImportFileError as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(code=1) from None
        except AppError as exc:
            err_console.print(f"[red]error:[/red] {exc.detail}")
            raise typer.Exit(code=1) from None
    summary = {
        "file": str(file),
        "org": org,
        "rows": report.rows,
        "created": report.created,
        "skipped": report.skipped,
        "already_flagged": report.already_flagged,
        "committed": report.committed,
        "error_count": report.error_count,
        "errors": [dataclasses.asdict(e) for e in report.errors],
    }
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
    else:
        emit({k: v for k, v in summary.items() if k != "errors"}, False, "import")
    # On stderr in both modes (stdout stays one JSON document with --json); one unwrapped
    # line per error, its text never read as markup ("[...]" is common in messages).
    for error in report.errors[:50]:
        line = f"row {error.row}: {error.field}: {error.message}"
        err_console.print(line, markup=False, highlight=False, soft_wrap=True)
    if not report.committed:
        raise typer.Exit(code=1)
