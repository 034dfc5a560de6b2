"""Issue 12 benchmark: lookup latency with and without a flood of bad client credentials.

    PYTHONPATH=. .venv/bin/python -m bench.token_flood --db sqlite
    PYTHONPATH=. .venv/bin/python -m bench.token_flood --db postgresql --json out.json

Builds a fresh database (SQLite file, or PostgreSQL database ``registry_flood_bench``),
creates a bank and its client with the CLI, starts a real ``registry serve`` (1 worker), then
for each configuration, ``limited`` (the defaults: failed authentications limited per address
and client, refused before scrypt) and ``unlimited`` (the limits set out of reach: every bad
attempt runs scrypt, as before issue 12):

1. ``--lookups`` single lookups on ``--connections`` keep-alive connections, alone;
2. the same while ``--flooders`` tasks (in a process of their own) post bad credentials to
   ``/v1/oauth/token`` in a loop.

Prints lookup p50/p99 (ms) per phase and the flood's status counts and rate. The client is
Python (httpx) in this process, so compare the phases of one run with each other, not with
bench/run.py's wrk figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
SUBJECT = {"kind": "bank_account", "institution": "970436", "identifier": "012345678901"}
PG_ADMIN = os.environ.get("REGISTRY_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
UNLIMITED = str(10**9)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cli(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "app", *args, "--json"],
        env=env,
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout)


def database_url(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{workdir / 'flood.db'}"
    import asyncpg

    async def recreate() -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute('DROP DATABASE IF EXISTS "registry_flood_bench" WITH (FORCE)')
            await conn.execute('CREATE DATABASE "registry_flood_bench"')
        finally:
            await conn.close()

    asyncio.run(recreate())
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/registry_flood_bench"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def lookups(url: str, token: str, count: int, connections: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    remaining = count
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                began = time.perf_counter()
                answer = await http.post("/v1/lookup", json=SUBJECT, headers=headers)
                latencies.append((time.perf_counter() - began) * 1000)
                errors += answer.status_code != 200

        await asyncio.gather(*(worker() for _ in range(connections)))
    return {
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "count": len(latencies),
        "errors": errors,
    }


async def flood(url: str, client_id: str, stop: Any, flooders: int) -> Counter[int]:
    statuses: Counter[int] = Counter()
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:

        async def worker() -> None:
            while not stop.is_set():
                answer = await http.post(
                    "/v1/oauth/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": client_id,
                        "client_secret": "not-the-secret",
                    },
                )
                statuses[answer.status_code] += 1

        await asyncio.gather(*(worker() for _ in range(flooders)))
    return statuses


def flood_process(url: str, client_id: str, stop: Any, flooders: int, out: Any) -> None:
    """The flood, in a process of its own so that it does not slow the measuring client."""
    out.put(dict(asyncio.run(flood(url, client_id, stop, flooders))))


def measure(url: str, token: str, client_id: str, args: argparse.Namespace) -> dict[str, Any]:
    asyncio.run(lookups(url, token, 200, args.connections))  # warm up
    alone = asyncio.run(lookups(url, token, args.lookups, args.connections))
    context = multiprocessing.get_context("spawn")
    stop, out = context.Event(), context.Queue()
    began = time.perf_counter()
    flooding = context.Process(
        target=flood_process, args=(url, client_id, stop, args.flooders, out)
    )
    flooding.start()
    time.sleep(1.0)
    during = asyncio.run(lookups(url, token, args.lookups, args.connections))
    stop.set()
    statuses: dict[int, int] = out.get(timeout=60)
    flooding.join(timeout=30)
    elapsed = time.perf_counter() - began
    return {
        "alone": alone,
        "during_flood": during,
        "flood_statuses": {str(k): v for k, v in sorted(statuses.items())},
        "flood_requests_per_s": round(sum(statuses.values()) / elapsed, 1),
    }


def run_config(
    name: str, env: dict[str, str], workdir: Path, args: argparse.Namespace, client: dict[str, str]
) -> dict[str, Any]:
    port = free_port()
    log = (workdir / f"serve-{name}.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port), "--no-migrate"],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"server did not start, see {log.name}")
            time.sleep(0.2)
        token = httpx.post(
            f"{url}/v1/oauth/token",
            data={"grant_type": "client_credentials", **client},
        ).json()["access_token"]
        return measure(url, token, client["client_id"], args)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--lookups", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--flooders", type=int, default=6)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="registry-flood-"))
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        env.update(
            REGISTRY_DATABASE_URL=database_url(args.db, workdir),
            REGISTRY_JWT_KEY_FILE=str(workdir / "jwt.pem"),
            REGISTRY_RATE_LIMIT_PER_SECOND=UNLIMITED,
            PYTHONPATH=str(REPO),
        )
        cli(env, "migrate")
        org = ["--code", "BENCH", "--name", "Bench", "--kind", "bank", "--institution", "970436"]
        cli(env, "org", "create", *org)
        created = cli(env, "client", "create", "--org", "BENCH", "--scopes", "lookup")
        client = {"client_id": created["client_id"], "client_secret": created["client_secret"]}
        unlimited = env | {
            "REGISTRY_TOKEN_FAILURES_PER_ADDRESS": UNLIMITED,
            "REGISTRY_TOKEN_FAILURES_PER_CLIENT_ADDRESS": UNLIMITED,
            "REGISTRY_TOKEN_FAILURES_PER_CLIENT": UNLIMITED,
        }
        result: dict[str, Any] = {"db": args.db, "settings": vars(args) | {"json": None}}
        for name, config in (("limited", env), ("unlimited", unlimited)):
            result[name] = run_config(name, config, workdir, args, client)
            print(name, json.dumps(result[name]), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
