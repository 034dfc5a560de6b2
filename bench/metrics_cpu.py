"""The metrics' CPU cost per lookup, measured in one process without sockets.

    .venv/bin/python -m bench.metrics_cpu --json bench/results/metrics-cpu.json

Two applications on one migrated SQLite database, one with metrics on and one off, are
driven straight through ASGI with the same single-lookup requests (a police caller, so no
warning write; a few listed subjects among the identifiers). Within each round the sides
alternate every 500 lookups; a round's figure is the event loop thread's CPU time
(``time.thread_time``: not the database driver's threads, whose background refreshes
would land on whichever side is running) per request, the overhead ``on / off - 1``, and
the median over the rounds is reported.

Why beside ``bench.run --metrics-overhead``: over HTTP on this 2-core machine the load
generator shares the cores, and a pair's throughput moves by ±3 % from run to run, as much
as the limit being measured. CPU time in process has no load generator and no kernel
networking to share with, so the same cost shows with a spread well below 1 %. A server
that is CPU-bound loses throughput in proportion to CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import tempfile
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from app.auth.actor import Actor
from app.config import Settings
from app.db.migrations import upgrade_to_head
from app.db.unit_of_work import unit_of_work
from app.main import create_app
from app.organisations.service import create_client, create_organisation

LIMIT = 0.03
INSTITUTION = "970436"


def bodies(count: int) -> list[bytes]:
    return [
        json.dumps(
            {"kind": "bank_account", "institution": INSTITUTION, "identifier": f"{10**9 + n}"}
        ).encode()
        for n in range(count)
    ]


async def _caller(app: FastAPI, http: httpx.AsyncClient) -> str:
    runtime = app.state.runtime
    async with unit_of_work(runtime.db, Actor.command_line()) as uow:
        await create_organisation(uow, code="C06", name="police", kind="police", institution=None)
        client, secret = await create_client(uow, org_code="C06", scopes="lookup flags:write")
    await runtime.mirror.refresh()
    response = await http.post(
        "/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": secret,
        },
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


async def _list_some(http: httpx.AsyncClient, token: str, every: int, count: int) -> None:
    """Flag every ``every``-th identifier, so some answers are listed ones."""
    headers = {"Authorization": f"Bearer {token}"}
    for n in range(0, count, every):
        subject = {"kind": "bank_account", "institution": INSTITUTION, "identifier": f"{10**9 + n}"}
        body = {"subject": subject, "category": "IMPERSONATE_AUTHORITY", "description": "bench"}
        response = await http.post("/v1/flags", json=body, headers=headers)
        response.raise_for_status()


async def _ready(app: FastAPI, timeout: float = 120.0) -> None:
    """Until the app's own readiness check passes (index current, state checked)."""
    transport = httpx.ASGITransport(app=app)
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        while (await http.get("/readyz")).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("not ready within {timeout:.0f} s")
            await asyncio.sleep(0.2)


async def _drive(app: FastAPI, token: str, requests: list[bytes]) -> float:
    """CPU seconds for answering ``requests`` through the whole ASGI stack."""
    headers = [
        (b"host", b"bench"),
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {token}".encode()),
    ]
    failures: dict[int, int] = {}

    async def one(body: bytes) -> None:
        nonlocal failures
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal failures
            if message["type"] == "http.response.start" and message["status"] != 200:
                failures[message["status"]] = failures.get(message["status"], 0) + 1

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/lookup",
            "raw_path": b"/v1/lookup",
            "query_string": b"",
            "root_path": "",
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        await app(scope, receive, send)

    began = time.thread_time()
    for body in requests:
        await one(body)
        # A server yields to its event loop between requests; the index refresher and
        # the other background tasks run there, or the index turns stale (503).
        await asyncio.sleep(0)
    spent = time.thread_time() - began
    if failures:
        raise RuntimeError(f"lookups that did not answer 200, by status: {failures}")
    return spent


async def measure(
    requests: int, rounds: int, workdir: Path, *, control: bool = False
) -> dict[str, Any]:
    url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    scrape_token = secrets.token_urlsafe(24)
    common: dict[str, Any] = {
        "database_url": url,
        "jwt_key_file": workdir / "jwt.pem",
        "checkpoint_key_file": workdir / "checkpoint.pem",
        "gc_freeze_after_start": False,
        "rate_limit_per_second": 10**9,
        "distinct_identifiers_per_hour": 10**9,
        "token_ttl_seconds": 86400,
    }
    apps = {
        # The control run: both sides without metrics, so any "overhead" is the harness's
        # own bias between its two sides (which one wrote the data, which started first).
        "on": create_app(
            Settings(**common, metrics_enabled=not control, metrics_token=scrape_token)
        ),
        "off": create_app(Settings(**common, metrics_enabled=False)),
    }
    work = bodies(1000) * (requests // 1000 or 1)
    async with LifespanManager(apps["on"]) as on, LifespanManager(apps["off"]):
        transport = httpx.ASGITransport(app=on.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            token = await _caller(apps["on"], http)
            await _list_some(http, token, every=50, count=1000)
        for app in apps.values():
            await _ready(app)
        for app in apps.values():
            await _drive(app, token, work[:2000])  # warm up
        results: list[dict[str, float]] = []
        chunk = 500  # sides alternate every ``chunk`` lookups, so a drift hits both alike
        for i in range(rounds):
            spent = {"on": 0.0, "off": 0.0}
            for n, start in enumerate(range(0, len(work), chunk)):
                order = ("on", "off") if (n + i) % 2 == 0 else ("off", "on")
                for side in order:
                    spent[side] += await _drive(apps[side], token, work[start : start + chunk])
            per = {side: spent[side] / len(work) * 1e6 for side in spent}
            results.append({**per, "overhead": per["on"] / per["off"] - 1})
            print(
                f"round {i + 1}: on {per['on']:.1f} us, off {per['off']:.1f} us,"
                f" overhead {results[-1]['overhead']:+.2%}",
                flush=True,
            )
    overheads = [r["overhead"] for r in results]
    median = float(statistics.median(overheads))
    return {
        "requests_per_round": len(work),
        "rounds": results,
        "cpu_us_per_lookup_on": statistics.median(r["on"] for r in results),
        "cpu_us_per_lookup_off": statistics.median(r["off"] for r in results),
        "median_overhead": median,
        "spread": [min(overheads), max(overheads)],
        "control": control,
        "limit": LIMIT,
        "pass": median <= LIMIT,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000, help="lookups per side per round")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", type=Path, help="write the result here")
    parser.add_argument(
        "--control",
        action="store_true",
        help="metrics off on both sides: measures the harness's own bias (should be ~0)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        upgrade_to_head(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")  # runs its own loop
        result = asyncio.run(measure(args.requests, args.rounds, Path(tmp), control=args.control))
    verdict = "PASS" if result["pass"] else "FAIL"
    if args.control:
        verdict = "CONTROL (metrics off on both sides; the overhead is the harness's bias)"
    print(
        f"{verdict} metrics CPU per lookup: on {result['cpu_us_per_lookup_on']:.1f} us, off"
        f" {result['cpu_us_per_lookup_off']:.1f} us, median overhead"
        f" {result['median_overhead']:+.2%} (rounds {result['spread'][0]:+.2%} ..."
        f" {result['spread'][1]:+.2%}; limit {LIMIT:.0%})"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    raise SystemExit(0 if result["pass"] else 1)


if __name__ == "__main__":
    main()
