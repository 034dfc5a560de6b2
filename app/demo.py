"""``registry demo``: a fresh SQLite registry with demo organisations, clients and flags."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.auth.actor import Actor
from app.auth.keys import SigningKeys
from app.auth.scopes import scopes_for_kind
from app.auth.tokens import issue_token
from app.config import Settings, get_settings
from app.db.engine import create_database
from app.db.migrations import upgrade_to_head
from app.db.unit_of_work import unit_of_work
from app.flags.schemas import FlagCreate
from app.flags.service import create_flag
from app.organisations.service import create_client, create_organisation
from app.subjects.schemas import SubjectIn
from app.users.roles import ROLE_SCOPES
from app.users.service import create_user

DEMO_TOKEN_TTL = 12 * 3600
ORGS = [
    ("VCB", "Vietcombank (demo)", "bank", "970436"),
    ("MOMO", "MoMo (demo)", "ewallet", "MOMO"),
    ("VIETTEL", "Viettel Telecom (demo)", "telecom", None),
    ("C06", "Công an TP.HCM - PC02 (demo)", "police", None),
    ("SBV", "NHNN chi nhánh TP.HCM (demo)", "regulator", None),
    ("AUDIT", "Kiểm toán (demo)", "auditor", None),
    ("OPS", "Registry operator (demo)", "operator", None),
]
# (organisation, kind, institution, identifier, category, case reference)
FLAGS = [
    ("C06", "bank_account", "ACB", "257678859", "IMPERSONATE_AUTHORITY", "PC02-2026-0117"),
    ("C06", "phone", None, "0912345678", "FAKE_GOV_APP", "PC02-2026-0121"),
    ("VCB", "bank_account", "TCB", "19033334444019", "INVESTMENT_CRYPTO", None),
    ("MOMO", "bank_account", "TCB", "19033334444019", "INVESTMENT_CRYPTO", None),
    ("MOMO", "ewallet", "MOMO", "0987 654 321", "FAKE_SHOP", None),
    ("VIETTEL", "phone", None, "0388 123 456", "IMPERSONATE_AUTHORITY", None),
]


@dataclass
class DemoInfo:
    base_url: str
    database: str
    callers: list[dict[str, Any]] = field(default_factory=list)
    env_file: str = ""
    # One console user per role: username, role and the one-time enrolment path.
    users: list[dict[str, str]] = field(default_factory=list)


def prepare_demo(db_file: str, *, host: str, port: int) -> DemoInfo:
    """Recreate ``db_file``, migrate, seed; point this process's settings at it."""
    path = Path(db_file).resolve()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.environ["REGISTRY_DATABASE_URL"] = f"sqlite+aiosqlite:///{path}"
    # The printed tokens should last a working day, and a server refuses any token whose
    # lifetime exceeds its TTL: the demo's server takes that TTL unless told otherwise.
    os.environ.setdefault("REGISTRY_TOKEN_TTL_SECONDS", str(DEMO_TOKEN_TTL))
    get_settings.cache_clear()
    settings = get_settings()
    upgrade_to_head(settings.database_url)
    info = DemoInfo(base_url=f"http://{host}:{port}", database=str(path))
    info.callers = asyncio.run(_seed(settings))
    info.users = asyncio.run(_seed_users(settings))
    write_env_file(info, settings)
    return info


async def _seed(settings: Settings) -> list[dict[str, Any]]:
    db = create_database(settings)
    keys = SigningKeys.load_or_create(settings.jwt_key_file)
    callers: list[dict[str, Any]] = []
    try:
        async with unit_of_work(db, Actor.command_line("demo")) as uow:
            for code, name, kind, institution in ORGS:
                org = await create_organisation(
                    uow, code=code, name=name, kind=kind, institution=institution
                )
                scopes = " ".join(sorted(scopes_for_kind(kind)))
                client, secret = await create_client(uow, org_code=code, scopes=scopes)
                token, _ = issue_token(
                    keys,
                    client_id=client.client_id,
                    org=code,
                    scopes=scopes.split(),
                    issuer=settings.jwt_issuer,
                    audience=settings.jwt_audience,
                    ttl_seconds=settings.token_ttl_seconds,
                    now=int(time.time()),
                )
                callers.append(
                    {
                        "org": code,
                        "kind": kind,
                        "org_id": org.id,
                        "institution": org.institution,
                        "client_id": client.client_id,
                        "client_secret": secret,
                        "scopes": scopes,
                        "token": token,
                    }
                )
        by_code = {c["org"]: c for c in callers}
        for org_code, kind, institution, identifier, category, case in FLAGS:
            caller = by_code[org_code]
            actor = Actor(
                caller["org_id"],
                org_code,
                caller["kind"],
                caller["institution"],
                caller["client_id"],
                None,
                "demo",
                frozenset(),
            )
            data = FlagCreate(
                subject=SubjectIn(kind=kind, institution=institution, identifier=identifier),
                category=category,
                description="demo report",
                case_reference=case,
            )
            # Each report in its own unit of work: its events name its reporter.
            async with unit_of_work(db, actor) as uow:
                await create_flag(uow, data, ttl_days=settings.flag_ttl_days)
    finally:
        await db.dispose()
    return callers


