"""The integrator guide's Python samples, run top to bottom against a real `registry serve`."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.blackbox.server import Server, server_env

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "integrator-guide.md"
PAYEE_KEY = "bank_account:970436:0011223344"


def samples() -> str:
    blocks = re.findall(r"^```python\n(.*?)^```$", GUIDE.read_text(), flags=re.S | re.M)
    assert len(blocks) >= 8, "the guide lost its samples"
    return "\n\n".join(blocks)


@pytest.fixture
def server(database_url: str, key_file: Path, tmp_path: Path) -> Iterator[Server]:
    srv = Server(server_env(database_url, key_file))
    srv.start(tmp_path)
    yield srv
    srv.stop()


def client(srv: Server, code: str, kind: str, scopes: str, institution: str = "") -> dict[str, str]:
    args = ["org", "create", "--code", code, "--name", f"{code} org", "--kind", kind]
    srv.cli(*args, *(["--institution", institution] if institution else []))
    created: dict[str, str] = srv.cli("client", "create", "--org", code, "--scopes", scopes)
    return created


def police_confirms(srv: Server) -> None:
    police = client(srv, "C03", "police", "flags:write")
    token = httpx.post(
        f"{srv.url}/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(police["client_id"], police["client_secret"]),
    ).json()["access_token"]
    flag = httpx.post(
        f"{srv.url}/v1/flags",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "subject": {
                "kind": "bank_account",
                "institution": "970436",
                "identifier": "0011223344",
            },
            "category": "IMPERSONATE_AUTHORITY",
            "description": "confirmed mule account",
            "case_reference": "PC02-2026-118",
        },
    )
    assert flag.status_code == 201, flag.text


def test_every_sample_of_the_guide_runs_and_says_what_the_guide_says(
    server: Server, tmp_path: Path
) -> None:
    police_confirms(server)
    bank = client(server, "VCBX", "bank", "lookup sync flags:write", institution="970436")
    script = tmp_path / "guide.py"
    script.write_text(samples())
    env = {
        **server.env,
        "REGISTRY_URL": server.url,
        "REGISTRY_CLIENT_ID": bank["client_id"],
        "REGISTRY_CLIENT_SECRET": bank["client_secret"],
    }
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"lookup: {PAYEE_KEY} hold ['IMPERSONATE_AUTHORITY']" in out
    assert "outcome: 201" in out or "outcome: 200" in out
    assert re.search(r"^invalid: 422 .*institution", out, re.M), out
    assert re.findall(r"^batch item: (.*)$", out, re.M) == ["hold", "allow", "error 422"]
    assert f"vietqr: {PAYEE_KEY} hold" in out
    assert "flag: 201 reported replayed: true True" in out
    assert "second report: 409" in out
    assert "withdraw: 200 withdrawn" in out
    assert "my flags: 1" in out
    assert "synced: True listed locally: 1" in out
