"""Smoke test of the benchmark harness (issue 6): a tiny end-to-end run on SQLite.

Not collected by CI (``testpaths = ["tests"]``); run it on purpose:

    .venv/bin/pytest bench/test_bench_smoke.py -q

It builds 2,000 subjects, imports them, starts the registry and the ceiling app, and runs
every phase for one second, so it checks the plumbing, not the numbers (~30-40 s).
"""

from __future__ import annotations

import json
from pathlib import Path

from bench import run


def test_quick_run_produces_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    result = run.main(
        [
            "--quick",
            "--db",
            "sqlite",
            "--subjects",
            "2000",
            "--rounds",
            "1",
            "--duration",
            "1",
            "--warmup",
            "1",
            "--lookup-bodies",
            "500",
            "--batch-bodies",
            "2",
            "--freshness-repeats",
            "3",
            "--port",
            "8771",
            "--workdir",
            str(tmp_path / "work"),
            "--json",
            str(out),
        ]
    )
    saved = json.loads(out.read_text())
    assert saved["settings"]["subjects"] == 2000
    assert result["import"]["rows"] == 2000 and result["import"]["committed"]
    assert result["change_feed"]["rows"] == 2000
    for section in ("ceiling", "single_lookup"):
        assert result[section]["median"]["rps"] > 0
    assert result["single_lookup"]["median"]["errors"] == 0
    assert result["batch"]["sequential"]["requests"] > 0
    assert result["server"]["rss_after_load_mb"] > 0
    assert result["freshness"]["repeats"] == 3
    assert {t["name"] for t in saved["targets"]} >= {
        "single lookup throughput",
        "cross-process freshness",
    }
    assert all(isinstance(t["pass"], bool) for t in saved["targets"])
