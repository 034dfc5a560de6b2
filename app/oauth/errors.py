"""RFC 6749 §5.2 error answers of the token endpoint (SPEC §8 "Token endpoint").

The token endpoint is the one place that does not answer problem+json: OAuth clients
read ``{"error", "error_description"}`` with ``application/json``. Every answer of the
endpoint, success or error, carries ``Cache-Control: no-store`` and ``Pragma: no-cache``
(RFC 6749 §5.1).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="registry"'}

ErrorCode = Literal[
    "invalid_request",
    "invalid_client",
    "unsupported_grant_type",
    "invalid_scope",
    "temporarily_unavailable",
    "server_error",
]


class OAuthErrorBody(BaseModel):
    """The body of every error answer of the token endpoint."""

    error: ErrorCode = Field(description="RFC 6749 §5.2 error code")
    error_description: str = Field(description="Human-readable explanation, ASCII")


class OAuthError(Exception):
    """An error answer of the token endpoint, rendered as RFC 6749 §5.2 JSON."""

    def __init__(
        self,
        error: ErrorCode,
        description: str,
        *,
        status: int = 400,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.error: ErrorCode = error
        self.description = _description_text(description)
        self.status = status
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        body = OAuthErrorBody(error=self.error, error_description=self.description)
        return OAuthJSONResponse(
            body.model_dump(), status_code=self.status, headers={**self.headers, **NO_STORE}
        )


class OAuthJSONResponse(JSONResponse):
    """``application/json`` without a charset parameter, ASCII-only (RFC 6749 §5.1)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _description_text(text: str) -> str:
    """RFC 6749 §5.2: error_description is printable ASCII without '"' and '\\'."""
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in text)[:200]


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)


def invalid_client(description: str, *, basic: bool) -> OAuthError:
    """401; with the Basic challenge when the client tried HTTP Basic (RFC 6749 §5.2)."""
    return OAuthError(
        "invalid_client", description, status=401, headers=BASIC_CHALLENGE if basic else None
    )


def _documented(description: str, example: dict[str, str], **headers: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": description,
        "model": OAuthErrorBody,
        "content": {"application/json": {"example": example}},
    }
    if headers:
        out["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    return out


def oauth_error_responses() -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of the token endpoint: its RFC 6749 §5.2 answers."""
    return {
        400: _documented(
            "invalid_request, unsupported_grant_type or invalid_scope",
            {"error": "invalid_request", "error_description": "grant_type is missing"},
        ),
        401: _documented(
            "invalid_client: unknown client, wrong secret, revoked client or deactivated org",
            {"error": "invalid_client", "error_description": "unknown client or wrong secret"},
            **{"WWW-Authenticate": 'Basic realm="registry", when HTTP Basic was used'},
        ),
        429: _documented(
            "Too many failed client authentications from this address or for this client",
            {
                "error": "temporarily_unavailable",
                "error_description": "too many failed client authentications",
            },
            **{"Retry-After": "seconds until the limit resets"},
        ),
        503: _documented(
            "The database is temporarily unavailable",
            {"error": "temporarily_unavailable", "error_description": "retry shortly"},
            **{"Retry-After": "seconds to wait"},
        ),
    }
