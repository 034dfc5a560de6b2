"""What ``GET /metrics`` costs the lookup: the same single-lookup load against two servers
on the same database, one with ``REGISTRY_METRICS_ENABLED=true``, one with ``false``.

    .venv/bin/python -m bench.run --db postgresql --metrics-overhead 5 \
        --json bench/results/metrics-overhead.json

``bench.run`` builds the data, the database and the import as for the full run, then calls
``run_metrics_overhead`` instead of the ceiling comparison. Both servers are started once
and stay up (an index of 1,000,000 subjects takes ~30 s to load); each pair is one run on
each, alternating which goes first (on/off, off/on, ...) so a drift of the machine does not
favour one side. The overhead of a pair is ``1 - on / off`` requests per second; the
reported figure is the median over the pairs.
"""

from __future__ import annotations

import http.client
import secrets
import statistics
import time
from pathlib import Path
from typing import Any

from bench.loadgen import LoadSettings

LIMIT = 0.03  # the lookup may lose at most 3% throughput to the metrics
STATE_VERIFIED = "state verified against the chain"  # app.audit.startup's log line
STATE_CHECK_TIMEOUT = 1800.0


def _wait_for_line(path: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(1)
    raise RuntimeError(f"{path}: no {text!r} within {timeout:.0f} s")


def _scrape(port: int, token: str | None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    conn.request("GET", "/metrics", headers=headers)
    response = conn.getresponse()
    text = response.read().decode(errors="replace")
    conn.close()
    return response.status, text


def _lookups_total(text: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("registry_lookups_total{")
    )


def run_metrics_overhead(
    *,
    pairs: int,
    env: dict[str, str],
    creds: dict[str, Any],
    lookup_file: Path,
    workdir: Path,
    port: int,
    loadgen: str,
    load: LoadSettings,
    warm: LoadSettings,
    ready_timeout: float,
    procs: list[Any],
) -> dict[str, Any]:
    from bench.run import VENV_BIN, Http, log, measured_load, start_process, token_for, wait_ready

    scrape_token = secrets.token_urlsafe(24)
    serve = [str(VENV_BIN / "registry"), "serve", "--host", "127.0.0.1", "--workers", "1"]
    sides: dict[str, dict[str, str]] = {
        "on": {"REGISTRY_METRICS_ENABLED": "true", "REGISTRY_METRICS_TOKEN": scrape_token},
        "off": {"REGISTRY_METRICS_ENABLED": "false"},
    }
    servers = {}
    for offset, (side, extra) in enumerate(sides.items()):
        p = port + offset
        cmd = [*serve, "--port", str(p), "--no-migrate"]
        servers[side] = start_process(f"metrics-{side}", cmd, {**env, **extra}, p, workdir)
        procs.append(servers[side])
    for side, proc in servers.items():
        began = time.perf_counter()
        wait_ready(proc, "/readyz", ready_timeout)
        log(f"metrics {side}: ready in {time.perf_counter() - began:.1f} s (port {proc.port})")
    # Each server then checks the whole state against the chain in the background (minutes
    # at 1,000,000 subjects, both cores busy): measured during it, a pair says nothing.
    for side, proc in servers.items():
        began = time.perf_counter()
        _wait_for_line(proc.log_path, STATE_VERIFIED, STATE_CHECK_TIMEOUT)
        log(f"metrics {side}: state check done after {time.perf_counter() - began:.0f} s more")
    # Both serve the same database and signing key: one token is good on both.
    control = Http(servers["on"].port)
    token = token_for(control, creds, "lookup")
    control.close()
    pids = {side: proc.server_pid() for side, proc in servers.items()}
    urls = {side: f"http://127.0.0.1:{proc.port}/v1/lookup" for side, proc in servers.items()}
    for side in ("on", "off"):
        measured_load(pids[side], loadgen, urls[side], lookup_file, token, warm)
    status_on, before = _scrape(servers["on"].port, scrape_token)
    status_off, _ = _scrape(servers["off"].port, scrape_token)
    if (status_on, status_off) != (200, 404):
        raise RuntimeError(f"/metrics: on {status_on}, off {status_off} (want 200, 404)")
    rounds: list[dict[str, Any]] = []
    for i in range(pairs):
        order = ("on", "off") if i % 2 == 0 else ("off", "on")
        pair: dict[str, Any] = {"order": list(order)}
        for side in order:
            pair[side] = measured_load(pids[side], loadgen, urls[side], lookup_file, token, load)
        pair["overhead"] = 1 - pair["on"]["rps"] / pair["off"]["rps"]
        rounds.append(pair)
        log(
            f"pair {i + 1} ({'/'.join(order)}): on {pair['on']['rps']:,.0f} req/s,"
            f" off {pair['off']['rps']:,.0f} req/s, overhead {pair['overhead']:+.2%}"
        )
    status, after = _scrape(servers["on"].port, scrape_token)
    counted = _lookups_total(after) - _lookups_total(before)
    return summarise(rounds, counted, status)


def summarise(rounds: list[dict[str, Any]], counted: float, scrape_status: int) -> dict[str, Any]:
    def med(side: str, key: str) -> float:
        return float(statistics.median(r[side][key] for r in rounds))

    served_on = sum(r["on"]["requests"] for r in rounds)
    overheads = [r["overhead"] for r in rounds]
    median_overhead = float(statistics.median(overheads))
    return {
        "pairs": len(rounds),
        "rounds": rounds,
        "median_overhead": median_overhead,
        "overheads": overheads,
        "on": {k: med("on", k) for k in ("rps", "p50_ms", "p99_ms", "server_cpu_us_per_req")},
        "off": {k: med("off", k) for k in ("rps", "p50_ms", "p99_ms", "server_cpu_us_per_req")},
        "errors": sum(r[s]["errors"] for r in rounds for s in ("on", "off")),
        # Every 200 answer of the metered runs on the metrics-on server is one counted
        # lookup (wrk leaves out the few answers still in flight when it stops).
        "lookups_counted_during_runs": counted,
        "lookups_answered_in_metered_runs": served_on,
        "final_scrape_status": scrape_status,
        "limit": LIMIT,
        "pass": median_overhead <= LIMIT,
    }


def report_lines(result: dict[str, Any]) -> list[str]:
    on, off = result["on"], result["off"]
    lines = [
        f"metrics overhead: {result['pairs']} pairs (alternating order), single lookups",
        f"{'':<16}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'CPU us/req':>12}",
    ]
    for label, row in (("metrics on", on), ("metrics off", off)):
        lines.append(
            f"{label:<16}{row['rps']:>10,.0f}{row['p50_ms']:>10.2f}{row['p99_ms']:>10.2f}"
            f"{row['server_cpu_us_per_req']:>12.0f}"
        )
    lines.append(
        "pairs (on | off req/s, overhead): "
        + "; ".join(
            f"{r['on']['rps']:,.0f} | {r['off']['rps']:,.0f} ({r['overhead']:+.2%})"
            for r in result["rounds"]
        )
    )
    verdict = "PASS" if result["pass"] else "FAIL"
    lines.append(
        f"{verdict}  median overhead {result['median_overhead']:+.2%}"
        f" (limit {result['limit']:.0%}); errors {result['errors']};"
        f" lookups counted {result['lookups_counted_during_runs']:,.0f}"
        f" (metered runs answered {result['lookups_answered_in_metered_runs']:,})"
    )
    return lines
