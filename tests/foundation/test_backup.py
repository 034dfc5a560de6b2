"""`registry backup` while the server writes, and the README's restore: the copy verifies,
and a feed client ahead of the restored head is told (409) instead of skipping changes."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import databases
from tests.blackbox.server import REGISTRY, Server, serving
from tests.blackbox.test_registry_story import auth, caller

sqlite_only = pytest.mark.skipif(databases.ENGINE != "sqlite", reason="SQLite online backup")
postgresql_only = pytest.mark.skipif(databases.ENGINE != "postgresql", reason="pg_dump")


@pytest.fixture
def server(database_url: str, key_file: Path, tmp_path: Path) -> Iterator[Server]:
    with serving(database_url, key_file, tmp_path) as srv:
        yield srv


def registry(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*REGISTRY, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def verify(env: dict[str, str], url: str) -> dict[str, object]:
    done = registry(env | {"REGISTRY_DATABASE_URL": url}, "audit", "verify", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def flag(http: httpx.Client, headers: dict[str, str], n: int) -> None:
    subject = {"kind": "phone", "identifier": f"09{n:08d}"}
    body = {"subject": subject, "category": "FAKE_SHOP", "description": "backup test"}
    response = http.post("/v1/flags", json=body, headers=auth(headers))
    assert response.status_code == 201, response.text


@sqlite_only
def test_backups_taken_while_writing_verify_and_a_restore_refuses_a_cursor_ahead(
    server: Server, tmp_path: Path
) -> None:
    bank = caller(server, "VCB", "bank", "VCB")
    http = httpx.Client(base_url=server.url, timeout=10)
    stop, written = threading.Event(), [0]

    def writer() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as own:
            while not stop.is_set():
                flag(own, bank, written[0])
                written[0] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        copies = []
        for i in range(3):
            target = tmp_path / f"backup-{i}.db"
            done = registry(server.env, "backup", str(target), "--json")
            assert done.returncode == 0, done.stderr
            copies.append((target, json.loads(done.stdout)))
    finally:
        stop.set()
        thread.join()
    assert written[0] > 0
    for target, report in copies:
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert not Path(f"{target}-wal").exists()  # one self-contained file
        result = verify(server.env, f"sqlite:///{target}")
        assert result["ok"] is True and result["state_ok"] is True, result
        assert result["head_seq"] == report["head_seq"]
    live_head = http.get("/v1/changes", headers=auth(bank)).json()["registry_version"]
    first_backup_head = copies[0][1]["head_seq"]
    assert live_head > first_backup_head

    # The README's restore: stop, copy the backup over the database, verify, start.
    server.stop()
    live = Path(server.env["REGISTRY_DATABASE_URL"].split("///", 1)[1])
    for suffix in ("-wal", "-shm"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    subprocess.run(["cp", str(copies[0][0]), str(live)], check=True)
    assert verify(server.env, server.env["REGISTRY_DATABASE_URL"])["ok"] is True
    server.restart()
    ahead = http.get("/v1/changes", params={"after": live_head}, headers=auth(bank))
    assert ahead.status_code == 409, ahead.text
    assert ahead.json()["registry_version"] == first_backup_head


@sqlite_only
def test_backup_refuses_to_overwrite_or_copy_onto_the_live_file(
    database_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env["REGISTRY_DATABASE_URL"] = database_url
    target = tmp_path / "copy.db"
    target.write_text("keep me")
    done = registry(env, "backup", str(target))
    assert done.returncode == 1 and "--force" in done.stderr
    assert target.read_text() == "keep me"
    assert registry(env, "backup", str(target), "--force").returncode == 0
    assert target.read_bytes().startswith(b"SQLite format 3")
    live = database_url.split("///", 1)[1]
    same = registry(env, "backup", live, "--force")
    assert same.returncode == 1 and "live database" in same.stderr
    missing = registry(env, "backup", str(tmp_path / "no" / "dir.db"))
    assert missing.returncode == 1 and "no directory" in missing.stderr
    assert not list(tmp_path.glob(".*.partial"))


@postgresql_only
def test_the_printed_pg_dump_and_pg_restore_commands_work(server: Server, tmp_path: Path) -> None:
    bank = caller(server, "VCB", "bank", "VCB")
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for n in range(3):
            flag(http, bank, n)
    dump = tmp_path / "registry.dump"
    url = server.env["REGISTRY_DATABASE_URL"].replace("//postgres@", "//postgres:pw@")
    assert ":pw@" in url
    done = registry(server.env | {"REGISTRY_DATABASE_URL": url}, "backup", str(dump), "--json")
    assert done.returncode == 2  # nothing was backed up by the command itself
    commands = json.loads(done.stdout)
    assert "pw" not in commands["backup"] + commands["restore"]
    subprocess.run(shlex.split(commands["backup"]), check=True, timeout=120)
    restored = f"registry_restored_{os.getpid()}"
    source_name = server.env["REGISTRY_DATABASE_URL"].rsplit("/", 1)[1]
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", restored], check=True)
    try:
        restore = commands["restore"].replace(f"/{source_name} ", f"/{restored} ")
        subprocess.run(shlex.split(restore), check=True, timeout=120)
        result = verify(server.env, databases.pg_url(restored))
        live = verify(server.env, server.env["REGISTRY_DATABASE_URL"])
        assert result["ok"] is True and result["head_hash"] == live["head_hash"]
    finally:
        subprocess.run(
            ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--force", restored], check=False
        )
