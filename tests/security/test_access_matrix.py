"""Every operation of the OpenAPI document x every scope (SPEC §2).

The operation list and the scopes each operation accepts are read from ``app.openapi()`` (the
OAuth2 requirement lists the scopes of its ``require(...)``), so a new endpoint is covered
the day it is added. For each scope, every organisation kind allowed to hold it gets a client
holding only that scope. Expected:

- no or a bad token: 401 problem+json, ``WWW-Authenticate: Bearer error="invalid_token"``;
- a scope the operation does not accept: 403 problem+json, ``error="insufficient_scope"``;
- an accepted scope: anything but 401 or an insufficient-scope 403 (business rules such as
  "disputes only for your own institution" may still answer their own 403).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from app.auth.scopes import ALLOWED_KINDS, Scope
from app.config import Settings
from app.main import create_app
from tests.factories import Caller, make_caller
from tests.security.support import (
    INSUFFICIENT_SCOPE,
    INVALID_TOKEN,
    NON_OAUTH_OPERATIONS,
    PUBLIC_OPERATIONS,
    Operation,
    body_variants,
    operations,
    problem_issues,
    protected_operations,
    send,
)

# SPEC §6: the scopes each operation accepts. A declared requirement that differs is a bug
# in the declaration or in the contract; either way somebody must look.
HOLD_READERS = frozenset({"holds:write", "holds:respond", "holds:confirm", "history:read"})
SPEC_SCOPES: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/v1/lookup"): frozenset({"lookup"}),
    ("POST", "/v1/lookup/batch"): frozenset({"lookup"}),
    ("POST", "/v1/lookup/vietqr"): frozenset({"lookup"}),
    ("POST", "/v1/warnings/{warning_id}/outcome"): frozenset({"lookup"}),
    ("GET", "/v1/changes"): frozenset({"sync"}),
    ("POST", "/v1/flags"): frozenset({"flags:write"}),
    ("GET", "/v1/flags/{flag_id}"): frozenset({"flags:write", "history:read"}),
    ("GET", "/v1/flags"): frozenset({"flags:write", "history:read"}),
    ("POST", "/v1/flags/{flag_id}/confirm"): frozenset({"flags:review"}),
    ("POST", "/v1/flags/{flag_id}/reject"): frozenset({"flags:review"}),
    ("POST", "/v1/flags/{flag_id}/withdraw"): frozenset({"flags:write"}),
    ("GET", "/v1/subjects/{key}"): frozenset({"history:read"}),
    ("GET", "/v1/subjects/{key}/history"): frozenset({"history:read"}),
    ("POST", "/v1/disputes"): frozenset({"disputes:write"}),
    # "opener, disputes:resolve, history:read": openers hold disputes:write.
    ("GET", "/v1/disputes/{dispute_id}"): frozenset(
        {"disputes:write", "disputes:resolve", "history:read"}
    ),
    ("GET", "/v1/disputes"): frozenset({"disputes:write", "disputes:resolve", "history:read"}),
    ("POST", "/v1/disputes/{dispute_id}/resolve"): frozenset({"disputes:resolve"}),
    ("POST", "/v1/recoveries"): frozenset({"recovery:write"}),
    ("GET", "/v1/subjects/{key}/recoveries"): frozenset({"recovery:write", "history:read"}),
    # SPEC §10: readers are the requester, the holder, police, regulators, history:read.
    ("POST", "/v1/holds"): frozenset({"holds:write"}),
    ("GET", "/v1/holds/{hold_id}"): HOLD_READERS,
    ("GET", "/v1/holds"): HOLD_READERS,
    ("POST", "/v1/holds/{hold_id}/respond"): frozenset({"holds:respond"}),
    ("POST", "/v1/holds/{hold_id}/confirm"): frozenset({"holds:confirm"}),
    ("POST", "/v1/holds/{hold_id}/release"): frozenset({"holds:respond", "holds:confirm"}),
    ("POST", "/v1/holds/{hold_id}/return"): frozenset({"holds:respond"}),
    ("POST", "/v1/holds/{hold_id}/cancel"): frozenset({"holds:write"}),
    ("GET", "/v1/audit/events"): frozenset({"audit:read"}),
    ("GET", "/v1/audit/verify"): frozenset({"audit:read"}),
    ("GET", "/v1/reports/{period}"): frozenset({"reports:read"}),
    # SPEC §9
    ("GET", "/v1/admin/organisations"): frozenset({"admin"}),
    ("POST", "/v1/admin/organisations"): frozenset({"admin"}),
    ("GET", "/v1/admin/organisations/{code}"): frozenset({"admin"}),
    ("POST", "/v1/admin/organisations/{code}/deactivate"): frozenset({"admin"}),
    ("POST", "/v1/admin/organisations/{code}/reactivate"): frozenset({"admin"}),
    ("GET", "/v1/admin/clients"): frozenset({"admin"}),
    ("POST", "/v1/admin/clients"): frozenset({"admin"}),
    ("GET", "/v1/admin/clients/{client_id}"): frozenset({"admin"}),
    ("POST", "/v1/admin/clients/{client_id}/revoke"): frozenset({"admin"}),
    ("POST", "/v1/admin/clients/{client_id}/rotate-secret"): frozenset({"admin"}),
}
# Public operations the contract requires today (/v1/typologies comes with a later issue).
SPEC_PUBLIC_REQUIRED = PUBLIC_OPERATIONS - {("GET", "/v1/typologies")}


@dataclass(frozen=True)
class ScopedCaller:
    scope: str
    kind: str
    caller: Caller


async def single_scope_callers(
    app: FastAPI, client: httpx.AsyncClient, *, every_kind: bool = True
) -> list[ScopedCaller]:
    """For every scope and every kind allowed to hold it (or only the first such kind): a
    client holding only that scope."""
    callers = []
    for scope in Scope:
        kinds = sorted(ALLOWED_KINDS[scope])
        for kind in kinds if every_kind else kinds[:1]:
            code = f"{kind[:4].upper()}_{scope.replace(':', '_').upper()}"
            callers.append(
                ScopedCaller(
                    scope.value, kind, await make_caller(app, client, code, kind, scopes=scope)
                )
            )
    return callers


def _report(failures: list[str]) -> str:
    return f"{len(failures)} violation(s):\n" + "\n".join(failures)


def test_only_public_operations_lack_a_security_requirement(settings: Settings) -> None:
    app = create_app(settings)
    failures = []
    for op in operations(app):
        if op.scopes is None:
            if (op.method, op.path) not in PUBLIC_OPERATIONS | NON_OAUTH_OPERATIONS:
                failures.append(f"{op.label}: no security requirement but not public by design")
        elif not op.scopes:
            failures.append(f"{op.label}: OAuth2 requirement without any scope")
        elif unknown := op.scopes - {s.value for s in Scope}:
            failures.append(f"{op.label}: unknown scopes {sorted(unknown)}")
    assert not failures, _report(failures)


def test_declared_scopes_match_the_contract(settings: Settings) -> None:
    declared = {(op.method, op.path): op.scopes for op in operations(create_app(settings))}
    failures = []
    for endpoint, scopes in SPEC_SCOPES.items():
        if endpoint not in declared:
            failures.append(f"{' '.join(endpoint)}: in SPEC §6 but not served by the app")
        elif declared[endpoint] != scopes:
            got = sorted(declared[endpoint] or [])
            failures.append(f"{' '.join(endpoint)}: accepts {got}, SPEC says {sorted(scopes)}")
    for endpoint in sorted(SPEC_PUBLIC_REQUIRED):
        if endpoint not in declared:
            failures.append(f"{' '.join(endpoint)}: public in SPEC §6 but not served by the app")
    assert not failures, _report(failures)


async def test_protected_operations_answer_401_without_a_valid_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    ops = protected_operations(app)
    assert len(ops) >= 20, [op.label for op in ops]
    failures = []
    for op in ops:
        for variant, kwargs in body_variants(op).items():
            for auth in (None, "Bearer not-a-token"):
                headers = {"Authorization": auth} if auth else {}
                response = await send(client, op, headers, **kwargs)
                for issue in problem_issues(response, 401, INVALID_TOKEN):
                    failures.append(f"{op.label} [{variant}, auth={auth!r}]: {issue}")
    assert not failures, _report(failures)


async def test_scope_matrix(app: FastAPI, client: httpx.AsyncClient) -> None:
    callers = await single_scope_callers(app, client)
    ops = protected_operations(app)
    failures = []
    checked = 0
    for op in ops:
        assert op.scopes is not None
        for variant, kwargs in body_variants(op).items():
            for entry in callers:
                response = await send(client, op, entry.caller.headers, **kwargs)
                checked += 1
                where = f"{op.label} [{variant}] as {entry.kind} with only {entry.scope!r}"
                if entry.scope in op.scopes:
                    failures.extend(f"{where}: {i}" for i in _accepted_issues(response))
                else:
                    issues = problem_issues(response, 403, INSUFFICIENT_SCOPE)
                    failures.extend(f"{where}: {issue}" for issue in issues)
    assert checked >= len(ops) * len(callers)
    assert not failures, _report(failures)


def _accepted_issues(response: httpx.Response) -> list[str]:
    if response.status_code == 401:
        return [f"401 for an accepted scope: {response.text[:200]}"]
    www = response.headers.get("www-authenticate", "")
    if response.status_code == 403 and (
        www.startswith(INSUFFICIENT_SCOPE) or "insufficient-scope" in response.text
    ):
        return [f"insufficient_scope 403 for an accepted scope: {response.text[:200]}"]
    if response.status_code >= 500:
        return [f"{response.status_code} for an accepted scope: {response.text[:200]}"]
    return []


async def test_token_and_scope_are_checked_before_the_body_is_parsed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A caller who may not use an operation learns nothing from it, not even that its body
    is malformed: no token is 401 and a token without the scope is 403 whatever the body."""
    callers = await single_scope_callers(app, client, every_kind=False)
    ops = [op for op in protected_operations(app) if op.body_media_type == "application/json"]
    assert ops
    bodies = {"truncated JSON": b'{"kind": ', "invalid UTF-8": b"\x80\xff"}
    failures = []
    for op in ops:
        outsider = _outsider(op, callers)
        for name, body in bodies.items():
            plain = {"Content-Type": "application/json"}
            for headers, status, www in (
                (plain, 401, INVALID_TOKEN),
                ({**plain, **outsider.caller.headers}, 403, INSUFFICIENT_SCOPE),
            ):
                response = await send(client, op, headers, content=body)
                who = "no token" if status == 401 else f"only {outsider.scope!r}"
                failures.extend(
                    f"{op.label} [{name}, {who}]: {issue}"
                    for issue in problem_issues(response, status, www)
                )
    assert not failures, _report(failures)


def _outsider(op: Operation, callers: list[ScopedCaller]) -> ScopedCaller:
    assert op.scopes is not None
    return next(c for c in callers if c.scope not in op.scopes)


async def test_insufficient_scope_challenge_names_the_accepted_scopes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """RFC 6750 §3: the challenge's ``scope`` attribute is a space-delimited list of scope
    tokens; a client reads it to know what to ask for. It must name exactly the scopes the
    operation accepts, and nothing that is not a scope."""
    callers = await single_scope_callers(app, client, every_kind=False)
    failures = []
    for op in protected_operations(app):
        assert op.scopes is not None
        outsider = _outsider(op, callers)
        first_variant = next(iter(body_variants(op).values()))
        response = await send(client, op, outsider.caller.headers, **first_variant)
        www = response.headers.get("www-authenticate", "")
        match = re.search(r'\bscope="([^"]*)"', www)
        named = set(match.group(1).split(" ")) if match else set()
        if named != op.scopes:
            failures.append(
                f"{op.label}: {www!r} names {sorted(named)}, accepts {sorted(op.scopes)}"
            )
    assert not failures, _report(failures)
