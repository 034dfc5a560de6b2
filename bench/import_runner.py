"""Run the real bulk import (``app.imports.service.import_flags``) in its own process.

    python -m bench.import_runner --org CODE --file FLAGS.csv [--ttl-days 90]

Configured by the same ``REGISTRY_*`` variables as ``registry``. Prints one line
``BENCHJSON {...}`` with the report, the wall time of ``import_flags`` and this process's
peak RSS (``VmHWM``), so the harness can judge "bounded memory" for the importer alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any


def proc_status_kb(field: str, pid: str = "self") -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


async def _run(org: str, path: Path, ttl_days: float, quiet: bool) -> dict[str, Any]:
    from app.config import get_settings
    from app.db.engine import create_database
    from app.imports.service import import_flags

    db = create_database(get_settings())
    started = time.perf_counter()
    last = [started]

    def progress(rows: int) -> None:
        now = time.perf_counter()
        if not quiet and now - last[0] >= 5:
            last[0] = now
            rss = proc_status_kb("VmRSS") or 0
            print(
                f"  import: {rows:,} rows read, {now - started:.0f} s, "
                f"{rows / (now - started):,.0f} rows/s, RSS {rss / 1024:.0f} MB",
                file=sys.stderr,
                flush=True,
            )

    try:
        report = await import_flags(db, org, path, ttl_days=ttl_days, progress=progress)
    finally:
        await db.dispose()
    elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "rows": report.rows,
        "created": report.created,
        "skipped": report.skipped,
        "error_count": report.error_count,
        "errors": [f"row {e.row} {e.field}: {e.message}" for e in report.errors[:10]],
        "committed": report.committed,
        "peak_rss_kb": proc_status_kb("VmHWM"),
        "rss_kb_at_end": proc_status_kb("VmRSS"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--org", required=True)
    parser.add_argument("--file", required=True, type=Path)
    parser.add_argument("--ttl-days", type=float, default=90.0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(_run(args.org, args.file, args.ttl_days, args.quiet))
    print("BENCHJSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
