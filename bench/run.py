"""Issue 6 benchmark: the registry against the framework's own ceiling, on this machine.

    .venv/bin/python -m bench.run --db postgresql --subjects 1000000 \
        --json bench/results/latest.json
    .venv/bin/python -m bench.run --quick --db sqlite        # ~1 minute smoke run

Steps (see bench/README.md for how to read the output):
 1. generate a CSV of N distinct subjects and the lookup / batch request bodies;
 2. build a fresh database (SQLite file, or PostgreSQL database ``registry_bench``),
    ``registry migrate``, create the organisations and clients with the CLI;
 3. import the CSV through the real bulk path (``app.imports.service.import_flags`` in
    its own process, or ``registry import`` with ``--import-via cli``);
 4. start ``registry serve --workers 1 --no-migrate`` and ``bench/ceiling_app.py`` with
    the same uvicorn settings; read the server's RSS once it has loaded N subjects;
 5. alternate ceiling / lookup rounds with the same load generator and settings;
 6. batch lookups of 1,000 identifiers; the change feed from 0 to the head;
 7. a second ``registry serve`` on the same database: flag through one, poll the other;
 8. print medians and PASS/FAIL per target; write everything as JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import importlib.metadata
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from bench import gen_data
from bench.import_runner import proc_status_kb
from bench.loadgen import LoadSettings, run_load, tool_name, tool_version

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
MB = 1024.0

# Targets of issue 6.
TARGET_RPS_RATIO = 0.7
TARGET_P99_RATIO = 1.5
TARGET_BATCH_P50_MS = 20.0
TARGET_BATCH_IDS_PER_S = 100_000
TARGET_IMPORT_SECONDS_PER_MILLION = 120.0
TARGET_SERVER_RSS_MB = 300.0
TARGET_FRESHNESS_S = 1.0

IMPORT_ORG = "BENCHREP"
LOOKUP_ORG = "BENCHLOOK"


def log(message: str) -> None:
    stamp = datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# processes


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy (all CPUs) since boot."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / CLOCK_TICKS


def children_cpu_s() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured_load(
    pid: int, tool: str, url: str, bodies: Path, token: str | None, settings: LoadSettings
) -> dict[str, Any]:
    """``run_load`` plus where the CPU went: the target server, the load generator, and
    everything else on the machine (the database server, and any foreign load: a high
    ``other_cpu_s`` on a run means its numbers were disturbed)."""
    load_before = os.getloadavg()[0]
    server0, machine0, gen0 = proc_cpu_s(pid), machine_busy_s(), children_cpu_s()
    result = run_load(tool, url, bodies, token, settings)
    server = proc_cpu_s(pid) - server0
    machine = machine_busy_s() - machine0
    gen = children_cpu_s() - gen0
    result.update(
        {
            "server_cpu_s": server,
            "server_cpu_us_per_req": server / result["requests"] * 1e6
            if result["requests"]
            else 0.0,
            "loadgen_cpu_s": gen,
            "machine_busy_s": machine,
            "other_cpu_s": max(0.0, machine - server - gen),
            "loadavg_1m_before": load_before,
        }
    )
    return result


@dataclass
class Proc:
    """A server process this harness started (and alone stops, by its pid)."""

    name: str
    popen: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def server_pid(self) -> int:
        """The process that serves: itself with one worker (uvicorn runs in-process)."""
        kids = children(self.pid)
        return kids[0] if len(kids) == 1 and self._is_python(kids[0]) else self.pid

    @staticmethod
    def _is_python(pid: int) -> bool:
        try:
            return "python" in Path(f"/proc/{pid}/comm").read_text()
        except OSError:
            return False

    def rss_mb(self) -> float | None:
        kb = proc_status_kb("VmRSS", str(self.server_pid()))
        return None if kb is None else kb / MB

    def hwm_mb(self) -> float | None:
        kb = proc_status_kb("VmHWM", str(self.server_pid()))
        return None if kb is None else kb / MB

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)


def start_process(name: str, cmd: list[str], env: dict[str, str], port: int, workdir: Path) -> Proc:
    log_path = workdir / f"{name}.log"
    log_file = log_path.open("wb")
    popen = subprocess.Popen(
        cmd, env=env, cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )
    log_file.close()
    return Proc(name, popen, port, log_path)


# --------------------------------------------------------------------------------------
# HTTP control plane (stdlib, keep-alive)


class Http:
    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 60.0) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        form: dict[str, str] | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        hdrs = dict(headers or {})
        data = None
        if form is not None:
            data = urlencode(form).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        try:
            self.conn.request(method, path, body=data, headers=hdrs)
            resp = self.conn.getresponse()
            raw = resp.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            raise
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, raw.decode(errors="replace")

    def close(self) -> None:
        self.conn.close()


def wait_ready(proc: Proc, path: str, timeout: float, method: str = "GET") -> float:
    """Seconds until ``path`` answers 200; raises if the process dies or time runs out."""
    began = time.perf_counter()
    while True:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.log_tail()}")
        try:
            client = Http(proc.port, timeout=5)
            status, _ = client.call(method, path)
            client.close()
            if status == 200:
                return time.perf_counter() - began
        except OSError:
            pass
        if time.perf_counter() - began > timeout:
            raise RuntimeError(f"{proc.name} not ready after {timeout:.0f} s:\n{proc.log_tail()}")
        time.sleep(0.1)


# --------------------------------------------------------------------------------------
# database and CLI


def pg_target_url(admin_dsn: str, name: str) -> str:
    parts = urlsplit(admin_dsn)
    return urlunsplit(("postgresql+asyncpg", parts.netloc, "/" + name, parts.query, ""))


async def _pg_recreate(admin_dsn: str, name: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
        version: str = await conn.fetchval("SELECT version()")
    finally:
        await conn.close()
    return version


async def _pg_size(url: str) -> int:
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn)
    try:
        size: int = await conn.fetchval("SELECT pg_database_size(current_database())")
    finally:
        await conn.close()
    return size


def prepare_database(args: argparse.Namespace, workdir: Path) -> tuple[str, str]:
    """A fresh, empty database; returns (REGISTRY_DATABASE_URL, engine description)."""
    if args.db == "sqlite":
        import sqlite3

        path = workdir / "registry_bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite+aiosqlite:///{path}", f"SQLite {sqlite3.sqlite_version} ({path})"
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", args.pg_database):
        raise SystemExit(f"bad database name {args.pg_database!r}")
    version = asyncio.run(_pg_recreate(args.pg_admin_dsn, args.pg_database))
    return pg_target_url(args.pg_admin_dsn, args.pg_database), version


def registry_cli(env: dict[str, str], *argv: str) -> str:
    cmd = [str(VENV_BIN / "registry"), *argv]
    proc = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def cli_json(env: dict[str, str], *argv: str) -> dict[str, Any]:
    out = registry_cli(env, *argv, "--json")
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            result: dict[str, Any] = json.loads(line)
            return result
    raise RuntimeError(f"no JSON from registry {' '.join(argv)}: {out}")


def run_import(args: argparse.Namespace, env: dict[str, str], csv_path: Path) -> dict[str, Any]:
    """The bulk import in a child process; peak RSS from wait4()'s rusage (and VmHWM)."""
    if args.import_via == "cli":
        cmd = [str(VENV_BIN / "registry"), "import", str(csv_path), "--org", IMPORT_ORG]
    else:
        cmd = [sys.executable, "-m", "bench.import_runner", "--org", IMPORT_ORG]
        cmd += ["--file", str(csv_path), "--ttl-days", str(args.ttl_days)]
    out_path = csv_path.with_suffix(".import.out")
    began = time.perf_counter()
    with out_path.open("wb") as out:
        popen = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=out, stderr=subprocess.PIPE)
        assert popen.stderr is not None
        for line in popen.stderr:  # progress lines, forwarded
            text = line.decode(errors="replace").rstrip()
            if text:
                log(text)
        _, status, rusage = os.wait4(popen.pid, 0)
        popen.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - began
    output = out_path.read_text(errors="replace")
    if popen.returncode != 0:
        raise RuntimeError(f"import failed ({popen.returncode}):\n{output[-3000:]}")
    result: dict[str, Any] = {"command": cmd, "process_wall_seconds": wall}
    for line in output.splitlines():
        if line.startswith("BENCHJSON "):
            result.update(json.loads(line.removeprefix("BENCHJSON ")))
    result.setdefault("seconds", wall)
    result["peak_rss_mb"] = rusage.ru_maxrss / MB  # KiB on Linux
    return result


