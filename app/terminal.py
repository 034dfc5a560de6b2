"""What every CLI command prints with: one record as a table, or as JSON with ``--json``."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def emit(data: dict[str, Any], as_json: bool, title: str) -> None:
    """Print one record as JSON or as a small table."""
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, default=str))
        return
    table = Table(title=title, show_header=False)
    # Folded, never cut with "…": an id, a hash or a secret is copied from here.
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in data.items():
        table.add_row(key, "" if value is None else str(value))
    console.print(table)
