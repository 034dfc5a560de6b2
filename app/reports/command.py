"""``registry report PERIOD``: the same bytes ``GET /v1/reports/{period}`` serves, to a file."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from app.config import get_settings
from app.db.ready import migrated_database
from app.errors import AppError
from app.terminal import JsonOption, emit, err_console


def report(
    period: Annotated[str, typer.Argument(help="YYYY-H1, YYYY-H2 or YYYY (Vietnam time)")],
    fmt: Annotated[str, typer.Option("--format", help="json, csv, xlsx or html")] = "json",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="write here (default: stdout)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write the six-month or yearly report (exit 1 on a bad period or format)."""
    from app.reports.periods import parse_period
    from app.reports.render import check_format, render_report

    async def runner() -> tuple[bytes, str]:
        check_format(fmt)  # a typo in the arguments is named before the database is
        parse_period(period)
        async with migrated_database(get_settings()) as db:
            return await render_report(db, period, fmt)

    try:
        body, media_type = asyncio.run(runner())
    except AppError as exc:
        err_console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(code=1) from None
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    output.write_bytes(body)
    emit(
        {
            "period": period,
            "format": fmt,
            "media_type": media_type,
            "file": str(output),
            "bytes": len(body),
        },
        as_json,
        "report written",
    )
