"""Time ``registry audit verify`` over a large chain, and its peak memory.

    python -m bench.verify_run --db-url URL --subjects 500000 [--reuse]

Imports ``--subjects`` distinct flags (two events each: the flag and the subject's new
answer, so 500,000 subjects make a 1,000,000-event chain) through the real bulk import into
the database at ``--db-url`` (which must be empty, or already built with ``--reuse``), then
runs ``registry audit verify --json`` in its own process and prints one ``BENCHJSON`` line:
events checked, wall time, ``ok``/``state_ok`` and the verifier's peak RSS (``VmHWM``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.gen_data import SubjectFactory, write_import_csv


def _registry(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, check=False
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db-url", required=True)
    parser.add_argument("--subjects", type=int, default=500_000)
    parser.add_argument("--reuse", action="store_true", help="the database is already built")
    args = parser.parse_args()
    env = {**os.environ, "REGISTRY_DATABASE_URL": args.db_url}
    if not args.reuse:
        _registry(env, "migrate")
        _registry(env, "org", "create", "--code", "C06", "--name", "C06", "--kind", "police")
        with tempfile.TemporaryDirectory() as tmp:
            csv = Path(tmp) / "flags.csv"
            write_import_csv(csv, SubjectFactory(), args.subjects, sample_size=1)
            started = time.perf_counter()
            done = _registry(env, "import", str(csv), "--org", "C06", "--json")
            if done.returncode != 0:
                raise SystemExit(done.stderr[-2000:])
            print(f"imported in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    # The verifier in a fresh process, which reports its own peak RSS.
    started = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    report = json.loads(child.stdout.strip().splitlines()[-1])
    verify = report["verify"]
    print(
        "BENCHJSON "
        + json.dumps(
            {
                "events": verify.get("checked"),
                "ok": verify.get("ok"),
                "state_ok": verify.get("state_ok"),
                "seconds": round(seconds, 1),
                "peak_rss_mb": report["peak_rss_mb"],
            }
        )
    )


# Runs the verifier in a fresh process and reports its own high-water mark of memory.
_CHILD = """
import asyncio, json, resource
from app.audit.command import run_read
from app.audit.verify import verify_chain
result = run_read(verify_chain).model_dump(mode="json")
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"verify": result, "peak_rss_mb": round(peak)}))
"""


if __name__ == "__main__":
    main()
