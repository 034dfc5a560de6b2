"""Hostile input against a real server: huge headers, deep JSON, long strings, slow clients."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.blackbox.server import Server, server_env
from tests.blackbox.test_registry_story import auth, caller


@pytest.fixture
def server(database_url: str, key_file: Path, tmp_path: Path) -> Iterator[Server]:
    srv = Server(server_env(database_url, key_file))
    srv.start(tmp_path)
    yield srv
    srv.stop()


def test_oversized_and_malformed_input_never_500(server: Server) -> None:
    bank = caller(server, "VCB", "bank", "VCB")
    http = httpx.Client(base_url=server.url, timeout=10)
    headers = auth(bank) | {"Content-Type": "application/json"}
    cases = [
        b"[" * 200_000 + b"]" * 200_000,  # deep JSON, within the body limit
        b'{"kind": "phone", "identifier": "' + b"9" * 500_000 + b'"}',
        b'{"kind": "phone", "identifier": "\\ud800"}',
        b"\xff\xfe\x00garbage",
        b'{"kind": "phone", "identifier": 1e999999}',
        b"",
    ]
    for body in cases:
        response = http.post("/v1/lookup", content=body, headers=headers)
        assert 400 <= response.status_code < 500, (body[:40], response.status_code)
        assert response.headers["content-type"] == "application/problem+json"
    big_header = http.post(
        "/v1/lookup",
        json={"kind": "phone", "identifier": "0912345678"},
        headers=auth(bank) | {"X-Junk": "x" * 100_000},
    )
    assert 400 <= big_header.status_code < 500
    assert http.get("/healthz").status_code == 200


def test_a_slow_client_does_not_hold_the_server(server: Server) -> None:
    bank = caller(server, "VCB", "bank", "VCB")
    slow = []
    for _ in range(20):  # twenty clients trickling a request one byte at a time
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"POST /v1/lookup HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        slow.append(sock)
    http = httpx.Client(base_url=server.url, timeout=5)
    started = time.monotonic()
    for _ in range(20):
        response = http.post(
            "/v1/lookup", json={"kind": "phone", "identifier": "0912345678"}, headers=auth(bank)
        )
        assert response.status_code == 200
    assert time.monotonic() - started < 5
    for sock in slow:
        sock.close()