def write_env_file(info: DemoInfo, settings: Settings) -> Path:
    """``registry-demo.env`` beside the database (0600: it holds secrets and tokens).

    ``source`` it in another terminal and the CLI, curl and the printed examples all use the
    demo's database, keys and tokens: the demo and the CLI agree on the database."""
    path = Path(f"{Path(info.database).with_suffix('')}.env")
    values = {
        "REGISTRY_DATABASE_URL": f"sqlite+aiosqlite:///{info.database}",
        "REGISTRY_JWT_KEY_FILE": str(settings.jwt_key_file.resolve()),
        "REGISTRY_CHECKPOINT_KEY_FILE": str(settings.checkpoint_key_file.resolve()),
        "REGISTRY_URL": info.base_url,
    }
    for caller in info.callers:
        values[f"TOKEN_{caller['org']}"] = caller["token"]
        values[f"CLIENT_ID_{caller['org']}"] = caller["client_id"]
        values[f"CLIENT_SECRET_{caller['org']}"] = caller["client_secret"]
    lines = [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write("# registry demo: `source` this file\n" + "\n".join(lines) + "\n")
    info.env_file = str(path)
    return path


async def _seed_users(settings: Settings) -> list[dict[str, str]]:
    """One console user per role, in the demo organisation of the role's kind."""
    db = create_database(settings)
    users: list[dict[str, str]] = []
    try:
        async with unit_of_work(db, Actor.command_line("demo")) as uow:
            for (kind, role), _scopes in ROLE_SCOPES.items():
                org = next(code for code, _, k, _ in ORGS if k == kind)
                username = f"{role.value.replace('_', '.')}.{org.lower()}"
                _, _, token = await create_user(uow, org_code=org, username=username, role=role)
                users.append(
                    {
                        "username": username,
                        "org": org,
                        "role": role.value,
                        "enrolment_path": f"/console/enrol/{token}",
                    }
                )
    finally:
        await db.dispose()
    return users


def print_demo(info: DemoInfo, *, as_json: bool) -> None:
    """What the demo prints: at most 80 columns (tokens live in the env file)."""
    if as_json:
        print(
            json.dumps(
                {
                    "base_url": info.base_url,
                    "database": info.database,
                    "env_file": info.env_file,
                    "clients": info.callers,
                    "console_users": info.users,
                },
                ensure_ascii=False,
            )
        )
        return
    print("\n".join(demo_lines(info)))


def _shown_path(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def demo_lines(info: DemoInfo) -> list[str]:
    lines = [
        f"Demo registry: {_shown_path(info.database)}",
        f"API: {info.base_url}  (documentation: {info.base_url}/docs)",
        "",
        "In another terminal, point the CLI and curl at this demo:",
        "",
        f"  source {shlex.quote(_shown_path(info.env_file))}",
        "",
        "It sets REGISTRY_DATABASE_URL, REGISTRY_URL and, per organisation, TOKEN_<ORG>",
        "(valid 12 hours), CLIENT_ID_<ORG> and CLIENT_SECRET_<ORG>.",
        "",
        "Clients (the secrets are not shown again):",
    ]
    for caller in info.callers:
        lines.append("")
        lines.extend(
            textwrap.wrap(
                caller["scopes"],
                width=80,
                initial_indent=f"{caller['org']} ({caller['kind']}): ",
                subsequent_indent="    ",
            )
        )
        lines.append(f"  client_id      {caller['client_id']}")
        lines.append(f"  client_secret  {caller['client_secret']}")
    lines += [
        "",
        f"Public portal (no account): {info.base_url}/",
        "  check an account, read the scam methods, report a scam (the report",
        "  reaches /console/citizen-reports).",
        "",
        f"Staff console: {info.base_url}/console/  Each demo user enrols once at",
        "their link (a password and an authenticator app), then signs in:",
    ]
    for user in info.users:
        lines += ["", f"{user['username']} ({user['role']}, {user['org']}):"]
        lines.append(f"{info.base_url}{user['enrolment_path']}")
    bank = next(c for c in info.callers if c["kind"] == "bank")["org"]
    police = next(c for c in info.callers if c["kind"] == "police")["org"]
    lines.extend(_EXAMPLES.format(bank=bank, police=police).splitlines())
    return lines


_EXAMPLES = """
Try it (after `source`):

  # Is this payee listed? (a police-confirmed account: action "hold")
  curl -s $REGISTRY_URL/v1/lookup -H "Authorization: Bearer $TOKEN_{bank}" \\
    -H 'Content-Type: application/json' \\
    -d '{{"kind":"bank_account","institution":"ACB","identifier":"257678859"}}'

  # Report a suspicious account
  curl -s $REGISTRY_URL/v1/flags -H "Authorization: Bearer $TOKEN_{bank}" \\
    -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' \\
    -d '{{"subject":{{"kind":"phone","identifier":"0901 234 567"}},'\\
'"category":"INVESTMENT_CRYPTO"}}'

  # Full record and history (police)
  curl -s $REGISTRY_URL/v1/subjects/bank_account%3A970416%3A257678859 \\
    -H "Authorization: Bearer $TOKEN_{police}"

  # A fresh token from client credentials
  curl -s $REGISTRY_URL/v1/oauth/token -d grant_type=client_credentials \\
    -d client_id=$CLIENT_ID_{bank} -d client_secret=$CLIENT_SECRET_{bank}

  # The CLI against the running demo
  registry audit verify
"""