async def _pg_analyze(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def split_csv(path: Path, chunk_rows: int) -> list[Path]:
    """The import file cut into files of ``chunk_rows`` data rows, each with the header."""
    parts: list[Path] = []
    with path.open("rb") as source:
        header = source.readline()
        out = None
        count = 0
        for line in source:
            if out is None or count == chunk_rows:
                if out is not None:
                    out.close()
                parts.append(path.with_name(f"{path.stem}.part{len(parts) + 1:03d}.csv"))
                out = parts[-1].open("wb")
                out.write(header)
                count = 0
            out.write(line)
            count += 1
        if out is not None:
            out.close()
    return parts


def run_imports(
    args: argparse.Namespace, env: dict[str, str], csv_path: Path, db_url: str
) -> dict[str, Any]:
    """One file through the import (the real test), or, with ``--import-chunk-rows``, the
    same rows as several files imported one after the other (a workaround, reported as
    such), with ``ANALYZE`` between files on PostgreSQL when ``--analyze-between-chunks``."""
    if not args.import_chunk_rows or args.import_chunk_rows >= args.subjects:
        return {**run_import(args, env, csv_path), "chunked": False}
    parts = split_csv(csv_path, args.import_chunk_rows)
    chunks, analyze_s = [], 0.0
    for i, part in enumerate(parts, 1):
        result = run_import(args, env, part)
        chunks.append(result)
        log(
            f"  chunk {i}/{len(parts)}: {result['rows']:,} rows in {result['seconds']:.1f} s"
            f" ({result['rows'] / result['seconds']:,.0f} rows/s)"
        )
        if not result.get("committed", True) or result.get("error_count"):
            break
        if args.db == "postgresql" and args.analyze_between_chunks:
            t = time.perf_counter()
            asyncio.run(_pg_analyze(db_url))
            analyze_s += time.perf_counter() - t
    for part in parts:
        part.unlink(missing_ok=True)
        part.with_suffix(".import.out").unlink(missing_ok=True)
    return {
        "chunked": True,
        "chunk_rows": args.import_chunk_rows,
        "files": len(parts),
        "analyze_between_chunks": args.db == "postgresql" and args.analyze_between_chunks,
        "analyze_seconds": analyze_s,
        "rows": sum(c["rows"] for c in chunks),
        "created": sum(c.get("created", 0) for c in chunks),
        "error_count": sum(c.get("error_count", 0) for c in chunks),
        "committed": all(c.get("committed", True) for c in chunks),
        "seconds": sum(c["seconds"] for c in chunks),
        "process_wall_seconds": sum(c["process_wall_seconds"] for c in chunks),
        "peak_rss_mb": max(c["peak_rss_mb"] for c in chunks),
        "chunks": chunks,
    }


# --------------------------------------------------------------------------------------
# measurements


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "rps": median_of(runs, "rps"),
        "p50_ms": median_of(runs, "p50_ms"),
        "p90_ms": median_of(runs, "p90_ms"),
        "p99_ms": median_of(runs, "p99_ms"),
        "max_ms": max(r["max_ms"] for r in runs),
        "requests": sum(r["requests"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "status_errors": sum(r["status_errors"] for r in runs),
        "server_cpu_us_per_req": median_of(runs, "server_cpu_us_per_req"),
        "other_cpu_s": median_of(runs, "other_cpu_s"),
        "loadgen_cpu_s": median_of(runs, "loadgen_cpu_s"),
    }


def token_for(client: Http, creds: dict[str, Any], scope: str) -> str:
    status, body = client.call(
        "POST",
        "/v1/oauth/token",
        form={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "scope": scope,
        },
    )
    if status != 200:
        raise RuntimeError(f"token for {scope!r}: {status} {body}")
    return str(body["access_token"])


def read_change_feed(port: int, token: str, limit: int) -> dict[str, Any]:
    client = Http(port, timeout=120)
    after, rows, pages, head = 0, 0, 0, None
    page_ms: list[float] = []
    began = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        status, body = client.call("GET", f"/v1/changes?after={after}&limit={limit}", token=token)
        page_ms.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            raise RuntimeError(f"GET /v1/changes: {status} {body}")
        pages += 1
        if head is None:
            head = int(body["registry_version"])
        rows += len(body["items"])
        if not body["items"] or body["next_after"] >= head:
            break
        after = int(body["next_after"])
    seconds = time.perf_counter() - began
    client.close()
    page_ms.sort()
    return {
        "rows": rows,
        "pages": pages,
        "head": head,
        "seconds": seconds,
        "rows_per_s": rows / seconds if seconds else 0.0,
        "page_p50_ms": statistics.median(page_ms),
        "page_p99_ms": page_ms[min(len(page_ms) - 1, int(len(page_ms) * 0.99))],
        "limit": limit,
    }


def measure_freshness(
    writer_port: int,
    reader_port: int,
    flag_token: str,
    lookup_token: str,
    subjects: list[gen_data.Generated],
    poll_interval: float,
    give_up: float,
    rng: random.Random,
) -> dict[str, Any]:
    """Flag through one process, poll the lookup on the other until the answer changes.

    Each flag is sent after a random pause: without it every flag would be sent right after
    the previous change was seen, i.e. right after the reader's poll, and every sample would
    wait one whole poll interval.
    """
    writer, reader = Http(writer_port), Http(reader_port)
    samples = []
    for subject in subjects:
        time.sleep(rng.uniform(0.05, 0.6))
        status, before = reader.call("POST", "/v1/lookup", body=subject.body(), token=lookup_token)
        if status != 200 or before["action"] != "allow":
            raise RuntimeError(f"freshness probe not clean: {status} {before}")
        body = {
            "subject": subject.body(),
            "category": "ACCOUNT_MULE",
            "description": "bench: cross-process freshness probe",
        }
        sent = time.perf_counter()
        status, created = writer.call(
            "POST",
            "/v1/flags",
            body=body,
            token=flag_token,
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        committed = time.perf_counter()
        if status != 201:
            raise RuntimeError(f"POST /v1/flags: {status} {created}")
        polls, changed_at, answer = 0, None, None
        next_poll = committed
        while time.perf_counter() - committed < give_up:
            status, answer = reader.call(
                "POST", "/v1/lookup", body=subject.body(), token=lookup_token
            )
            polls += 1
            if status == 200 and answer["action"] != "allow":
                changed_at = time.perf_counter()
                break
            next_poll += poll_interval
            time.sleep(max(0.0, next_poll - time.perf_counter()))
        if changed_at is None:
            raise RuntimeError(f"{subject.key}: answer unchanged after {give_up} s: {answer}")
        samples.append(
            {
                "key": subject.key,
                "post_ms": (committed - sent) * 1000,
                # From the 201 (commit acknowledged) to the changed answer: a lower bound.
                "after_201_s": changed_at - committed,
                # From sending the POST (before the commit): an upper bound.
                "after_post_sent_s": changed_at - sent,
                "polls": polls,
                "action": answer["action"] if answer else None,
            }
        )
    writer.close()
    reader.close()
    upper = [s["after_post_sent_s"] for s in samples]
    lower = [s["after_201_s"] for s in samples]
    return {
        "repeats": len(samples),
        "poll_interval_ms": poll_interval * 1000,
        "median_s": statistics.median(upper),
        "max_s": max(upper),
        "median_after_201_s": statistics.median(lower),
        "max_after_201_s": max(lower),
        "samples": samples,
    }


# --------------------------------------------------------------------------------------
# profiling (optional)


def py_spy_binary(explicit: str | None) -> str | None:
    for candidate in (explicit, shutil.which("py-spy"), "/tmp/pyspy/bin/py-spy"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def profile_run(
    py_spy: str,
    pid: int,
    seconds: float,
    out: Path,
    fmt: str,
    load: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    cmd = [py_spy, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds)))]
    cmd += ["--rate", "250", "--nonblocking", "--format", fmt, "--output", str(out)]
    spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)
    result = load()
    _, err = spy.communicate(timeout=seconds + 60)
    if spy.returncode != 0:
        log(f"py-spy failed: {err.decode(errors='replace')[-500:]}")
    return {"file": str(out), "format": fmt, "load": result}


# --------------------------------------------------------------------------------------
# report


@dataclass
class Target:
    name: str
    wanted: str
    value: str
    passed: bool
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "target": self.wanted,
            "value": self.value,
            "pass": self.passed,
            "note": self.note,
        }


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)

    def add(self, text: str = "") -> None:
        self.lines.append(text)
        print(text, flush=True)


