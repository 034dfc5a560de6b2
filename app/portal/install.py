"""Mounting the portal: its pages, its API, its stylesheet.

Every portal route is an exact path (``/``, ``/kiem-tra``, ``/thu-doan``, ``/canh-bao``,
``/bao-cao``, ``/feeds/canh-bao.xml``) and its stylesheet lives under ``/portal/static``,
so nothing shadows ``/v1``, ``/console``, ``/docs``, ``/problems``, ``/metrics``,
``/healthz`` or ``/readyz``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.config import Settings
from app.portal import endpoints, methods, report_form, views
from app.portal.qr import QRReader


def install_portal(app: FastAPI, settings: Settings) -> None:
    app.include_router(endpoints.router)
    for module in (views, methods, report_form):
        app.include_router(module.router)
    app.state.qr_reader = QRReader(
        settings.qr_decoders,
        min(settings.qr_upload_max_bytes, settings.max_body_bytes),
        settings.qr_max_pixels,
    )
    static = StaticFiles(directory=Path(__file__).parent / "static")
    app.mount("/portal/static", static, name="portal-static")
