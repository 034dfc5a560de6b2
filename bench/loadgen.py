"""The load generator: wrk when it is installed, else a bundled asyncio client.

Both POST JSON bodies read from a file (one per line), rotating over them, on a fixed
number of keep-alive connections for a fixed time, and report the same numbers
(requests, duration, errors, p50/p90/p99/max latency in microseconds).

The fallback runs as its own process, like wrk, so that the harness's process does not
compete with it:

    python -m bench.loadgen --url http://127.0.0.1:8701/v1/lookup --bodies FILE \
        --token TOKEN --connections 32 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LUA_SCRIPT = Path(__file__).with_name("post_bodies.lua")


@dataclass(frozen=True)
class LoadSettings:
    connections: int
    threads: int  # wrk threads (the asyncio client always uses one process, one loop)
    duration: float  # seconds
    timeout: float = 10.0  # a response slower than this counts as a timeout error

    def as_dict(self) -> dict[str, Any]:
        return {
            "connections": self.connections,
            "threads": self.threads,
            "duration_s": self.duration,
            "timeout_s": self.timeout,
        }


def wrk_path() -> str | None:
    return shutil.which("wrk")


def tool_name(prefer: str = "auto") -> str:
    if prefer == "python":
        return "python"
    if wrk_path() is not None:
        return "wrk"
    if prefer == "wrk":
        raise SystemExit("wrk requested but not found on PATH (apt-get install -y wrk)")
    return "python"


def tool_version(tool: str) -> str:
    if tool == "wrk":
        out = subprocess.run(
            [wrk_path() or "wrk", "-v"], capture_output=True, text=True, check=False
        )
        return (out.stdout + out.stderr).splitlines()[0].strip()
    return f"bench.loadgen (asyncio streams, Python {sys.version.split()[0]})"


def _parse(output: str) -> dict[str, Any]:
    for line in output.splitlines():
        if line.startswith("BENCHJSON "):
            result: dict[str, Any] = json.loads(line.removeprefix("BENCHJSON "))
            return result
    raise RuntimeError(f"load generator printed no result:\n{output[-2000:]}")


def run_load(
    tool: str, url: str, bodies: Path, token: str | None, settings: LoadSettings
) -> dict[str, Any]:
    """One timed run against ``url``; returns the raw numbers plus ``rps`` and ms figures."""
    if tool == "wrk":
        cmd = [
            wrk_path() or "wrk",
            f"-t{settings.threads}",
            f"-c{settings.connections}",
            f"-d{max(1, round(settings.duration))}s",
            f"--timeout={max(1, math.ceil(settings.timeout))}s",
            "-s",
            str(LUA_SCRIPT),
            url,
            "--",
            str(bodies),
            token or "-",
        ]
    else:
        cmd = [
            sys.executable,
            "-m",
            "bench.loadgen",
            "--url",
            url,
            "--bodies",
            str(bodies),
            "--token",
            token or "-",
            "--connections",
            str(settings.connections),
            "--duration",
            str(settings.duration),
            "--timeout",
            str(settings.timeout),
        ]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        timeout=settings.duration + 120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    raw = _parse(proc.stdout)
    seconds = raw["duration_us"] / 1e6
    errors = sum(
        raw[k]
        for k in (
            "connect_errors",
            "read_errors",
            "write_errors",
            "status_errors",
            "timeout_errors",
        )
    )
    return {
        **raw,
        "errors": errors,
        "rps": raw["requests"] / seconds if seconds else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
    }


# --------------------------------------------------------------------------------------
# The bundled asyncio client (used when wrk is absent)


def _percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, int]:
    """Read one HTTP/1.1 response; return (status, bytes read)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    size = len(head)
    if length is not None:
        await reader.readexactly(length)
        size += length
    elif chunked:
        while True:
            line = await reader.readuntil(b"\r\n")
            n = int(line.split(b";")[0].strip(), 16)
            await reader.readexactly(n + 2)
            size += len(line) + n + 2
            if n == 0:
                break
    return status, size


async def _client(
    host: str,
    port: int,
    requests: list[bytes],
    start: int,
    deadline: float,
    timeout: float,
    latencies: list[float],
    counters: dict[str, int],
) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        counters["connect_errors"] += 1
        return
    i = start
    try:
        while time.perf_counter() < deadline:
            request = requests[i % len(requests)]
            i += 1
            began = time.perf_counter()
            writer.write(request)
            try:
                status, size = await asyncio.wait_for(_read_response(reader), timeout)
            except TimeoutError:
                counters["timeout_errors"] += 1
                return
            latencies.append(time.perf_counter() - began)
            counters["bytes"] += size
            if status >= 400:
                counters["status_errors"] += 1
    except (OSError, asyncio.IncompleteReadError, ValueError):
        counters["read_errors"] += 1
    finally:
        writer.close()


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    path = url.path or "/"
    headers = f"Host: {host}:{port}\r\nContent-Type: application/json\r\n"
    if args.token and args.token != "-":
        headers += f"Authorization: Bearer {args.token}\r\n"
    requests = []
    for line in Path(args.bodies).read_text(encoding="utf-8").splitlines():
        if line:
            body = line.encode()
            requests.append(
                f"POST {path} HTTP/1.1\r\n{headers}Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
    latencies: list[float] = []
    counters = dict.fromkeys(
        (
            "connect_errors",
            "read_errors",
            "write_errors",
            "status_errors",
            "timeout_errors",
            "bytes",
        ),
        0,
    )
    began = time.perf_counter()
    deadline = began + args.duration
    await asyncio.gather(
        *(
            _client(host, port, requests, c * 7919, deadline, args.timeout, latencies, counters)
            for c in range(args.connections)
        )
    )
    elapsed = time.perf_counter() - began
    latencies.sort()
    us = [x * 1e6 for x in latencies]
    return {
        "tool": "python",
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        **counters,
        "p50_us": int(_percentile(us, 50)),
        "p90_us": int(_percentile(us, 90)),
        "p99_us": int(_percentile(us, 99)),
        "max_us": int(us[-1]) if us else 0,
        "mean_us": sum(us) / len(us) if us else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="asyncio HTTP/1.1 load generator")
    parser.add_argument("--url", required=True)
    parser.add_argument("--bodies", required=True)
    parser.add_argument("--token", default="-")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(_run(args))
    else:
        result = uvloop.run(_run(args))
    print("BENCHJSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
