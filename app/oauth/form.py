"""Reading a token request (RFC 6749 §2.3.1, §3.2, §4.4.2) without FastAPI's validation.

The form is parsed here rather than by ``Form(...)`` parameters, so every malformed
request is a 400 ``invalid_request`` with the OAuth body instead of a 422 problem:

- the body must be ``application/x-www-form-urlencoded`` and UTF-8;
- a parameter sent more than once is refused (§3.2); one sent empty counts as omitted;
- unrecognised parameters are ignored (§3.2);
- a NUL byte or a lone surrogate in any field is refused (SPEC §8 "Text"): a surrogate
  cannot be percent-encoded as valid UTF-8, so strict decoding refuses it;
- the credentials come either in HTTP Basic (both parts form-urlencoded inside, §2.3.1)
  or as ``client_id`` + ``client_secret`` in the body, never both (§2.3).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus

from fastapi import Request

from app.oauth.errors import OAuthError, invalid_request
from app.text import is_clean

FORM_TYPE = "application/x-www-form-urlencoded"
# The longest value each parameter may have; anything longer is invalid_request.
MAX_LENGTHS = {"grant_type": 64, "client_id": 64, "client_secret": 512, "scope": 400}
MAX_FIELDS = 32
GRANT_TYPE = "client_credentials"


@dataclass(frozen=True)
class TokenRequest:
    grant_type: str
    client_id: str
    client_secret: str
    scope: str | None
    # Whether the client authenticated with HTTP Basic (its 401 then carries the challenge).
    basic: bool


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """The (client_id, secret) of an ``Authorization: Basic`` header, None without one."""
    scheme, _, encoded = (header or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise invalid_request("malformed HTTP Basic credentials") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise invalid_request("malformed HTTP Basic credentials")
    # RFC 6749 §2.3.1: both parts are application/x-www-form-urlencoded inside Basic.
    try:
        client_id = unquote_plus(client_id, errors="strict")
        secret = unquote_plus(secret, errors="strict")
    except UnicodeDecodeError:
        raise invalid_request("malformed HTTP Basic credentials") from None
    if not (is_clean(client_id) and is_clean(secret)):  # "%00" would reach the database
        raise invalid_request("malformed HTTP Basic credentials")
    if not client_id or not secret:
        raise invalid_request("client credentials missing")
    return client_id, secret


def _form_fields(request: Request, body: bytes) -> dict[str, str]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM_TYPE:
        raise invalid_request(f"the body must be {FORM_TYPE}")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise invalid_request("the body is not a UTF-8 form") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name not in MAX_LENGTHS:
            continue  # RFC 6749 §3.2: unrecognised parameters are ignored
        if name in fields:
            raise invalid_request(f"{name} is sent more than once")
        if not is_clean(value):
            raise invalid_request(f"{name} contains a NUL byte or a lone surrogate")
        if len(value) > MAX_LENGTHS[name]:
            raise invalid_request(f"{name} is longer than {MAX_LENGTHS[name]} characters")
        fields[name] = value
    # RFC 6749 §3.2: a parameter sent without a value is treated as omitted.
    return {name: value for name, value in fields.items() if value}


async def read_token_request(request: Request) -> TokenRequest:
    """The validated token request, or an ``invalid_request`` OAuthError."""
    fields = _form_fields(request, await request.body())
    grant_type = fields.get("grant_type")
    if grant_type is None:
        raise invalid_request("grant_type is missing")
    if grant_type != GRANT_TYPE:
        raise OAuthError("unsupported_grant_type", f"only {GRANT_TYPE} is supported")
    basic = basic_credentials(request.headers.get("authorization"))
    if basic is not None:
        if "client_secret" in fields:
            raise invalid_request("client credentials sent both in HTTP Basic and in the body")
        # A client_id in the body beside Basic is tolerated only when it names the same client.
        if fields.get("client_id", basic[0]) != basic[0]:
            raise invalid_request("client credentials sent both in HTTP Basic and in the body")
        client_id, secret = basic
    else:
        client_id, secret = fields.get("client_id", ""), fields.get("client_secret", "")
        if not client_id or not secret:
            raise invalid_request("client credentials missing")
    return TokenRequest(
        grant_type=grant_type,
        client_id=client_id,
        client_secret=secret,
        scope=fields.get("scope"),
        basic=basic is not None,
    )
