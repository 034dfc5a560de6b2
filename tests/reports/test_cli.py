"""``registry report PERIOD --format F -o FILE`` writes what the API serves."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings
from app.reports.render import render_report
from tests.reports.history import History


def _wired() -> bool:
    return any(
        command.name == "report" or getattr(command.callback, "__name__", "") == "report"
        for command in cli.registered_commands
    )


@pytest.mark.skipif(not _wired(), reason="`registry report` is not wired into app/cli.py yet")
@pytest.mark.parametrize("fmt", ["csv", "json"])
async def test_cli_writes_the_report_file(
    app: FastAPI,
    history: History,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    key_file: Path,
    fmt: str,
) -> None:
    out = tmp_path / f"report.{fmt}"
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database_url)
    monkeypatch.setenv("REGISTRY_JWT_KEY_FILE", str(key_file))
    get_settings.cache_clear()
    args = ["report", "2026-H1", "--format", fmt, "-o", str(out), "--json"]
    try:
        # The command runs its own event loop: give it a thread of its own.
        result = await anyio.to_thread.run_sync(lambda: CliRunner().invoke(cli, args))
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["bytes"] == out.stat().st_size
    expected, _ = await render_report(app.state.runtime.db, "2026-H1", fmt)
    assert out.read_bytes() == expected


@pytest.mark.skipif(not _wired(), reason="`registry report` is not wired into app/cli.py yet")
def test_cli_rejects_a_bad_period(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "report.csv"
    monkeypatch.setenv("REGISTRY_DATABASE_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["report", "2026-H3", "--format", "csv", "-o", str(out)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert not out.exists()