def machine_info(db_version: str, args: argparse.Namespace, loadgen: str) -> dict[str, Any]:
    cpu_model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    packages = {}
    for name in (
        "fastapi", "starlette", "uvicorn", "uvloop", "httptools", "pydantic",
        "pydantic-core", "sqlalchemy", "asyncpg", "aiosqlite",
    ):  # fmt: skip
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_total_mb": None if mem_kb is None else round(mem_kb / MB),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "database": args.db,
        "database_version": db_version,
        "load_generator": loadgen,
        "packages": packages,
    }


def _fmt_ms(x: float) -> str:
    return f"{x:,.2f} ms"


def build_targets(res: dict[str, Any], n: int) -> list[Target]:
    full = n >= 1_000_000
    partial = "" if full else f"indicative only: N={n:,} (targets are for 1,000,000)"
    chunked = (
        f"WORKAROUND: imported as {res['import']['files']} files of"
        f" {res['import']['chunk_rows']:,} rows, not one file"
        if res["import"].get("chunked")
        else ""
    )
    single, ceiling = res["single_lookup"]["median"], res["ceiling"]["median"]
    batch = res["batch"]
    imp = res["import"]
    srv = res["server"]
    fresh = res["freshness"]
    rps_ratio = single["rps"] / ceiling["rps"] if ceiling["rps"] else 0.0
    p99_ratio = single["p99_ms"] / ceiling["p99_ms"] if ceiling["p99_ms"] else float("inf")
    per_million = imp["seconds"] * 1_000_000 / max(imp["rows"], 1)
    targets = [
        Target(
            "single lookup throughput",
            f">= {TARGET_RPS_RATIO} x ceiling requests/s",
            f"{single['rps']:,.0f} / {ceiling['rps']:,.0f} req/s = {rps_ratio:.2f} x",
            rps_ratio >= TARGET_RPS_RATIO,
        ),
        Target(
            "single lookup p99",
            f"<= {TARGET_P99_RATIO} x ceiling p99",
            f"{_fmt_ms(single['p99_ms'])} / {_fmt_ms(ceiling['p99_ms'])} = {p99_ratio:.2f} x",
            p99_ratio <= TARGET_P99_RATIO,
        ),
        Target(
            "batch of 1,000: p50",
            f"< {TARGET_BATCH_P50_MS:.0f} ms (1 connection: client latency bounds server time)",
            _fmt_ms(batch["sequential"]["p50_ms"]),
            batch["sequential"]["p50_ms"] < TARGET_BATCH_P50_MS,
        ),
        Target(
            "batch of 1,000: throughput",
            f">= {TARGET_BATCH_IDS_PER_S:,} identifiers/s",
            f"{batch['identifiers_per_s']:,.0f} identifiers/s",
            batch["identifiers_per_s"] >= TARGET_BATCH_IDS_PER_S,
        ),
        Target(
            "import speed",
            f"1,000,000 flags < {TARGET_IMPORT_SECONDS_PER_MILLION:.0f} s"
            f" (>= {1_000_000 / TARGET_IMPORT_SECONDS_PER_MILLION:,.0f} rows/s)",
            f"{imp['rows']:,} rows in {imp['seconds']:.1f} s = {imp['rows_per_s']:,.0f} rows/s"
            f" ({per_million:.0f} s per million)",
            per_million < TARGET_IMPORT_SECONDS_PER_MILLION,
            "; ".join(x for x in (partial, chunked) if x),
        ),
        Target(
            "import memory bounded",
            f"importer peak RSS < {res['settings']['import_rss_limit_mb']:.0f} MB"
            " (bound chosen by the harness; the issue names none)",
            f"{imp['peak_rss_mb']:.0f} MB",
            imp["peak_rss_mb"] < res["settings"]["import_rss_limit_mb"],
            "; ".join(x for x in (partial, chunked) if x),
        ),
        Target(
            "server RSS with N subjects",
            f"< {TARGET_SERVER_RSS_MB:.0f} MB per worker",
            f"{srv['rss_after_load_mb']:.0f} MB after loading {n:,} subjects"
            f" (after the load runs {srv['rss_after_runs_mb']:.0f} MB,"
            f" peak {srv['hwm_mb']:.0f} MB)",
            srv["rss_after_load_mb"] < TARGET_SERVER_RSS_MB,
            partial,
        ),
        Target(
            "cross-process freshness",
            f"< {TARGET_FRESHNESS_S:.0f} s (max over repeats, from sending the flag)",
            f"median {fresh['median_s'] * 1000:.0f} ms, max {fresh['max_s'] * 1000:.0f} ms",
            fresh["max_s"] < TARGET_FRESHNESS_S,
        ),
    ]
    lookup_errors = res["single_lookup"]["median"]["errors"] + batch["sequential"]["errors"]
    targets.append(
        Target(
            "no errors under load",
            "0 non-2xx / socket errors in the lookup and batch runs",
            f"{lookup_errors} errors",
            lookup_errors == 0,
        )
    )
    return targets


