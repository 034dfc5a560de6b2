"""Mounting the console on the application."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.config import Settings
from app.console import (
    audit,
    bulletins,
    citizen_reports,
    disputes,
    endpoints,
    holds,
    imports,
    queue,
    recovery,
    reports,
    search,
    work,
)


def install_console(app: FastAPI) -> None:
    routers = (endpoints, work, queue, disputes, holds, search, audit, imports, recovery, reports)
    for module in (*routers, citizen_reports, bulletins):
        app.include_router(module.router)
    # Served by the service itself: nothing on a console page comes from another host.
    static = StaticFiles(directory=Path(__file__).parent / "static")
    app.mount("/console/static", static, name="console-static")


def upload_body_limits(settings: Settings) -> dict[str, int]:
    """The request-body limits of the console's upload paths (the middleware's backstop)."""
    return {imports.UPLOAD_PATH: imports.backstop_limit(settings)}
