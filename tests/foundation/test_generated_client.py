"""A code generator can trust the OpenAPI document: ``openapi-python-client`` turns the
document a running server publishes into a client, with warnings as failures, and that client
reports a flag, confirms it with the required ``If-Match``, looks the subject up, reads the
change feed and parses a problem, all typed, against a real ``registry serve``."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from tests.blackbox.server import Server, serving
from tests.blackbox.test_registry_story import caller

PACKAGE = "registry_generated_client"


@pytest.fixture
def server(database_url: str, key_file: Path, tmp_path: Path) -> Iterator[Server]:
    with serving(database_url, key_file, tmp_path) as srv:
        yield srv


def generate(server: Server, into: Path) -> None:
    document = into / "openapi.json"
    document.write_bytes(httpx.get(f"{server.url}/openapi.json", timeout=10).content)
    bin_dir = str(Path(sys.executable).parent)  # its post-generation hook runs ruff
    done = subprocess.run(
        [
            *(os.path.join(bin_dir, "openapi-python-client"), "generate"),
            *("--path", str(document), "--meta", "none", "--output-path", str(into / PACKAGE)),
            "--fail-on-warning",
        ],
        env=os.environ | {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def generated(server: Server, tmp_path: Path) -> Iterator[ModuleType]:
    generate(server, tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def part(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_a_generated_client_reports_confirms_looks_up_and_follows_the_feed(
    server: Server, generated: ModuleType
) -> None:
    models = part("models")
    report_flag = part("api.flags.report_flag_v1_flags_post")
    confirm_flag = part("api.flags.confirm_flag_v1_flags_flag_id_confirm_post")
    lookup = part("api.lookup.lookup_v1_lookup_post")
    changes = part("api.lookup.changes_v1_changes_get")

    def client(headers: dict[str, str]) -> object:
        token = headers["Authorization"].removeprefix("Bearer ")
        return generated.AuthenticatedClient(base_url=server.url, token=token)

    bank = client(caller(server, "VCB", "bank", "VCB"))
    police = client(caller(server, "C06", "police"))
    subject = models.SubjectIn(kind=models.SubjectInKind.PHONE, identifier="0912 345 678")

    before = lookup.sync(client=bank, body=subject)
    assert isinstance(before, models.LookupResult)
    assert before.action == models.LookupResultAction.ALLOW

    body = models.FlagCreate(subject=subject, category="FAKE_SHOP", description="generated")
    key = str(uuid.uuid4())
    reported = report_flag.sync_detailed(client=bank, body=body, idempotency_key=key)
    assert reported.status_code == 201, reported.content
    assert reported.parsed.status == models.FlagStatus.REPORTED
    replayed = report_flag.sync_detailed(client=bank, body=body, idempotency_key=key)
    assert replayed.parsed.id == reported.parsed.id  # the retry is the same flag

    decision = models.FlagDecision(reason="checked with the victim")
    confirmed = confirm_flag.sync_detailed(
        reported.parsed.id, client=police, body=decision, if_match=reported.headers["ETag"]
    )
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.parsed.status == models.FlagStatus.CONFIRMED

    after = lookup.sync(client=bank, body=subject)
    assert isinstance(after, models.LookupResult)
    assert after.action == models.LookupResultAction.HOLD
    assert after.categories == ["FAKE_SHOP"]

    page = changes.sync(client=bank, after=0, limit=10)
    assert isinstance(page, models.ChangesPage)
    assert page.items[-1].key == after.key
    assert page.items[-1].action == models.ChangeItemAction.HOLD

    wrong = models.SubjectIn(kind=models.SubjectInKind.PHONE, identifier="not a phone")
    problem = lookup.sync_detailed(client=bank, body=wrong)
    assert problem.status_code == 422
    assert isinstance(problem.parsed, models.Problem)
    assert problem.parsed.status == 422