def print_report(res: dict[str, Any], report: Report) -> None:
    m, s = res["machine"], res["settings"]
    n = s["subjects"]
    report.add("")
    report.add("=" * 78)
    report.add(
        f"Registry benchmark (issue 6) - {m['database']} - {n:,} subjects"
        f"{' - QUICK' if s['quick'] else ''}"
    )
    report.add(
        f"machine: {m['nproc']} CPU ({m['cpu_model']}), {m['memory_total_mb']:,} MB,"
        f" Python {m['python']}"
    )
    report.add(f"database: {m['database_version'][:90]}")
    load = s["load"]
    report.add(
        f"load: {m['load_generator']}; {load['connections']} connections,"
        f" {load['threads']} threads, {load['duration_s']:.0f} s x {s['rounds']} rounds"
        f" per target (alternating), {s['listed_share']:.0%} listed identifiers"
    )
    report.add("-" * 78)
    single, ceiling = res["single_lookup"]["median"], res["ceiling"]["median"]
    report.add(f"{'single request (medians)':<28}{'req/s':>12}{'p50':>12}{'p99':>12}{'errors':>10}")
    for label, row in (("ceiling (bare FastAPI)", ceiling), ("POST /v1/lookup", single)):
        report.add(
            f"{label:<28}{row['rps']:>12,.0f}{row['p50_ms']:>10.2f}ms{row['p99_ms']:>10.2f}ms"
            f"{row['errors']:>10}"
        )
    report.add(
        f"{'ratio lookup/ceiling':<28}{single['rps'] / ceiling['rps']:>11.2f}x"
        f"{single['p50_ms'] / ceiling['p50_ms']:>11.2f}x"
        f"{single['p99_ms'] / ceiling['p99_ms']:>11.2f}x"
    )
    report.add(
        f"{'server CPU per request':<28}{ceiling['server_cpu_us_per_req']:>10.0f}us"
        f"{single['server_cpu_us_per_req']:>10.0f}us"
        f"  ({single['server_cpu_us_per_req'] / ceiling['server_cpu_us_per_req']:.2f}x)"
    )
    report.add(
        f"{'CPU s per run: loadgen/other':<28}"
        f"{ceiling['loadgen_cpu_s']:>7.1f}/{ceiling['other_cpu_s']:.1f}"
        f"{single['loadgen_cpu_s']:>8.1f}/{single['other_cpu_s']:.1f}"
        "  (other = database server + foreign load)"
    )
    rounds = res["single_lookup"]["rounds"]
    report.add(
        "rounds (ceiling | lookup req/s): "
        + ", ".join(
            f"{c['rps']:,.0f} | {lk['rps']:,.0f}"
            for c, lk in zip(res["ceiling"]["rounds"], rounds, strict=True)
        )
    )
    for label, run in res.get("diagnostics", {}).items():
        report.add(
            f"{'lookup, ' + label:<28}{run['rps']:>12,.0f}{run['p50_ms']:>10.2f}ms"
            f"{run['p99_ms']:>10.2f}ms{run['errors']:>10}  (diagnostic, 1 run,"
            f" {run['server_cpu_us_per_req']:.0f} us CPU/req)"
        )
    b = res["batch"]
    report.add(
        f"batch of {b['size']:,} (1 conn):       p50 {b['sequential']['p50_ms']:.2f} ms,"
        f" p99 {b['sequential']['p99_ms']:.2f} ms,"
        f" {b['sequential']['rps'] * b['size']:,.0f} identifiers/s"
    )
    report.add(
        f"batch of {b['size']:,} ({b['concurrent']['connections']} conns):      "
        f" p50 {b['concurrent']['p50_ms']:.2f} ms, p99 {b['concurrent']['p99_ms']:.2f} ms,"
        f" {b['concurrent']['rps'] * b['size']:,.0f} identifiers/s"
    )
    imp = res["import"]
    report.add(
        f"import:                     {imp['rows']:,} rows in {imp['seconds']:.1f} s ="
        f" {imp['rows_per_s']:,.0f} rows/s, importer peak RSS {imp['peak_rss_mb']:.0f} MB"
        + (
            f" [{imp['files']} files of {imp['chunk_rows']:,} rows; ANALYZE between:"
            f" {imp['analyze_seconds']:.1f} s]"
            if imp.get("chunked")
            else ""
        )
    )
    cf = res["change_feed"]
    report.add(
        f"change feed (limit {cf['limit']}):    {cf['rows']:,} rows in {cf['seconds']:.1f} s ="
        f" {cf['rows_per_s']:,.0f} rows/s ({cf['pages']} pages,"
        f" p50 {cf['page_p50_ms']:.1f} ms/page)"
    )
    srv = res["server"]
    report.add(
        f"server RSS:                 {srv['rss_after_load_mb']:.0f} MB after loading"
        f" ({srv['startup_seconds']:.1f} s to ready), {srv['rss_after_runs_mb']:.0f} MB after"
        f" the runs, peak {srv['hwm_mb']:.0f} MB; second server {srv['second_rss_mb']:.0f} MB"
    )
    fr = res["freshness"]
    report.add(
        f"freshness (2 processes):    median {fr['median_s'] * 1000:.0f} ms, max"
        f" {fr['max_s'] * 1000:.0f} ms from sending the flag (from the 201: median"
        f" {fr['median_after_201_s'] * 1000:.0f} ms, max {fr['max_after_201_s'] * 1000:.0f} ms),"
        f" {fr['repeats']} repeats"
    )
    report.add("-" * 78)
    for t in res["targets"]:
        note = f"  [{t['note']}]" if t["note"] else ""
        report.add(f"{'PASS' if t['pass'] else 'FAIL'}  {t['name']}: {t['value']}")
        report.add(f"      target {t['target']}{note}")
    report.add("=" * 78)


