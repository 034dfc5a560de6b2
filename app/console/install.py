"""Mounting the console on the application."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.console import audit, bulletins, citizen_reports, endpoints, search, work


def install_console(app: FastAPI) -> None:
    for module in (endpoints, work, search, audit, citizen_reports, bulletins):
        app.include_router(module.router)
    # Served by the service itself: nothing on a console page comes from another host.
    static = StaticFiles(directory=Path(__file__).parent / "static")
    app.mount("/console/static", static, name="console-static")
