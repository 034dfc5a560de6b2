"""``/docs`` (Swagger UI), ``/redoc`` and ``/problems/``: served offline, outside the schema.

Nothing on these pages comes from another host: the assets are vendored (app/static/),
and each page's Content-Security-Policy allows its own inline block by hash and 'self'
for the rest, so even a stray reference to a CDN would not load.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from app.apidocs.assets import asset_url, mount_assets
from app.apidocs.catalogue import catalogue
from app.apidocs.csp import policy_for
from app.apidocs.pages import index_page, problem_page
from app.errors import NotFound, problem_responses

router = APIRouter(include_in_schema=False)
OPENAPI_URL = "/openapi.json"
TITLE = "Suspicious-account registry"
# Swagger UI asks the public validator for a badge unless told not to.
SWAGGER_PARAMETERS = {"validatorUrl": None, "displayRequestDuration": True}


class ProblemTypeNotFound(NotFound):
    title = "Problem type not found"


def _html(text: str, **directives: str) -> HTMLResponse:
    """A page with its own policy (img-src data: is the empty favicon of the problem pages)."""
    headers = {"Content-Security-Policy": policy_for(text, **directives)}
    return HTMLResponse(text, headers=headers)


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


@lru_cache(maxsize=8)
def swagger_page(root: str) -> tuple[str, str]:
    body = get_swagger_ui_html(
        openapi_url=root + OPENAPI_URL,
        title=f"{TITLE} – Swagger UI",
        swagger_js_url=asset_url(root, "swagger-ui", "swagger-ui-bundle.js"),
        swagger_css_url=asset_url(root, "swagger-ui", "swagger-ui.css"),
        swagger_favicon_url=asset_url(root, "swagger-ui", "favicon-32x32.png"),
        swagger_ui_parameters=SWAGGER_PARAMETERS,
    ).body
    html = bytes(body).decode().replace("<html>", '<html lang="en">', 1)
    return html, policy_for(
        html,
        script_src="'self'",
        style_src="'self'",
        img_src="'self' data:",
        connect_src="'self'",
    )


@lru_cache(maxsize=8)
def redoc_page(root: str) -> tuple[str, str]:
    body = get_redoc_html(
        openapi_url=root + OPENAPI_URL,
        title=f"{TITLE} – ReDoc",
        redoc_js_url=asset_url(root, "redoc", "redoc.standalone.js"),
        redoc_favicon_url=asset_url(root, "swagger-ui", "favicon-32x32.png"),
        with_google_fonts=False,
    ).body
    html = bytes(body).decode().replace("<html>", '<html lang="en">', 1)
    # ReDoc's bundle inserts <style> elements as it loads, before it could read a nonce
    # (tried: its nonce option reaches only some of them): inline styles are allowed on
    # this page alone. Scripts stay 'self' only, and nothing may come from another host.
    return html, policy_for(
        html,
        script_src="'self'",
        style_src="'self' 'unsafe-inline'",
        img_src="'self' data:",
        connect_src="'self'",
        worker_src="blob:",  # its search index runs in a worker it builds itself
    )


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    """The interactive API reference (Swagger UI), from the service's own assets."""
    html, policy = swagger_page(_root(request))
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})


@router.get("/redoc", response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    """The API reference as one document (ReDoc), from the service's own assets."""
    html, policy = redoc_page(_root(request))
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})


@router.get("/problems/", response_class=HTMLResponse)
async def problem_index() -> HTMLResponse:
    """Every problem type the API answers, with its status and title."""
    return _html(index_page(list(catalogue().values())), img_src="data:")


@router.get(
    "/problems/{slug}",
    response_class=HTMLResponse,
    responses=problem_responses(ProblemTypeNotFound),
)
async def problem_type(slug: str) -> HTMLResponse:
    """What one problem type means and what the client should do about it."""
    found = catalogue().get(slug)
    if found is None:
        raise ProblemTypeNotFound("no such problem type; /problems/ lists them all")
    return _html(problem_page(found), img_src="data:")


def install_docs(app: FastAPI) -> None:
    """The documentation routes and their assets (the app is built with docs_url=None)."""
    app.include_router(router)
    mount_assets(app)
