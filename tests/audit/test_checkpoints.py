"""Signed checkpoints from the command line (SPEC §8 "Checkpoints"), end to end.

The operator signs with the private key; the auditor checks with the public key only, from
a directory of their own, and no private key ever appears there. Tampering shows as
``rewritten`` (the event at ``head_seq`` differs), ``truncated`` (the chain is shorter than
the checkpoint) or ``bad-signature`` (not signed by that key).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from click.testing import Result
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jose import jws, jwt
from sqlalchemy import text
from typer.testing import CliRunner

from app.audit.checkpoint import key_id
from app.cli import cli
from app.config import Settings, get_settings
from app.db.engine import create_database
from app.main import create_app
from tests import databases
from tests.audit.test_chain import rewrite_whole_chain

N_EVENTS = 6
FIELDS = {"head_seq", "head_hash", "created_at", "kid", "signature"}


@pytest.fixture
def operator(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The operator's directory: the database URL and the checkpoint key configured, a
    history of N_EVENTS change events. Yields the (not yet created) checkpoint key path."""
    key_file = tmp_path / "operator" / "checkpoint-key.pem"
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database_url)
    monkeypatch.setenv("REGISTRY_CHECKPOINT_KEY_FILE", str(key_file))
    monkeypatch.delenv("REGISTRY_JWT_KEY_FILE", raising=False)
    get_settings.cache_clear()
    try:
        for i in range(N_EVENTS):
            run("org", "create", "--code", f"P{i}", "--name", f"Police {i}", "--kind", "police")
        yield key_file
    finally:
        get_settings.cache_clear()


def run(*args: str, code: int = 0) -> Result:
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, list(args))
    get_settings.cache_clear()
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return result


def as_json(result: Result) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def checkpoint(tmp_path: Path) -> Path:
    path = tmp_path / "checkpoint.json"
    run("audit", "checkpoint", "-o", str(path), "--json")
    return path


def public_key(tmp_path: Path) -> Path:
    path = tmp_path / "checkpoint-public.pem"
    run("audit", "public-key", "-o", str(path))
    return path


def verify(*args: str, code: int = 0) -> dict[str, Any]:
    return as_json(run("audit", "verify", *args, "--json", code=code))


def tamper(*statements: str) -> None:
    """Edit the tables as an attacker with database access would: triggers off first."""

    async def go() -> None:
        db = create_database(get_settings())
        try:
            async with db.write_session() as session:
                if databases.ENGINE == "postgresql":
                    await session.execute(text("SET LOCAL session_replication_role = replica"))
                else:
                    await session.execute(text("DROP TRIGGER IF EXISTS change_event_no_update"))
                    await session.execute(text("DROP TRIGGER IF EXISTS change_event_no_delete"))
                for statement in statements:
                    await session.execute(text(statement))
                await session.commit()
        finally:
            await db.dispose()

    get_settings.cache_clear()
    asyncio.run(go())


def rewrite_consistently() -> None:
    tamper()  # SQLite: the triggers are dropped

    async def go() -> None:
        db = create_database(get_settings())
        try:
            async with db.write_session() as session:
                if databases.ENGINE == "postgresql":
                    await session.execute(text("SET LOCAL session_replication_role = replica"))
                await rewrite_whole_chain(session)
                await session.commit()
        finally:
            await db.dispose()

    asyncio.run(go())


