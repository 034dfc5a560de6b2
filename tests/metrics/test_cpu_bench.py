"""The in-process metrics benchmark (bench/metrics_cpu.py) runs: both sides answer every
lookup 200 and the figures it reports are the ones it measured (plumbing, not numbers)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.db.migrations import upgrade_to_head
from bench.metrics_cpu import measure


def test_the_cpu_benchmark_measures_both_sides(tmp_path: Path) -> None:
    upgrade_to_head(f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}")
    result = asyncio.run(measure(1000, 2, tmp_path))
    assert result["requests_per_round"] == 1000
    assert len(result["rounds"]) == 2
    for side in ("on", "off"):
        assert all(r[side] > 0 for r in result["rounds"])
    overheads = sorted(r["overhead"] for r in result["rounds"])
    assert result["spread"] == [overheads[0], overheads[-1]]
