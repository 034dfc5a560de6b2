"""``registry demo``: a fresh SQLite registry with demo organisations, clients and flags."""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

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


def print_demo(info: DemoInfo, *, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {"base_url": info.base_url, "database": info.database, "clients": info.callers},
                ensure_ascii=False,
            )
        )
        return
    console = Console()
    table = Table(title=f"Demo clients (database {info.database})")
    for column in ("org", "kind", "client_id", "client_secret", "scopes"):
        table.add_column(column)
    for caller in info.callers:
        table.add_row(
            caller["org"],
            caller["kind"],
            caller["client_id"],
            caller["client_secret"],
            caller["scopes"],
        )
    console.print(table)
    bank = next(c for c in info.callers if c["kind"] == "bank")
    police = next(c for c in info.callers if c["kind"] == "police")
    console.print("\n[bold]Ready-to-use tokens (valid 12 hours):[/bold]")
    for caller in info.callers:
        console.print(f"export TOKEN_{caller['org']}={caller['token']}", soft_wrap=True)
    base = info.base_url
    console.print(
        f"""
[bold]Try it[/bold] (after the tokens above are exported):

  # Is this payee listed? (a police-confirmed account: action "hold")
  curl -s {base}/v1/lookup -H "Authorization: Bearer $TOKEN_{bank["org"]}" \\
       -H 'Content-Type: application/json' \\
       -d '{{"kind":"bank_account","institution":"ACB","identifier":"257678859"}}'

  # Report a suspicious account
  curl -s {base}/v1/flags -H "Authorization: Bearer $TOKEN_{bank["org"]}" \\
       -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' \\
       -d '{{"subject":{{"kind":"phone","identifier":"0901 234 567"}},'\\
'"category":"INVESTMENT_CRYPTO"}}'

  # Full record and history (police)
  curl -s {base}/v1/subjects/bank_account%3A970416%3A257678859 \\
       -H "Authorization: Bearer $TOKEN_{police["org"]}"

  # A fresh token from client credentials
  curl -s {base}/v1/oauth/token -d grant_type=client_credentials \\
       -d client_id={bank["client_id"]} -d client_secret={bank["client_secret"]}

API documentation: {base}/docs
""",
        soft_wrap=True,
    )
