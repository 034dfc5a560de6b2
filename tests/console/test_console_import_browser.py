"""The import and the filtered review queue in a real browser against ``registry serve``:
an analyst uploads a CSV with one bad row, reads the report, confirms, and watches the
progress page refresh itself to the end; then filters the queue. Each page is checked
with axe-core and photographed into ``test-artefacts/console/``."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from app.console.i18n import VIETNAM
from tests.blackbox.server import Server, serving
from tests.blackbox.test_registry_story import auth, caller
from tests.console.test_console_browser import ARTEFACTS, Person, accessible

# The story's browser fixture, re-exported so that pytest finds it here.

CSV = (
    "kind,institution,identifier,category,description,amount_lost_vnd\n"
    "phone,,0912 345 678,TASK_SCAM,called about a parcel,1500000\n"
    "phone,,12345,TASK_SCAM,not a mobile number,\n"
    "bank_account,VCB,0011002345678,FAKE_SHOP,shop that never ships,8000000\n"
)


@pytest.fixture
def imports_dir(tmp_path: Path) -> Path:
    return tmp_path / "imports"


@pytest.fixture
def server(
    database_url: str, key_file: Path, tmp_path: Path, imports_dir: Path
) -> Iterator[Server]:
    extra = {"REGISTRY_CONSOLE_IMPORT_DIR": str(imports_dir)}
    with serving(database_url, key_file, tmp_path, **extra) as srv:
        yield srv


def serious(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    return [v["id"] for v in violations if v["impact"] in ("serious", "critical")]


def running_page_checks(page: Any, server: Server, imports_dir: Path) -> None:
    """A second upload made to look like an import under way in another live process:
    its page reloads itself (the console's script, not a meta refresh, which axe-core counts
    against WCAG 2.2.1) and offers to stop; axe-core finds nothing either way."""
    upload = {"name": "more.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
    page.goto(f"{server.url}/console/import")
    page.set_input_files("#file", files=[upload])
    page.click("main button[type=submit]")
    action = page.locator("form[action$='/run']").get_attribute("action")
    job = re.fullmatch(r"/console/import/([A-Za-z0-9_-]{43})/run", action).group(1)  # type: ignore[union-attr]
    state = imports_dir / job / "job.json"
    data = json.loads(state.read_text())
    now = datetime.now(UTC).isoformat()
    data.update(status="running", done_rows=1, owner_pid=os.getpid(), owner_boot="other")
    data.update(heartbeat=now)
    state.write_text(json.dumps(data))
    # axe-core looks at the page with its script held back (a reload in the middle of the
    # check would end it); then the script is let through and reloads the page by itself.
    page.route("**/refresh.js", lambda route: route.abort())
    page.goto(f"{server.url}/console/import/{job}")
    assert page.locator("#import-status.running").count() == 1
    page.screenshot(path=str(ARTEFACTS / "import-running.png"), full_page=True)
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    assert serious(page) == []
    page.unroute("**/refresh.js")
    page.goto(f"{server.url}/console/import/{job}")
    with page.expect_event("load", timeout=10_000):
        pass  # refresh.js reloads the page after 2 s
    page.click("a[href$='?refresh=off']")
    page.wait_for_url("**?refresh=off")
    expect(page.locator("#import-status.running")).to_have_count(1)
    assert page.locator("#auto-refresh, script[src$='refresh.js']").count() == 0
    accessible(page, "import-running-no-refresh")


def test_upload_report_confirm_progress_and_a_filtered_queue(
    server: Server, browser: Any, imports_dir: Path
) -> None:
    bank = caller(server, "VCB", "bank", "VCB")
    server.cli("org", "create", "--code", "C06", "--name", "PC02", "--kind", "police")
    http = httpx.Client(base_url=server.url, timeout=10)
    for identifier in ("0011009999999", "0011008888888"):
        subject = {"kind": "bank_account", "institution": "VCB", "identifier": identifier}
        body = {"subject": subject, "category": "FAKE_SHOP", "description": "shop"}
        assert http.post("/v1/flags", json=body, headers=auth(bank)).status_code == 201

    analyst = Person(server, browser, "C06", "an.nguyen", "analyst")
    analyst.enrol_and_sign_in()
    page = analyst.page
    page.click("header a[href='/console/import']")
    accessible(page, "import-form")
    upload = {"name": "flags.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
    page.set_input_files("#file", files=[upload])
    page.click("main button[type=submit]")
    assert page.locator("#import-valid").inner_text() == "2"
    assert "identifier" in page.locator("#import-errors tbody tr").first.inner_text()
    accessible(page, "import-report")

    page.click("#import-confirm")
    page.wait_for_selector("#import-status.done", timeout=30_000)  # refreshed by itself
    assert page.locator("#import-created").inner_text() == "2"
    accessible(page, "import-progress")
    answer = http.post(
        "/v1/lookup", json={"kind": "phone", "identifier": "0912345678"}, headers=auth(bank)
    )
    assert answer.json()["action"] == "hold"

    page.click("header a[href='/console/queue']")
    today = datetime.now(VIETNAM).date().isoformat()
    page.select_option("#institution", "970436")
    page.select_option("#reporter_kind", "bank")
    page.fill("#reported_from", today)
    page.fill("#reported_to", today)
    page.click("form.filters button[type=submit]")
    assert "reporter_kind=bank" in page.url
    expect(page.locator("main tbody tr")).to_have_count(2)
    accessible(page, "queue-filtered")
    running_page_checks(page, server, imports_dir)
