"""The vendored Swagger UI and ReDoc assets (app/static/, see THIRD_PARTY.md there).

Each set is served under a URL that carries its version, so a browser may keep a file for
a year: an upgrade changes the URL, never the bytes behind one.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).resolve().parents[1] / "static"
SWAGGER_UI_VERSION = "5.35.0"
REDOC_VERSION = "2.5.4"
# Directory under app/static/ -> the version its files are served under.
VERSIONS = {"swagger-ui": SWAGGER_UI_VERSION, "redoc": REDOC_VERSION}
LONG_CACHE = "public, max-age=31536000, immutable"


def asset_url(root_path: str, name: str, file: str) -> str:
    """The URL of ``file`` of the asset set ``name`` ("swagger-ui" or "redoc")."""
    return f"{root_path}/static/{name}/{VERSIONS[name]}/{file}"


class VersionedStaticFiles(StaticFiles):
    """Static files whose URLs are versioned: cacheable for a year by anyone."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = LONG_CACHE
        return response


def mount_assets(app: FastAPI) -> None:
    for name, version in VERSIONS.items():
        app.mount(
            f"/static/{name}/{version}",
            VersionedStaticFiles(directory=STATIC / name),
            name=f"static-{name}",
        )
