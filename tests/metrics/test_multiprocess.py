"""A real ``registry serve --workers 2``: one scrape adds up what every worker counted."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from tests.blackbox.server import REGISTRY, Server, server_env
from tests.metrics.conftest import TOKEN
from tests.metrics.helpers import SCRAPE, matching, parse

ENV = "PROMETHEUS_MULTIPROC_DIR"


class Workers(Server):
    """``registry serve --workers 2`` on a free port."""

    def start(self, log_dir: Path) -> None:
        self.log = log_dir / f"server-{self.port}.log"
        self.process = subprocess.Popen(
            [*REGISTRY, "serve", "--port", str(self.port), "--workers", "2"],
            env=self.env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        until(lambda: self._ready() and len(self.workers()) == 2, 60, self.log)

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            assert self.process is not None and self.process.poll() is None, self.log_text()
            return False

    def log_text(self) -> str:
        return self.log.read_text() if self.log else ""

    def workers(self) -> dict[int, Path]:
        """pid -> metrics directory of each serving child (the ones given the variable)."""
        assert self.process is not None
        try:
            kids = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except OSError:
            return {}
        out = {}
        for pid in map(int, kids.split()):
            try:
                if b"spawn_main" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                    continue  # not a worker (multiprocessing's resource tracker, say)
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            for entry in environ:
                if entry.startswith(ENV.encode() + b"="):
                    out[pid] = Path(entry.split(b"=", 1)[1].decode())
        return out


def until(check: Callable[[], bool], seconds: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s\n{log.read_text() if log else ''}")


@pytest.fixture
def workers(database_url: str, key_file: Path, tmp_path: Path) -> Iterator[Workers]:
    env = server_env(database_url, key_file, REGISTRY_METRICS_TOKEN=TOKEN)
    env[ENV] = str(tmp_path / "inherited-and-ignored")  # the command makes its own
    srv = Workers(env)
    srv.start(tmp_path)
    yield srv
    srv.stop()


def scrape(srv: Server) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{srv.url}/metrics", headers=SCRAPE, timeout=10)
    assert response.status_code == 200, response.text
    return parse(response.text)


def lookups(srv: Server) -> float:
    return matching(scrape(srv), "registry_lookups_total")


def per_worker(directory: Path, pid: int) -> float:
    """The lookups one worker wrote into its own file."""
    files = [str(p) for p in directory.glob(f"counter_{pid}.db")]
    return sum(
        s.value
        for metric in MultiProcessCollector.merge(files)
        if metric.name == "registry_lookups"
        for s in metric.samples
        if s.name == "registry_lookups_total"
    )


def test_totals_add_up_across_workers(workers: Workers) -> None:
    directory = set(workers.workers().values())
    assert len(directory) == 1
    path = directory.pop()
    assert path != Path(workers.env[ENV]) and path.is_dir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    workers.cli(
        "org", "create", "--code", "VCB", "--name", "VCB", "--kind", "bank", "--institution", "VCB"
    )
    client = workers.cli("client", "create", "--org", "VCB", "--scopes", "lookup")
    form = {
        "grant_type": "client_credentials",
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
    }
    token = httpx.post(f"{workers.url}/v1/oauth/token", data=form).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert lookups(workers) == 0

    def one(i: int) -> Any:
        subject = {"kind": "phone", "identifier": f"09{i:08d}"}
        # A new connection each time, so both workers take some.
        response = httpx.post(f"{workers.url}/v1/lookup", json=subject, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["action"]

    done = 0
    pids = list(workers.workers())
    with ThreadPoolExecutor(max_workers=8) as pool:
        while done < 400 and (done < 40 or not all(per_worker(path, p) for p in pids)):
            assert set(pool.map(one, range(done, done + 40))) == {"allow"}
            done += 40
    items = [{"kind": "phone", "identifier": "0900000001"}] * 3
    batch = httpx.post(f"{workers.url}/v1/lookup/batch", json={"items": items}, headers=headers)
    assert batch.status_code == 200
    expected = done + 3
    # The worker answering the scrape flushes first; the other flushes every second.
    until(lambda: lookups(workers) == expected, 10)
    assert sum(per_worker(path, p) for p in pids) == expected
    assert all(per_worker(path, p) > 0 for p in pids), "one worker took every connection"
    samples = scrape(workers)
    route = {"route": "/v1/lookup", "method": "POST", "status": "200"}
    assert matching(samples, "registry_http_requests_total", **route) == done
    starts = {dict(k[1])["pid"] for k, _ in samples.items() if k[0].startswith("registry_worker_")}
    assert starts == {str(p) for p in pids}

    # A worker killed outright: its counts stay in the totals, its live gauge goes.
    killed = pids[0]
    os.kill(killed, signal.SIGKILL)
    until(lambda: len(set(workers.workers()) - {killed}) == 2, 60, workers.log)

    def gauge_pids() -> set[str]:
        found = scrape(workers)
        return {dict(k[1])["pid"] for k, _ in found.items() if k[0].startswith("registry_worker_")}

    until(lambda: str(killed) not in gauge_pids() and len(gauge_pids()) == 2, 20, workers.log)
    assert lookups(workers) == expected

    workers.stop()
    assert workers.process is not None and workers.process.wait(timeout=30) == 0
    assert not path.exists()
