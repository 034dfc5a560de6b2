"""The OpenAPI document: FastAPI's own, made exact enough for a code generator to trust.

What FastAPI cannot see is added here, once for every operation, from the routes' own
dependency objects and from what the middleware and handlers really do:

* security: one requirement per scope the route's ``require(...)`` accepts (FastAPI merges
  a ``Security`` dependency's scopes into one requirement, which reads as "all of them");
* ``If-Match`` is required where its absence is a 428; header parameters are plain strings;
* the statuses every operation can answer: 413 and 431 (``RequestContextMiddleware``), 422
  (``check_parameters`` runs on every route), 401/403/429/503 behind a bearer token, 503
  wherever the database is read, 412/428 where ``If-Match`` is checked; all problem+json;
* response headers: ``X-Request-ID`` on every answer, ``WWW-Authenticate`` on 401/403,
  ``Retry-After`` on 429/503, the current ``ETag`` on a 412. Endpoints declare the headers
  of their own answers (``etag_response``, ``CREATED_RESPONSE``) in ``responses=``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import iter_route_contexts

from app.auth.dependencies import oauth2_scheme, route_scopes
from app.db.session import open_read_session
from app.errors import (
    InvalidInput,
    PayloadTooLarge,
    PreconditionRequired,
    RateLimited,
    ServiceUnavailable,
    StaleVersion,
)
from app.preconditions import ETAG_HEADER
from app.problems import Problem

PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}
PROBLEM_CONTENT = {"application/problem+json": {"schema": PROBLEM_SCHEMA}}

REQUEST_ID_HEADER: dict[str, Any] = {
    "description": "the request id (yours if it was sane, else a new one): quote it",
    "required": True,
    "schema": {"type": "string"},
}
RETRY_AFTER_HEADER: dict[str, Any] = {
    "description": "seconds to wait before retrying",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}


def _challenge(required: bool) -> dict[str, Any]:
    return {
        "description": "the RFC 6750 challenge (`error=` says why)",
        "required": required,
        "schema": {"type": "string"},
    }


# Statuses and the headers that always come with them (a 403 of a business rule, such as
# "not your institution", carries no challenge: only a missing scope does).
STATUS_HEADERS: dict[str, dict[str, dict[str, Any]]] = {
    "401": {"WWW-Authenticate": _challenge(True)},
    "403": {"WWW-Authenticate": _challenge(False)},
    "412": {"ETag": ETAG_HEADER},
    "429": {"Retry-After": RETRY_AFTER_HEADER},
    "503": {"Retry-After": RETRY_AFTER_HEADER},
}
TITLES = {
    "401": "Missing or invalid access token",
    "403": "The token lacks the scope this operation needs",
    "412": StaleVersion.title,
    "413": PayloadTooLarge.title,
    "422": InvalidInput.title,
    "428": PreconditionRequired.title,
    "429": RateLimited.title,
    "431": "Request headers too large",
    "503": ServiceUnavailable.title,
}
# What the middleware answers before any route runs, and what every route's parameter check
# (an unknown query parameter) can answer.
EVERY_OPERATION = ("413", "422", "431")
BEHIND_TOKEN = ("401", "403", "429", "503")

# Operations that answer RFC 6749 error bodies, never a problem+json 422.
OAUTH_ERRORS_ONLY = {("post", "/v1/oauth/token")}

# Operations whose body the app does not model (form fields) get their example here.
BODY_EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/v1/oauth/token"): {
        "grant_type": "client_credentials",
        "client_id": "cli_0123456789abcdef01234567",
        "client_secret": "the secret shown once by `registry client create`",
        "scope": "lookup",
    },
}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The document served at ``/openapi.json`` (built once, then cached on the app)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    # FastAPI documents validation errors as its own JSON shape; ours are problem+json.
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    paths = schema.get("paths", {})
    for route in iter_route_contexts(app.router.routes):
        dependant, path = getattr(route, "dependant", None), route.path_format
        if dependant is None or path is None:
            continue  # the document's own routes (/openapi.json, /docs)
        for method in sorted(route.methods or ()):
            operation = paths.get(path, {}).get(method.lower())
            if operation is not None:
                complete_operation(operation, dependant, (method.lower(), path))
    app.openapi_schema = schema
    return schema


def complete_operation(
    operation: dict[str, Any], dependant: Dependant, label: tuple[str, str]
) -> None:
    scopes = route_scopes(dependant)
    if scopes is not None:
        scheme = oauth2_scheme.scheme_name
        operation["security"] = [{scheme: [str(scope)]} for scope in scopes]
    headers = _header_parameters(operation)
    statuses = list(EVERY_OPERATION)
    if scopes is not None:
        statuses += BEHIND_TOKEN
    elif _uses_database(dependant):
        statuses.append("503")
    if "If-Match" in headers:
        headers["If-Match"]["required"] = True
        statuses += ["412", "428"]
    if label in OAUTH_ERRORS_ONLY:  # RFC 6749: any malformed request is 400 invalid_request
        statuses.remove("422")
        operation.get("responses", {}).pop("422", None)
    responses = operation.setdefault("responses", {})
    for status in statuses:
        responses.setdefault(status, {"description": TITLES[status]})
    for status, response in responses.items():
        _complete_response(status, response)
    example = BODY_EXAMPLES.get(label)
    if example is not None:
        for media in operation.get("requestBody", {}).get("content", {}).values():
            media.setdefault("example", example)


def _header_parameters(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The operation's header parameters by name, each schema a plain string: a header is
    sent or not, never ``null`` (FastAPI writes an optional one as ``anyOf`` with null)."""
    found = {}
    for parameter in operation.get("parameters", []):
        if parameter.get("in") != "header":
            continue
        schema = parameter.get("schema", {})
        branches = [b for b in schema.get("anyOf", ()) if b.get("type") != "null"]
        if len(branches) == 1:
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            parameter["schema"] = {**branches[0], **rest}
        found[parameter["name"]] = parameter
    return found


def _complete_response(status: str, response: dict[str, Any]) -> None:
    if status in TITLES:
        content = response.get("content", {})
        # FastAPI's own 422 shape, or a status declared without a body: ours is problem+json.
        fastapi_422 = "HTTPValidationError" in str(content)
        if fastapi_422 or not content:
            response["content"] = PROBLEM_CONTENT
    headers = response.setdefault("headers", {})
    headers.setdefault("X-Request-ID", REQUEST_ID_HEADER)
    for name, header in STATUS_HEADERS.get(status, {}).items():
        headers.setdefault(name, header)


def _uses_database(dependant: Dependant) -> bool:
    return any(
        sub.call is open_read_session or _uses_database(sub) for sub in dependant.dependencies
    )
