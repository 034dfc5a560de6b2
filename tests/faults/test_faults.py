"""Faults, black-box: kill -9 under write load, SIGTERM drain, database outage, and two
server processes on one database."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import databases
from tests.blackbox.server import Server, server_env
from tests.blackbox.test_registry_story import auth, caller
from tests.faults.proxy import CuttableProxy


def subject(i: int) -> dict[str, str]:
    return {"kind": "bank_account", "institution": "970436", "identifier": f"5{i:011d}"}


def report(http: httpx.Client, headers: dict[str, str], i: int, key: str) -> httpx.Response:
    return http.post(
        "/v1/flags",
        headers=auth(headers) | {"Idempotency-Key": key},
        json={"subject": subject(i), "category": "ACCOUNT_MULE"},
    )


@pytest.fixture
def make_server(database_url: str, key_file: Path, tmp_path: Path) -> Iterator[type[Server]]:
    started: list[Server] = []

    def factory(url: str = database_url, **env: str) -> Server:
        srv = Server(server_env(url, key_file, REGISTRY_SHUTDOWN_DRAIN_SECONDS="1", **env))
        srv.start(tmp_path)
        started.append(srv)
        return srv

    yield factory  # type: ignore[misc]
    for srv in started:
        srv.stop()


def write_load(
    srv: Server,
    headers: dict[str, str],
    stop: threading.Event,
    acknowledged: list[str],
    workers: int = 4,
) -> list[threading.Thread]:
    def loop(worker: int) -> None:
        http = httpx.Client(base_url=srv.url, timeout=5)
        i = 0
        while not stop.is_set():
            i += 1
            try:
                response = report(http, headers, worker * 100_000 + i, uuid.uuid4().hex)
            except httpx.HTTPError:
                continue
            if response.status_code == 201:
                acknowledged.append(response.json()["id"])

    threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in range(workers)]
    for thread in threads:
        thread.start()
    return threads


def test_kill_9_under_write_load_loses_no_acknowledged_write(make_server) -> None:  # type: ignore[no-untyped-def]
    srv = make_server()
    bank = caller(srv, "VCB", "bank", "VCB")
    acknowledged: list[str] = []
    stop = threading.Event()
    threads = write_load(srv, bank, stop, acknowledged)
    time.sleep(2)
    assert srv.process is not None
    srv.process.send_signal(signal.SIGKILL)
    srv.process.wait()
    stop.set()
    for thread in threads:
        thread.join()
    assert len(acknowledged) > 10
    srv.restart()
    http = httpx.Client(base_url=srv.url, timeout=10)
    missing = [
        fid
        for fid in acknowledged
        if http.get(f"/v1/flags/{fid}", headers=auth(bank)).status_code != 200
    ]
    assert missing == []
    assert srv.cli("audit", "verify")["ok"] is True


def test_sigterm_goes_unready_then_finishes_in_flight_requests(make_server) -> None:  # type: ignore[no-untyped-def]
    srv = make_server()
    bank = caller(srv, "VCB", "bank", "VCB")
    acknowledged: list[str] = []
    stop = threading.Event()
    threads = write_load(srv, bank, stop, acknowledged, workers=2)
    time.sleep(0.5)
    assert srv.process is not None
    srv.process.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    ready = httpx.get(f"{srv.url}/readyz", timeout=5)
    assert ready.status_code == 503 and ready.headers["retry-after"]
    # uvicorn re-raises the captured SIGTERM once it has shut down gracefully.
    assert srv.process.wait(timeout=30) in (0, -signal.SIGTERM)
    assert srv.log is not None and "Application shutdown complete" in srv.log.read_text()
    stop.set()
    for thread in threads:
        thread.join()
    srv.restart()
    http = httpx.Client(base_url=srv.url, timeout=10)
    assert all(
        http.get(f"/v1/flags/{fid}", headers=auth(bank)).status_code == 200 for fid in acknowledged
    )


@pytest.mark.skipif(databases.ENGINE != "postgresql", reason="a network database outage")
def test_database_outage_gives_503_and_recovers_by_itself(make_server, database_url: str) -> None:  # type: ignore[no-untyped-def]
    proxy = CuttableProxy(("127.0.0.1", 5432))
    url = database_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    try:
        srv = make_server(url)
        bank = caller(srv, "VCB", "bank", "VCB")
        http = httpx.Client(base_url=srv.url, timeout=10)
        assert report(http, bank, 1, "a").status_code == 201
        proxy.cut()
        started = time.monotonic()
        down = report(http, bank, 2, "b")
        assert down.status_code == 503 and down.headers["retry-after"]
        assert down.headers["content-type"] == "application/problem+json"
        assert time.monotonic() - started < 5  # fast, not a 30-second hang
        time.sleep(1.5)  # past the index freshness bound: lookups refuse rather than guess
        stale = http.post("/v1/lookup", json=subject(1), headers=auth(bank))
        assert stale.status_code == 503
        assert http.get("/readyz").status_code == 503
        proxy.restore()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if report(http, bank, 3, "c").status_code == 201:
                break
            time.sleep(0.3)
        else:
            pytest.fail("the service did not recover after the database came back")
        assert http.post("/v1/lookup", json=subject(1), headers=auth(bank)).status_code == 200
        assert http.get("/readyz").status_code == 200
    finally:
        proxy.close()


def test_two_processes_one_database(make_server) -> None:  # type: ignore[no-untyped-def]
    first = make_server()
    second = make_server()
    bank = caller(first, "VCB", "bank", "VCB")
    time.sleep(0.5)  # the second process follows the new client through the change feed
    results: list[tuple[str, int, str]] = []
    lock = threading.Lock()

    def worker(w: int) -> None:
        clients = [httpx.Client(base_url=s.url, timeout=10) for s in (first, second)]
        for i in range(15):
            key = f"k-{w}-{i}"
            # Every request is retried through the other process with the same key.
            for attempt in range(2):
                response = report(clients[(i + attempt) % 2], bank, w * 1000 + i, key)
                with lock:
                    results.append((key, response.status_code, response.json().get("id", "")))

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for _, status, _ in results} == {201}
    ids_by_key: dict[str, set[str]] = {}
    for key, _, fid in results:
        ids_by_key.setdefault(key, set()).add(fid)
    assert len(ids_by_key) == 60 and all(len(ids) == 1 for ids in ids_by_key.values())
    time.sleep(0.5)
    for srv in (first, second):
        http = httpx.Client(base_url=srv.url, timeout=10)
        answer = http.post("/v1/lookup", json=subject(3001), headers=auth(bank)).json()
        assert answer["risk"] == "low"
    verified = first.cli("audit", "verify")
    assert verified["ok"] is True
    listed = httpx.get(f"{first.url}/v1/flags", params={"limit": 500}, headers=auth(bank)).json()[
        "items"
    ]
    assert len(listed) == 60