def b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def test_checkpoint_is_a_json_document_an_auditor_can_check_with_any_tool(
    operator: Path, tmp_path: Path
) -> None:
    result = run("audit", "checkpoint", "-o", str(tmp_path / "cp.json"), "--json")
    printed = as_json(result)
    document = json.loads((tmp_path / "cp.json").read_text())
    assert set(document) == FIELDS
    assert {name: printed[name] for name in FIELDS} == document
    assert document["head_seq"] == N_EVENTS and len(document["head_hash"]) == 64
    assert document["created_at"].endswith("Z")
    # The key was created by this first checkpoint, 0600, and its kid is the thumbprint.
    assert stat.S_IMODE(operator.stat().st_mode) == 0o600
    private = serialization.load_pem_private_key(operator.read_bytes(), password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    assert document["kid"] == key_id(private.public_key())
    # What the README says is signed, checked with nothing but `cryptography`.
    pem = public_key(tmp_path).read_bytes()
    loaded = serialization.load_pem_public_key(pem)
    assert isinstance(loaded, ec.EllipticCurvePublicKey)
    signed = {name: document[name] for name in ("head_seq", "head_hash", "created_at", "kid")}
    payload = json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()
    header_b64, empty, sig_b64 = document["signature"].split(".")
    assert empty == ""
    assert json.loads(b64url_decode(header_b64)) == {
        "alg": "ES256",
        "kid": document["kid"],
        "typ": "registry-checkpoint+jws",
    }
    payload_b64 = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    raw = b64url_decode(sig_b64)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    loaded.verify(der, f"{header_b64}.{payload_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    # Any JOSE library verifies it once the payload is put back between the dots.
    attached = f"{header_b64}.{payload_b64}.{sig_b64}"
    assert json.loads(jws.verify(attached, pem.decode(), algorithms=["ES256"])) == signed
    # A second checkpoint signs with the same key; the file is not recreated.
    before = operator.read_bytes()
    assert as_json(run("audit", "checkpoint", "--json"))["kid"] == document["kid"]
    assert operator.read_bytes() == before


def test_verify_ok_with_the_configured_key_and_with_the_public_key(
    operator: Path, tmp_path: Path
) -> None:
    path, pem = checkpoint(tmp_path), public_key(tmp_path)
    for args in ((), ("--public-key", str(pem))):
        result = verify("--checkpoint", str(path), *args)
        assert result["ok"] and result["head_seq"] == N_EVENTS
        assert result["checkpoint"] == {"ok": True, "seq": N_EVENTS, "status": "ok", "reason": None}
    # The table output (no --json) says ok too.
    assert "ok" in run("audit", "verify", "--checkpoint", str(path)).stdout


def test_an_auditor_needs_only_the_public_key_and_never_gets_a_private_one(
    operator: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    path, pem = checkpoint(tmp_path), public_key(tmp_path)
    auditor = tmp_path / "auditor"
    auditor.mkdir()
    shutil.copy(path, auditor / "checkpoint.json")
    shutil.copy(pem, auditor / "checkpoint-public.pem")
    if databases.ENGINE == "sqlite":  # the auditor works on a copy of the database file
        source = Path(database_url.split(":///", 1)[1])
        shutil.copy(source, auditor / "copy.db")
        monkeypatch.setenv("REGISTRY_DATABASE_URL", f"sqlite+aiosqlite:///{auditor / 'copy.db'}")
    missing = auditor / "keys" / "checkpoint-key.pem"
    monkeypatch.setenv("REGISTRY_CHECKPOINT_KEY_FILE", str(missing))
    monkeypatch.chdir(auditor)
    before = sorted(os.listdir(auditor))
    result = verify("--checkpoint", "checkpoint.json", "--public-key", "checkpoint-public.pem")
    assert result["checkpoint"]["status"] == "ok" and result["ok"]
    # Without --public-key and without a private key: exit 2, say what is needed.
    refused = run("audit", "verify", "--checkpoint", "checkpoint.json", code=2)
    assert "--public-key" in refused.stderr and "Traceback" not in refused.output
    # The public-key export does not create a key either.
    assert "checkpoint" in run("audit", "public-key", code=2).stderr
    assert not missing.exists() and not missing.parent.exists()
    assert sorted(os.listdir(auditor)) == before


def test_a_consistent_rewrite_is_reported_rewritten(operator: Path, tmp_path: Path) -> None:
    path, pem = checkpoint(tmp_path), public_key(tmp_path)
    rewrite_consistently()
    assert verify()["ok"]  # the chain alone cannot tell
    result = verify("--checkpoint", str(path), "--public-key", str(pem), code=1)
    assert not result["ok"]
    check = result["checkpoint"]
    assert (check["ok"], check["seq"], check["status"]) == (False, N_EVENTS, "rewritten")
    assert "rewritten" in check["reason"]


def test_an_edited_hash_at_the_checkpoint_is_rewritten(operator: Path, tmp_path: Path) -> None:
    path, pem = checkpoint(tmp_path), public_key(tmp_path)
    tamper(f"UPDATE change_event SET hash = prev_hash WHERE seq = {N_EVENTS}")
    result = verify("--checkpoint", str(path), "--public-key", str(pem), code=1)
    assert result["checkpoint"]["status"] == "rewritten"


def test_an_edit_before_the_checkpoint_is_a_broken_chain(operator: Path, tmp_path: Path) -> None:
    path, pem = checkpoint(tmp_path), public_key(tmp_path)
    tamper("UPDATE change_event SET request_id = 'forged' WHERE seq = 2")
    result = verify("--checkpoint", str(path), "--public-key", str(pem), code=1)
    assert (result["first_bad_seq"], result["checkpoint"]["status"]) == (2, "broken")


@pytest.mark.parametrize("move_head", [True, False], ids=["head-moved-back", "head-left"])
def test_a_deleted_tail_is_reported_truncated(
    operator: Path, tmp_path: Path, move_head: bool
) -> None:
    path, pem = checkpoint(tmp_path), public_key(tmp_path)
    keep = N_EVENTS - 2
    statements = [f"DELETE FROM change_event WHERE seq > {keep}"]
    if move_head:  # as a careful admin would: the chain alone then verifies
        statements.append(
            "UPDATE registry_head SET seq = (SELECT max(seq) FROM change_event), "
            "hash = (SELECT hash FROM change_event WHERE seq = "
            "(SELECT max(seq) FROM change_event))"
        )
    tamper(*statements)
    plain = verify(code=1)
    # A careful admin's truncation leaves a chain that verifies on its own, but the rows
    # whose events were deleted no longer match it (state from history, SPEC §8).
    assert plain["ok"] is False
    if move_head:
        assert plain["first_bad_seq"] is None and plain["state_ok"] is False
    result = verify("--checkpoint", str(path), "--public-key", str(pem), code=1)
    check = result["checkpoint"]
    assert (check["ok"], check["seq"], check["status"]) == (False, N_EVENTS, "truncated")
    assert f"ends at seq {keep}" in check["reason"]


def test_a_longer_chain_still_contains_the_checkpoint(operator: Path, tmp_path: Path) -> None:
    path, pem = checkpoint(tmp_path), public_key(tmp_path)
    run("org", "create", "--code", "LATER", "--name", "Later", "--kind", "police")
    result = verify("--checkpoint", str(path), "--public-key", str(pem))
    assert result["head_seq"] == N_EVENTS + 1 and result["checkpoint"]["status"] == "ok"


def test_another_key_or_an_edited_document_is_a_bad_signature(
    operator: Path, tmp_path: Path
) -> None:
    path = checkpoint(tmp_path)
    other = tmp_path / "other.pem"
    other.write_bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    result = verify("--checkpoint", str(path), "--public-key", str(other), code=1)
    assert result["checkpoint"]["status"] == "bad-signature" and not result["ok"]
    pem = public_key(tmp_path)
    document = json.loads(path.read_text())
    edits: list[dict[str, Any]] = [
        {"head_seq": document["head_seq"] - 1},
        {"head_hash": "f" * 64},
        {"created_at": "2020-01-01T00:00:00Z"},
        {"signature": document["signature"][:-4] + "AAAA"},
        {"signature": document["signature"].replace("..", ".x.")},
        {"kid": "someone-else"},
    ]
    for edit in edits:
        forged = tmp_path / "forged.json"
        forged.write_text(json.dumps({**document, **edit}))
        result = verify("--checkpoint", str(forged), "--public-key", str(pem), code=1)
        assert result["checkpoint"]["status"] == "bad-signature", edit


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("not a checkpoint at all", "not a JSON"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"head_seq": 1}', "missing field"),
        ("eyJhbGciOiJFUzI1NiJ9.eyJzZXEiOjF9.c2ln", "older signed token"),
    ],
    ids=["empty", "text", "broken-json", "array", "missing", "foreign-jws"],
)
def test_a_malformed_checkpoint_file_is_exit_2_without_a_traceback(
    operator: Path, tmp_path: Path, content: str, message: str
) -> None:
    pem = public_key_after_a_checkpoint(tmp_path)
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = run("audit", "verify", "--checkpoint", str(path), "--public-key", str(pem), code=2)
    assert message in result.stderr and "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_wrong_fields_and_unusable_files_are_exit_2(operator: Path, tmp_path: Path) -> None:
    path, pem = checkpoint(tmp_path), public_key(tmp_path)
    document = json.loads(path.read_text())
    cases = [
        ({**document, "extra": 1}, "unknown field"),
        ({**document, "head_seq": "6"}, "head_seq"),
        ({**document, "head_seq": True}, "head_seq"),
        ({**document, "head_hash": "xyz"}, "head_hash"),
        ({**document, "created_at": "yesterday"}, "created_at"),
        ({**document, "signature": 7}, "signature"),
    ]
    for bad, message in cases:
        target = tmp_path / "bad.json"
        target.write_text(json.dumps(bad))
        result = run(
            "audit", "verify", "--checkpoint", str(target), "--public-key", str(pem), code=2
        )
        assert message in result.stderr, (bad, result.stderr)
    for args, message in (
        (("--checkpoint", str(tmp_path / "nowhere.json")), "no such checkpoint file"),
        (("--checkpoint", str(path), "--public-key", str(operator)), "not a PEM public key"),
        (("--checkpoint", str(path), "--public-key", str(path)), "not a JWK Set"),
        (("--checkpoint", str(path), "--public-key", str(tmp_path / "no.pem")), "no such"),
        (("--public-key", str(pem)), "--checkpoint"),
    ):
        result = run("audit", "verify", *args, code=2)
        assert message in result.stderr and "Traceback" not in result.output


def public_key_after_a_checkpoint(tmp_path: Path) -> Path:
    checkpoint(tmp_path)
    return public_key(tmp_path)


def test_an_older_bare_jws_checkpoint_is_still_accepted(operator: Path, tmp_path: Path) -> None:
    document = json.loads(checkpoint(tmp_path).read_text())
    pem = public_key(tmp_path)
    legacy = jwt.encode(
        {
            "typ": "registry-checkpoint",
            "seq": N_EVENTS,
            "hash": document["head_hash"],
            "signed_at": 1,
        },
        operator.read_text(),
        algorithm="ES256",
        headers={"kid": document["kid"]},
    )
    path = tmp_path / "head.jws"
    path.write_text(legacy + "\n")
    assert verify("--checkpoint", str(path), "--public-key", str(pem))["checkpoint"]["ok"]
    tampered = legacy.rsplit(".", 1)[0] + "." + "A" * 86
    path.write_text(tampered)
    result = verify("--checkpoint", str(path), "--public-key", str(pem), code=1)
    assert result["checkpoint"]["status"] == "bad-signature"


def test_a_missing_database_file_is_exit_2_and_not_created(
    operator: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, pem = checkpoint(tmp_path), public_key(tmp_path)
    missing = tmp_path / "auditor" / "copy.db"
    monkeypatch.setenv("REGISTRY_DATABASE_URL", f"sqlite+aiosqlite:///{missing}")
    result = run("audit", "verify", "--checkpoint", str(path), "--public-key", str(pem), code=2)
    assert "no registry database at" in result.stderr and "Traceback" not in result.output
    assert not missing.exists()
    # A file that is not a registry database: exit 2 with the reason, no traceback.
    missing.parent.mkdir()
    missing.write_bytes(b"")
    result = run("audit", "verify", "--checkpoint", str(path), "--public-key", str(pem), code=2)
    assert "holds no registry schema" in result.stderr and "Traceback" not in result.output


def test_the_jwks_is_accepted_as_the_public_key(operator: Path, tmp_path: Path) -> None:
    path, pem = checkpoint(tmp_path), public_key(tmp_path)
    exported = as_json(run("audit", "public-key", "--json"))
    assert exported["public_key"] == pem.read_text()
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    jwks = asyncio.run(fetch_checkpoint_keys(operator))
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    result = verify("--checkpoint", str(path), "--public-key", str(tmp_path / "jwks.json"))
    assert result["checkpoint"]["status"] == "ok"


async def fetch_checkpoint_keys(key_file: Path) -> dict[str, Any]:
    settings = get_settings()
    settings = Settings(
        database_url=settings.database_url,
        jwt_key_file=key_file.parent / "jwt.pem",
        checkpoint_key_file=key_file,
        gc_freeze_after_start=False,
    )
    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as c:
            response = await c.get("/v1/audit/checkpoint-keys")  # no token: public
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_the_jwks_endpoint_serves_the_exported_public_key(operator: Path, tmp_path: Path) -> None:
    assert asyncio.run(fetch_checkpoint_keys(operator)) == {"keys": []}
    assert not operator.exists()  # serving the JWKS never creates the key
    document = json.loads(checkpoint(tmp_path).read_text())
    pem = serialization.load_pem_public_key(public_key(tmp_path).read_bytes())
    assert isinstance(pem, ec.EllipticCurvePublicKey)
    (jwk,) = asyncio.run(fetch_checkpoint_keys(operator))["keys"]
    assert (jwk["kid"], jwk["alg"], jwk["use"], jwk["kty"], jwk["crv"]) == (
        document["kid"],
        "ES256",
        "sig",
        "EC",
        "P-256",
    )
    assert "d" not in jwk
    point = b"\x04" + b64url_decode(jwk["x"]) + b64url_decode(jwk["y"])
    served = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    assert served.public_numbers() == pem.public_numbers()
    assert key_id(served) == document["kid"]
