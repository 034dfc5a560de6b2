"""Schemathesis against the app's own OpenAPI document, in process (ASGI), every check.

How it runs (schemathesis 4.32):

- A world is first built through the real API (``create_app`` + ``LifespanManager``, like the
  ``app`` fixture): one organisation per profile plus a peer bank, flags in every status,
  disputes, warnings and recovery entries, so reads answer 200 with real records and the
  response schemas are checked against real data.
- A fresh app on the same database is then loaded with ``schemathesis.openapi.from_asgi``
  and driven by ``schemathesis.engine.from_schema(schema).execute()``, the engine behind
  ``st run``: examples, coverage, fuzzing and stateful phases (links inferred from
  ``Location`` headers and from parameter/field names), every built-in check. Schemathesis
  runs the ASGI lifespan itself on its own event-loop thread the first time it calls the
  app (wrapping it in ``LifespanManager`` too would start a second runtime on another loop),
  and ``shutdown_lifespans()`` stops it at the end of the test.
- One run per profile: a bank, a police and an auditor token holding every scope listed
  below. The bank run also names a second bank as a WFC peer, which turns on
  ``object_level_authorization``: what one bank created must not be readable by the other.
- Known-valid values (keys, ids, cursors, ETags, identifiers, typology codes, a VietQR
  payload) are offered through schemathesis dictionaries with probability 0.5, so fuzzing
  reaches past the validators half of the time and stays random the other half.

Any finding fails the test; the message lists each one with a curl reproduction. Set
``REGISTRY_FUZZ_SEED`` to explore other inputs (the default seed keeps CI deterministic).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from asgi_lifespan import LifespanManager
from schemathesis.engine import events, from_schema
from schemathesis.python.asgi import shutdown_lifespans

from app.config import Settings
from app.identifiers.vietqr import build_vietqr
from app.main import create_app
from app.reference.catalogue import typology_codes
from tests.factories import Caller, make_caller

MAX_EXAMPLES = 25


@pytest.fixture
def settings(database_url: str, key_file: Path) -> Settings:
    """No webhook is ever sent from a fuzz run (the seeded one names a real address)."""
    return Settings(
        database_url=database_url,
        jwt_key_file=key_file,
        gc_freeze_after_start=False,
        webhook_worker=False,
    )


SEED = int(os.environ.get("REGISTRY_FUZZ_SEED", "20260101"))


@dataclass(frozen=True)
class Profile:
    name: str
    kind: str
    scopes: str
    # (organisation code, institution): the first one is the identity under test; any
    # further ones are WFC peers that must not see its objects.
    orgs: tuple[tuple[str, str | None], ...]


BANK = Profile(
    "bank",
    "bank",
    "lookup sync flags:write disputes:write recovery:write holds:write holds:respond"
    " webhooks:manage",
    (("VCB", "970436"), ("ACB", "ACB")),
)
POLICE = Profile(
    "police",
    "police",
    "lookup flags:write flags:review disputes:resolve history:read recovery:write reports:read"
    " holds:write holds:confirm",
    (("C06", None),),
)
AUDITOR = Profile("auditor", "auditor", "audit:read history:read reports:read", (("AUD", None),))
PROFILES = (BANK, POLICE, AUDITOR)

# positive_data_acceptance sends schema-valid input and expects it to be accepted. For these
# operations validity also depends on rules JSON Schema cannot state, so a 422 there is the
# contract, not a bug. Each entry is one operation, excluded from that one check only.
SEMANTIC_VALIDATION: dict[tuple[str, str], str] = {
    ("POST", "/v1/lookup"): "identifiers follow SPEC §3 normalisation and the bank/e-wallet lists",
    ("POST", "/v1/lookup/vietqr"): "the payload must be EMVCo TLV with a valid CRC-16",
    ("POST", "/v1/flags"): "SPEC §3 subjects; category from the typology list; "
    "case_reference police-only; amount_lost_vnd strict int (JSON Schema calls 5.0 an integer)",
    ("POST", "/v1/disputes"): "SPEC §3 subjects; flag_id must be a flag of that subject",
    ("POST", "/v1/recoveries"): "SPEC §3 subjects; release/return never above the held "
    "amount; amount_vnd strict int (5.0 is an integer to JSON Schema)",
    ("POST", "/v1/warnings/{warning_id}/outcome"): "amount_vnd is a strict int, and JSON "
    "Schema calls 5.0 an integer",
    ("POST", "/v1/holds"): "SPEC §3 subjects of a registered institution; amount_vnd strict int",
    ("POST", "/v1/holds/{hold_id}/respond"): "held_vnd at most the amount requested; strict int",
    ("POST", "/v1/holds/{hold_id}/confirm"): "a hold requested for a case keeps that case",
    ("POST", "/v1/holds/{hold_id}/release"): "never more than the hold still holds; strict int",
    ("POST", "/v1/holds/{hold_id}/return"): "never more than the hold still holds; strict int",
    ("GET", "/v1/holds"): "cursor is an opaque server-issued token",
    ("GET", "/v1/flags"): "cursor is an opaque server-issued token",
    ("GET", "/v1/disputes"): "cursor is an opaque server-issued token",
    ("GET", "/v1/subjects/{key}"): "key must be a canonical SPEC §3 key",
    ("GET", "/v1/subjects/{key}/history"): "canonical key; opaque cursor",
    ("GET", "/v1/subjects/{key}/recoveries"): "key must be a canonical SPEC §3 key",
    ("POST", "/v1/public/check"): "SPEC §3 subjects; exactly one of subject or vietqr (an "
    "EMVCo payload with a valid CRC-16)",
    ("POST", "/v1/public/reports"): "SPEC §3 subjects; amount_vnd strict int (5.0 is an "
    "integer to JSON Schema)",
    ("POST", "/v1/webhooks"): "the url must be https to a host that resolves to public "
    "addresses only (SPEC §11); JSON Schema cannot say which hosts do",
    ("GET", "/v1/webhooks/{hook_id}/deliveries"): "cursor is an opaque server-issued token",
}
# State changes need If-Match (SPEC §5): a schema-valid request without it is a 428 and one
# with a stale or made-up ETag a 412 (RFC 9110 §13.1.1), which positive_data_acceptance does
# not expect. For these operations only, 412 and 428 are added to what it accepts.
PRECONDITIONED = (
    ("POST", "/v1/flags/{flag_id}/confirm"),
    ("POST", "/v1/flags/{flag_id}/reject"),
    ("POST", "/v1/flags/{flag_id}/withdraw"),
    ("POST", "/v1/disputes/{dispute_id}/resolve"),
    ("POST", "/v1/holds/{hold_id}/respond"),
    ("POST", "/v1/holds/{hold_id}/confirm"),
    ("POST", "/v1/holds/{hold_id}/release"),
    ("POST", "/v1/holds/{hold_id}/return"),
    ("POST", "/v1/holds/{hold_id}/cancel"),
    ("DELETE", "/v1/webhooks/{hook_id}"),
    ("POST", "/v1/webhooks/{hook_id}/rotate-secret"),
)
POSITIVE_DEFAULT = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
# object_level_authorization: objects every holder of the scope may read by SPEC §6, which
# the check cannot know. Bank A's freeze on a subject is in that subject's shared ledger.
SHARED_BY_DESIGN: dict[tuple[str, str], str] = {
    ("GET", "/v1/subjects/{key}/recoveries"): "recovery:write holders share each ledger",
    ("GET", "/v1/changes"): "the change feed is the same for every sync holder",
    # SPEC §10: a hold is read by its requester and by the institution holding the account.
    ("GET", "/v1/holds/{hold_id}"): "a hold is the requester's and the holder's",
    ("GET", "/v1/holds"): "a hold is the requester's and the holder's",
}


@dataclass
class World:
    tokens: dict[str, str] = field(default_factory=dict)
    values: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, name: str, *values: Any) -> None:
        bucket = self.values.setdefault(name, [])
        bucket.extend(v for v in values if v is not None and v not in bucket)


async def _created(http: httpx.AsyncClient, caller: Caller, url: str, body: Any) -> Any:
    response = await http.post(url, json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def build_world(settings: Settings) -> World:
    """Organisations, clients and records made through the real API."""
    world = World()
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as h:
            callers = {}
            for profile in PROFILES:
                for code, institution in profile.orgs:
                    caller = await make_caller(
                        app, h, code, profile.kind, institution, profile.scopes
                    )
                    callers[code] = caller
                    world.tokens[code] = caller.token
            await _seed_records(h, callers, world)
    return world


async def _seed_records(h: httpx.AsyncClient, callers: dict[str, Caller], world: World) -> None:
    vcb, acb, police, auditor = (callers[c] for c in ("VCB", "ACB", "C06", "AUD"))
    own = {"kind": "bank_account", "institution": "VCB", "identifier": "0011002345678"}
    own2 = {**own, "identifier": "0011002345679"}
    foreign = {"kind": "bank_account", "institution": "ACB", "identifier": "123456789"}
    phone = {"kind": "phone", "institution": None, "identifier": "0912 345 678"}
    wallet = {"kind": "ewallet", "institution": "MOMO", "identifier": "0987654321"}

    def flag(subject: dict[str, Any]) -> dict[str, Any]:
        return {"subject": subject, "category": "IMPERSONATE_AUTHORITY", "description": "d"}

    confirmed = await _created(h, police, "/v1/flags", {**flag(own), "case_reference": "C-1"})
    confirmed2 = await _created(h, police, "/v1/flags", {**flag(own2), "case_reference": "C-2"})
    reported = await _created(h, acb, "/v1/flags", flag(phone))
    by_vcb = await _created(h, vcb, "/v1/flags", flag(foreign))
    to_withdraw = await _created(h, vcb, "/v1/flags", flag(wallet))
    withdrawn = await h.post(
        f"/v1/flags/{to_withdraw['id']}/withdraw", headers={**vcb.headers, "If-Match": '"1"'}
    )
    assert withdrawn.status_code == 200, withdrawn.text
    dispute = await _created(
        h, vcb, "/v1/disputes", {"subject": own, "reason": "denied", "flag_id": confirmed["id"]}
    )
    dispute2 = await _created(h, vcb, "/v1/disputes", {"subject": own2, "reason": "denied"})
    for subject, action, amount in ((own, "freeze", 5_000_000), (own, "release", 1_000_000)):
        entry = {"subject": subject, "action": action, "amount_vnd": amount}
        await _created(h, police, "/v1/recoveries", {**entry, "case_reference": "C-1"})
    await _seed_holds(h, callers, world, own, foreign)
    warnings = []
    for subject in (own, phone, foreign):
        answer = await h.post("/v1/lookup", json=subject, headers=vcb.headers)
        assert answer.status_code == 200, answer.text
        warnings.append(answer.json()["warning_id"])
    outcome = {"outcome": "cancelled", "amount_vnd": 2_000_000}
    recorded = await h.post(
        f"/v1/warnings/{warnings[0]}/outcome", json=outcome, headers=vcb.headers
    )
    assert recorded.status_code == 200, recorded.text

    # An address literal: the check needs no DNS (the worker is off, nothing is sent).
    hook = {"url": "https://8.8.8.8/registry-hook", "events": ["customer.listed", "ping"]}
    webhook = await _created(h, vcb, "/v1/webhooks", hook)
    world.add("hook_ids", webhook["id"])
    keys = [r["subject"]["key"] for r in (confirmed, confirmed2, reported, by_vcb, to_withdraw)]
    world.add("keys", *keys)
    world.add("flag_ids", *(r["id"] for r in (confirmed, confirmed2, reported, by_vcb)))
    world.add("flag_ids", to_withdraw["id"])
    world.add("dispute_ids", dispute["id"], dispute2["id"])
    world.add("warning_ids", *warnings)
    for url, caller in (
        ("/v1/flags?limit=1", police),
        ("/v1/flags?limit=1", vcb),
        ("/v1/disputes?limit=1", police),
        (f"/v1/subjects/{quote(keys[0], safe='')}/history?limit=1", auditor),
    ):
        page = await h.get(url, headers=caller.headers)
        assert page.status_code == 200 and page.json()["next_cursor"], (url, page.text)
        world.add("cursors", page.json()["next_cursor"])
    world.add("etags", '"1"', '"2"', "*")
    world.add("identifiers", "0011002345678", "0912 345 678", "+84912345678", "123456789")
    world.add("institutions", "VCB", "970436", "ACB", "MOMO")
    world.add("categories", *sorted(typology_codes())[:8])
    world.add("payloads", build_vietqr("970436", "0011002345678", 150_000))
    world.add("periods", "2026-H1", "2026-H2", "2026", "2025")


async def _seed_holds(
    h: httpx.AsyncClient,
    callers: dict[str, Caller],
    world: World,
    own: dict[str, Any],
    foreign: dict[str, Any],
) -> None:
    """Holds requested, held and confirmed: VCB asks ACB, ACB and police ask VCB."""
    vcb, acb, police = (callers[c] for c in ("VCB", "ACB", "C06"))

    def body(subject: dict[str, Any]) -> dict[str, Any]:
        return {"subject": subject, "amount_vnd": 3_000_000, "reason": "victim's transfer"}

    asked = await _created(h, vcb, "/v1/holds", body(foreign))
    by_police = await _created(h, police, "/v1/holds", body(own))
    by_acb = await _created(h, acb, "/v1/holds", body(own))
    for hold, holder in ((asked, acb), (by_acb, vcb)):
        answer = await h.post(
            f"/v1/holds/{hold['id']}/respond",
            json={"outcome": "held", "held_vnd": 2_000_000},
            headers={**holder.headers, "If-Match": '"1"'},
        )
        assert answer.status_code == 200, answer.text
    confirmed = await h.post(
        f"/v1/holds/{asked['id']}/confirm",
        json={"case_reference": "C-9"},
        headers={**police.headers, "If-Match": '"2"'},
    )
    assert confirmed.status_code == 200, confirmed.text
    world.add("hold_ids", asked["id"], by_police["id"], by_acb["id"])
    page = await h.get("/v1/holds?limit=1", headers=police.headers)
    world.add("cursors", page.json()["next_cursor"])


def _dictionary_bindings(world: World) -> dict[str, Any]:
    bindings = {
        "path.key": "keys",
        "query.key": "keys",
        "path.flag_id": "flag_ids",
        "body.flag_id": "flag_ids",
        "path.dispute_id": "dispute_ids",
        "path.warning_id": "warning_ids",
        "path.hold_id": "hold_ids",
        "path.hook_id": "hook_ids",
        "query.cursor": "cursors",
        "header.If-Match": "etags",
        "path.period": "periods",
        "body.identifier": "identifiers",
        "body.subject.identifier": "identifiers",
        "body.institution": "institutions",
        "body.subject.institution": "institutions",
        "body.category": "categories",
        "body.payload": "payloads",
    }
    return {
        name: {"dictionary": dictionary, "probability": 0.5}
        for name, dictionary in bindings.items()
        if world.values.get(dictionary)
    }


def _per_operation(
    operations: Iterable[tuple[str, str]], check: str, setting: dict[str, Any]
) -> list[dict[str, Any]]:
    # `include-name` is the operation label. Not `include-method` + `include-path`: schemathesis
    # ORs separate include keys, so that pair would match every POST and every GET.
    return [
        {"include-name": f"{method} {path}", "checks": {check: setting}}
        for method, path in operations
    ]


def schemathesis_config(profile: Profile, world: World, wfc_file: Path) -> schemathesis.Config:
    identities = [code for code, _ in profile.orgs]
    wfc_file.write_text(
        json.dumps(
            {
                "auth": [
                    {
                        "name": code,
                        "fixedHeaders": [
                            {"name": "Authorization", "value": f"Bearer {world.tokens[code]}"}
                        ],
                    }
                    for code in identities
                ]
            }
        )
    )
    auth: dict[str, Any] = {"path": str(wfc_file), "user": identities[0]}
    if len(identities) > 1:
        auth["peers"] = identities
    operations = _per_operation(SEMANTIC_VALIDATION, "positive_data_acceptance", {"enabled": False})
    operations += _per_operation(
        PRECONDITIONED,
        "positive_data_acceptance",
        {"expected-statuses": [*POSITIVE_DEFAULT, "412", "428"]},
    )
    # If-Match is required there, and its absence is 428 Precondition Required (RFC 6585),
    # the status SPEC §8 gives it; schemathesis expects only 400-class codes by default.
    operations += _per_operation(
        PRECONDITIONED,
        "missing_required_header",
        {"expected-statuses": ["400", "401", "403", "406", "415", "422", "428"]},
    )
    if len(identities) > 1:
        operations += _per_operation(
            SHARED_BY_DESIGN, "object_level_authorization", {"enabled": False}
        )
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "auth": {"wfc": auth},
            "checks": {"enabled": True},
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "database": "none",
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": True, "max-steps": 20},
            },
            "dictionaries": {
                name: {"values": values} for name, values in world.values.items() if values
            },
            "parameters": _dictionary_bindings(world),
            "operations": operations,
            # Hide the bearer tokens only: `key`, `Idempotency-Key` etc. are needed to reproduce.
            "output": {
                "sanitization": {
                    "keys-to-sanitize": ["authorization"],
                    "sensitive-markers": ["authorization"],
                }
            },
            "request-timeout": 30,
        }
    )


@dataclass
class Findings:
    items: dict[tuple[str, str, str], str] = field(default_factory=dict)
    checks_run: dict[str, int] = field(default_factory=dict)
    operations_answered: set[str] = field(default_factory=set)

    def record(self, event: events.EngineEvent) -> None:
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            for case_id, interaction in recorder.interactions.items():
                if interaction.response is not None:
                    self.operations_answered.add(recorder.cases[case_id].value.operation.label)
            for case_id, checks in recorder.checks.items():
                label = recorder.cases[case_id].value.operation.label
                for check in checks:
                    self.checks_run[check.name] = self.checks_run.get(check.name, 0) + 1
                    info = check.failure_info
                    if info is not None:
                        self._add(event.phase.value, label, check.name, info.failure.title, info)
        elif isinstance(event, events.NonFatalError):
            self._add(str(event.phase), event.label, "error", event.info.title, event.info)
        elif isinstance(event, events.FatalError):
            self._add("engine", "-", "fatal error", repr(event.exception), None)
        elif isinstance(event, events.EngineFinished):
            for failure in event.failures:
                self._add("after run", failure.operation or "-", "check", failure.title, failure)

    def _add(self, phase: str, label: str, check: str, title: str, info: Any) -> None:
        key = (label, check, title)
        if key in self.items:
            return
        text = f"[{phase}] {label} :: {check} :: {title}"
        failure = getattr(info, "failure", info)
        message = getattr(failure, "message", None) or str(info or "")
        sample = getattr(info, "code_sample", None)
        text += "\n    " + message.strip().replace("\n", "\n    ")
        if sample:
            text += "\n    reproduce: " + sample.strip().replace("\n", "\n    ")
        self.items[key] = text


def run_engine(schema: Any) -> Findings:
    findings = Findings()
    for event in from_schema(schema).execute():
        findings.record(event)
    return findings


@pytest.mark.parametrize("profile", PROFILES, ids=[p.name for p in PROFILES])
def test_schemathesis_finds_nothing(profile: Profile, settings: Settings, tmp_path: Path) -> None:
    world = asyncio.run(build_world(settings))
    config = schemathesis_config(profile, world, tmp_path / "wfc.json")
    app = create_app(settings)
    started = time.monotonic()
    try:
        schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
        findings = run_engine(schema)
        # The run went through the real lifespan (database, mirror, background tasks).
        assert app.state.runtime.ready
    finally:
        shutdown_lifespans()
    elapsed = time.monotonic() - started

    protected = {
        f"{method.upper()} {path}"
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
        if operation.get("security")
    }
    # Sanity: every protected operation was exercised and the expensive checks did run.
    assert protected <= findings.operations_answered, protected - findings.operations_answered
    for check in (
        "not_a_server_error",
        "response_schema_conformance",
        "ignored_auth",
        "positive_data_acceptance",
        "negative_data_rejection",
    ):
        assert findings.checks_run.get(check), (check, findings.checks_run)
    if findings.items:
        pytest.fail(
            f"schemathesis {schemathesis.__version__} ({profile.name} token, seed {SEED}, "
            f"{elapsed:.0f}s): {len(findings.items)} finding(s)\n\n"
            + "\n\n".join(findings.items.values()),
            pytrace=False,
        )