# --------------------------------------------------------------------------------------
# main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Benchmark the registry against a bare FastAPI ceiling (issue 6).",
    )
    p.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    p.add_argument("--subjects", type=int, help="listed subjects (default 1,000,000; quick 20,000)")
    p.add_argument("--quick", action="store_true", help="20,000 subjects, 3 s rounds (~1 min)")
    p.add_argument("--json", type=Path, help="write the results here as JSON")
    p.add_argument("--rounds", type=int, default=3, help="ceiling/lookup rounds (default 3)")
    p.add_argument("--duration", type=float, help="seconds per round (default 10; quick 3)")
    p.add_argument(
        "--warmup", type=float, help="seconds of warm-up per target (default 3; quick 1)"
    )
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--batch-connections", type=int, default=4, help="for batch throughput")
    p.add_argument("--listed-share", type=float, default=0.2)
    p.add_argument("--lookup-bodies", type=int, default=10_000, help="distinct single bodies")
    p.add_argument("--batch-bodies", type=int, default=16, help="distinct batch bodies")
    p.add_argument("--changes-limit", type=int, default=500)
    p.add_argument("--freshness-repeats", type=int, default=10)
    p.add_argument("--freshness-poll-ms", type=float, default=10.0)
    p.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    p.add_argument("--import-via", choices=("service", "cli"), default="service")
    p.add_argument("--ttl-days", type=float, default=90.0, help="TTL of imported reports")
    p.add_argument("--import-rss-limit-mb", type=float, default=512.0)
    p.add_argument(
        "--import-chunk-rows",
        type=int,
        default=0,
        help="workaround: import the CSV as files of this many rows (default: one file)",
    )
    p.add_argument(
        "--analyze-between-chunks",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="PostgreSQL: ANALYZE after each chunk (default on)",
    )
    p.add_argument("--pg-admin-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--pg-database", default="registry_bench")
    p.add_argument("--workdir", type=Path, help="scratch files (default /tmp/registry-bench-DB)")
    p.add_argument("--port", type=int, default=8701, help="first of three ports")
    p.add_argument("--ready-timeout", type=float, default=900.0)
    p.add_argument("--seed", type=int, default=20260101)
    p.add_argument("--profile", type=Path, help="also run py-spy on the server; write here")
    p.add_argument("--py-spy", help="path to py-spy (default: PATH, then /tmp/pyspy/bin)")
    p.add_argument("--log-level", default="INFO", help="REGISTRY_LOG_LEVEL of the servers")
    p.add_argument(
        "--diagnostics",
        action="store_true",
        help="also one lookup run with 0%% and one with 100%% listed identifiers (not judged)",
    )
    p.add_argument(
        "--metrics-overhead",
        type=int,
        default=0,
        metavar="PAIRS",
        help="instead of the ceiling comparison: PAIRS alternating lookup runs against a"
        " server with metrics on and one with metrics off (bench/metrics_overhead.py)",
    )
    args = p.parse_args(argv)
    if args.subjects is None:
        args.subjects = 20_000 if args.quick else 1_000_000
    if args.duration is None:
        args.duration = 3.0 if args.quick else 10.0
    if args.warmup is None:
        args.warmup = 1.0 if args.quick else 3.0
    if args.workdir is None:
        args.workdir = Path(f"/tmp/registry-bench-{args.db}")
    if args.subjects < 100:
        p.error("--subjects must be at least 100")
    if args.threads > args.connections:
        p.error("--threads must not exceed --connections")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    started = datetime.now(UTC)
    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    loadgen = tool_name(args.loadgen)
    load = LoadSettings(args.connections, args.threads, args.duration)
    warm = LoadSettings(args.connections, args.threads, args.warmup)
    n = args.subjects
    rng = random.Random(args.seed)
    procs: list[Proc] = []
    res: dict[str, Any] = {"benchmark": "issue-6 registry lookup benchmark"}
    phases: dict[str, float] = {}

    def phase(name: str, began: float) -> None:
        phases[name] = round(time.perf_counter() - began, 3)

    try:
        # 1. data
        t = time.perf_counter()
        log(f"generating {n:,} subjects and request bodies in {workdir}")
        factory = gen_data.SubjectFactory(args.seed)
        csv_path = workdir / f"flags-{n}.csv"
        listed = gen_data.write_import_csv(
            csv_path, factory, n, sample_size=min(n, max(5_000, args.lookup_bodies))
        )
        spare = 2 * args.lookup_bodies + args.batch_bodies * args.batch_size
        not_listed = iter(gen_data.unlisted(factory, spare))
        singles = gen_data.mixed(listed, not_listed, args.lookup_bodies, args.listed_share, rng)
        lookup_file = workdir / "lookup-bodies.jsonl"
        gen_data.write_lines(lookup_file, [gen_data.dumps(s.body()) for s in singles])
        batch_file = workdir / "batch-bodies.jsonl"
        batches = []
        for _ in range(args.batch_bodies):
            items = gen_data.mixed(listed, not_listed, args.batch_size, args.listed_share, rng)
            batches.append(gen_data.dumps({"items": [s.body() for s in items]}))
        gen_data.write_lines(batch_file, batches)
        allow_file = workdir / "lookup-bodies-unlisted.jsonl"
        gen_data.write_lines(
            allow_file,
            [gen_data.dumps(next(not_listed).body()) for _ in range(args.lookup_bodies)],
        )
        listed_file = workdir / "lookup-bodies-listed.jsonl"
        gen_data.write_lines(listed_file, [gen_data.dumps(s.body()) for s in listed])
        fresh_subjects = gen_data.unlisted(factory, args.freshness_repeats)
        phase("generate", t)
        res["data"] = {
            "subjects": n,
            "csv": str(csv_path),
            "csv_bytes": csv_path.stat().st_size,
            "lookup_bodies": args.lookup_bodies,
            "batch_bodies": args.batch_bodies,
            "listed_share": args.listed_share,
            "kinds_in_lookup_bodies": {
                k: sum(1 for s in singles if s.kind == k)
                for k in ("bank_account", "ewallet", "phone")
            },
        }

        # 2. database, organisations, clients
        t = time.perf_counter()
        db_url, db_version = prepare_database(args, workdir)
        log(f"database: {db_url}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        registry_env = {
            "REGISTRY_DATABASE_URL": db_url,
            "REGISTRY_JWT_KEY_FILE": str(workdir / "jwt-key.pem"),
            "REGISTRY_CHECKPOINT_KEY_FILE": str(workdir / "checkpoint-key.pem"),
            "REGISTRY_RATE_LIMIT_PER_SECOND": str(10**9),
            "REGISTRY_DISTINCT_IDENTIFIERS_PER_HOUR": str(10**9),
            "REGISTRY_TOKEN_TTL_SECONDS": "86400",
            "REGISTRY_SHUTDOWN_DRAIN_SECONDS": "0",
            "REGISTRY_LOG_LEVEL": args.log_level,
            # REGISTRY_METRICS_ENABLED=false in the caller's environment: a run without
            # metrics (--metrics-overhead compares both in one run).
            "REGISTRY_METRICS_ENABLED": os.environ.get("REGISTRY_METRICS_ENABLED", "true"),
        }
        env.update(registry_env)
        (workdir / "jwt-key.pem").unlink(missing_ok=True)
        registry_cli(env, "migrate")
        cli_json(
            env, "org", "create", "--code", IMPORT_ORG, "--name", "Bench reporting bank",
            "--kind", "bank", "--institution", "VCB",
        )  # fmt: skip
        cli_json(
            env, "org", "create", "--code", LOOKUP_ORG, "--name", "Bench looking-up bank",
            "--kind", "bank", "--institution", "ACB",
        )  # fmt: skip
        creds = cli_json(
            env, "client", "create", "--org", LOOKUP_ORG, "--scopes", "lookup sync flags:write"
        )
        phase("database_setup", t)

        # 3. import
        t = time.perf_counter()
        log(f"importing {n:,} flags ({args.import_via}) ...")
        imp = run_imports(args, env, csv_path, db_url)
        imp["rows_per_s"] = imp["rows"] / imp["seconds"] if imp["seconds"] else 0.0
        if not imp.get("committed", True) or imp.get("error_count"):
            raise RuntimeError(f"import did not commit: {imp}")
        res["import"] = imp
        log(
            f"imported {imp['rows']:,} rows in {imp['seconds']:.1f} s"
            f" ({imp['rows_per_s']:,.0f} rows/s), peak RSS {imp['peak_rss_mb']:.0f} MB"
        )
        phase("import", t)
        if args.db == "postgresql":
            res["database_bytes_after_import"] = asyncio.run(_pg_size(db_url))
        else:
            res["database_bytes_after_import"] = (workdir / "registry_bench.db").stat().st_size

        if args.metrics_overhead:
            return metrics_overhead(args, env, creds, lookup_file, loadgen, load, warm, procs)

        # 4. servers
        t = time.perf_counter()
        port_a, port_b, port_c = args.port, args.port + 1, args.port + 2
        serve = [str(VENV_BIN / "registry"), "serve", "--host", "127.0.0.1", "--workers", "1"]
        server = start_process(
            "server-a", [*serve, "--port", str(port_a), "--no-migrate"], env, port_a, workdir
        )
        procs.append(server)
        ceiling = start_process(
            "ceiling",
            [sys.executable, "-m", "bench.ceiling_app", "--port", str(port_c),
             "--log-level", args.log_level],
            env, port_c, workdir,
        )  # fmt: skip
        procs.append(ceiling)
        startup = wait_ready(server, "/readyz", args.ready_timeout)
        wait_ready(ceiling, "/openapi.json", 60)
        time.sleep(1.0)  # let the allocator settle before reading RSS
        rss_loaded = server.rss_mb() or 0.0
        log(f"server ready in {startup:.1f} s, RSS {rss_loaded:.0f} MB (pid {server.server_pid()})")
        phase("server_start", t)

        control = Http(port_a)
        lookup_token = token_for(control, creds, "lookup")
        sync_token = token_for(control, creds, "sync")
        flag_token = token_for(control, creds, "flags:write")
        # sanity: a listed subject warns, an unlisted one is allowed; the ceiling answers
        probe_listed = next(s for s in singles if s.key in {x.key for x in listed})
        status, body = control.call(
            "POST", "/v1/lookup", body=probe_listed.body(), token=lookup_token
        )
        if status != 200 or body["action"] == "allow":
            raise RuntimeError(f"listed probe {probe_listed.key}: {status} {body}")
        probe_free = fresh_subjects[0]
        status, body = control.call(
            "POST", "/v1/lookup", body=probe_free.body(), token=lookup_token
        )
        if status != 200 or body["action"] != "allow":
            raise RuntimeError(f"unlisted probe {probe_free.key}: {status} {body}")
        status, body = Http(port_c).call("POST", "/v1/lookup", body=probe_free.body())
        if status != 200:
            raise RuntimeError(f"ceiling probe: {status} {body}")

        # 5. single lookups, alternating with the ceiling
        t = time.perf_counter()
        spid, cpid = server.server_pid(), ceiling.server_pid()
        url_a = f"http://127.0.0.1:{port_a}/v1/lookup"
        url_c = f"http://127.0.0.1:{port_c}/v1/lookup"
        log(
            f"warm-up ({args.warmup:.0f} s each), then {args.rounds} rounds x {args.duration:.0f} s"
        )
        measured_load(cpid, loadgen, url_c, lookup_file, lookup_token, warm)
        measured_load(spid, loadgen, url_a, lookup_file, lookup_token, warm)
        ceiling_runs, lookup_runs = [], []
        for r in range(args.rounds):
            c = measured_load(cpid, loadgen, url_c, lookup_file, lookup_token, load)
            ceiling_runs.append(c)
            lk = measured_load(spid, loadgen, url_a, lookup_file, lookup_token, load)
            lookup_runs.append(lk)
            log(
                f"round {r + 1}: ceiling {c['rps']:,.0f} req/s p99 {c['p99_ms']:.2f} ms |"
                f" lookup {lk['rps']:,.0f} req/s p99 {lk['p99_ms']:.2f} ms"
                f" (errors {lk['errors']})"
            )
        res["ceiling"] = {"rounds": ceiling_runs, "median": summarise(ceiling_runs)}
        res["single_lookup"] = {"rounds": lookup_runs, "median": summarise(lookup_runs)}
        phase("single_lookup", t)
        if args.diagnostics:
            # Where does the lookup's cost come from: the allow path, or warn/hold answers
            # (which store a warning before answering)?
            t = time.perf_counter()
            diag = {}
            for label, bodies in (("0% listed", allow_file), ("100% listed", listed_file)):
                run = measured_load(spid, loadgen, url_a, bodies, lookup_token, load)
                diag[label] = run
                log(
                    f"diagnostic lookup, {label}: {run['rps']:,.0f} req/s,"
                    f" p50 {run['p50_ms']:.2f} ms, p99 {run['p99_ms']:.2f} ms,"
                    f" {run['server_cpu_us_per_req']:.0f} us CPU/req"
                )
            res["diagnostics"] = diag
            phase("diagnostics", t)

        # 6. batch, change feed
        t = time.perf_counter()
        url_batch = f"http://127.0.0.1:{port_a}/v1/lookup/batch"
        seq_settings = LoadSettings(1, 1, args.duration)
        con_settings = LoadSettings(
            args.batch_connections, min(args.threads, args.batch_connections), args.duration
        )
        measured_load(
            spid, loadgen, url_batch, batch_file, lookup_token, LoadSettings(1, 1, args.warmup)
        )
        seq = measured_load(spid, loadgen, url_batch, batch_file, lookup_token, seq_settings)
        con = measured_load(spid, loadgen, url_batch, batch_file, lookup_token, con_settings)
        res["batch"] = {
            "size": args.batch_size,
            "sequential": {**seq, "connections": 1},
            "concurrent": {**con, "connections": args.batch_connections},
            "identifiers_per_s": max(seq["rps"], con["rps"]) * args.batch_size,
        }
        log(
            f"batch: 1 conn p50 {seq['p50_ms']:.1f} ms p99 {seq['p99_ms']:.1f} ms;"
            f" {args.batch_connections} conns {con['rps'] * args.batch_size:,.0f} ids/s"
        )
        phase("batch", t)
        t = time.perf_counter()
        res["change_feed"] = read_change_feed(port_a, sync_token, args.changes_limit)
        log(
            f"change feed: {res['change_feed']['rows']:,} rows,"
            f" {res['change_feed']['rows_per_s']:,.0f} rows/s"
        )
        phase("change_feed", t)
        rss_after_runs = server.rss_mb() or 0.0

        # 7. freshness across two processes
        t = time.perf_counter()
        second = start_process(
            "server-b", [*serve, "--port", str(port_b), "--no-migrate"], env, port_b, workdir
        )
        procs.append(second)
        second_startup = wait_ready(second, "/readyz", args.ready_timeout)
        res["freshness"] = measure_freshness(
            port_a,
            port_b,
            flag_token,
            lookup_token,
            fresh_subjects,
            args.freshness_poll_ms / 1000,
            give_up=10.0,
            rng=rng,
        )
        log(
            f"freshness: median {res['freshness']['median_s'] * 1000:.0f} ms,"
            f" max {res['freshness']['max_s'] * 1000:.0f} ms"
        )
        phase("freshness", t)
        res["server"] = {
            "pid": server.server_pid(),
            "startup_seconds": startup,
            "rss_after_load_mb": rss_loaded,
            "rss_after_runs_mb": rss_after_runs,
            "hwm_mb": server.hwm_mb() or 0.0,
            "second_startup_seconds": second_startup,
            "second_rss_mb": second.rss_mb() or 0.0,
        }

        # optional: profiles of the server under the same loads
        if args.profile is not None:
            spy = py_spy_binary(args.py_spy)
            if spy is None:
                log("--profile: py-spy not found (pip install py-spy); skipped")
            else:
                args.profile.mkdir(parents=True, exist_ok=True)
                pid = server.server_pid()

                def lookups() -> dict[str, Any]:
                    return measured_load(spid, loadgen, url_a, lookup_file, lookup_token, load)

                def batches() -> dict[str, Any]:
                    return measured_load(
                        spid, loadgen, url_batch, batch_file, lookup_token, con_settings
                    )

                def ceilings() -> dict[str, Any]:
                    return measured_load(cpid, loadgen, url_c, lookup_file, lookup_token, load)

                out, pid, secs = args.profile, server.server_pid(), args.duration
                res["profiles"] = [
                    profile_run(spy, pid, secs, out / "lookup.txt", "raw", lookups),
                    profile_run(spy, pid, secs, out / "lookup.svg", "flamegraph", lookups),
                    profile_run(spy, pid, secs, out / "batch.txt", "raw", batches),
                    profile_run(spy, pid, secs, out / "batch.svg", "flamegraph", batches),
                    profile_run(
                        spy, ceiling.server_pid(), secs, out / "ceiling.txt", "raw", ceilings
                    ),
                ]
                log(f"profiles written to {args.profile}")
        control.close()
    finally:
        for proc in reversed(procs):
            proc.stop()

    res["machine"] = machine_info(db_version, args, f"{loadgen}: {tool_version(loadgen)}")
    res["settings"] = {
        "command": [Path(sys.executable).name, "-m", "bench.run", *(argv or sys.argv[1:])],
        "quick": args.quick,
        "subjects": n,
        "rounds": args.rounds,
        "warmup_s": args.warmup,
        "load": load.as_dict(),
        "batch_size": args.batch_size,
        "batch_connections": args.batch_connections,
        "listed_share": args.listed_share,
        "changes_limit": args.changes_limit,
        "freshness_repeats": args.freshness_repeats,
        "freshness_poll_ms": args.freshness_poll_ms,
        "import_via": args.import_via,
        "import_chunk_rows": args.import_chunk_rows,
        "analyze_between_chunks": args.analyze_between_chunks,
        "import_org_kind": "bank",
        "ttl_days": args.ttl_days,
        "import_rss_limit_mb": args.import_rss_limit_mb,
        "seed": args.seed,
        "server": {
            "command": "registry serve --host 127.0.0.1 --port P --workers 1 --no-migrate",
            "ceiling_command": "python -m bench.ceiling_app --port P",
            "uvicorn": "workers=1, loop=auto, http=auto, access_log=False, server_header=False",
            "loop": "uvloop" if _installed("uvloop") else "asyncio",
            "http": "httptools" if _installed("httptools") else "h11",
            "env": registry_env,
        },
        "ports": {"server_a": args.port, "server_b": args.port + 1, "ceiling": args.port + 2},
        "workdir": str(workdir),
    }
    res["phases_s"] = phases
    res["started_at"] = started.isoformat()
    res["finished_at"] = datetime.now(UTC).isoformat()
    res["targets"] = [t.as_dict() for t in build_targets(res, n)]
    report = Report()
    print_report(res, report)
    res["printed"] = report.lines
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=2, default=str) + "\n")
        log(f"results written to {args.json}")
    return res


def metrics_overhead(
    args: argparse.Namespace,
    env: dict[str, str],
    creds: dict[str, Any],
    lookup_file: Path,
    loadgen: str,
    load: LoadSettings,
    warm: LoadSettings,
    procs: list[Proc],
) -> dict[str, Any]:
    """``--metrics-overhead``: on/off pairs of single-lookup runs; prints and writes them."""
    from bench.metrics_overhead import report_lines, run_metrics_overhead

    result = run_metrics_overhead(
        pairs=args.metrics_overhead,
        env=env,
        creds=creds,
        lookup_file=lookup_file,
        workdir=args.workdir,
        port=args.port,
        loadgen=loadgen,
        load=load,
        warm=warm,
        ready_timeout=args.ready_timeout,
        procs=procs,
    )
    result["command"] = [Path(sys.executable).name, "-m", "bench.run", *sys.argv[1:]]
    result["subjects"] = args.subjects
    result["database"] = args.db
    result["load"] = {**load.as_dict(), "generator": f"{loadgen}: {tool_version(loadgen)}"}
    report = Report()
    for line in report_lines(result):
        report.add(line)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
        log(f"results written to {args.json}")
    return result


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
    main()
