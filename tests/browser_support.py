"""What every browser test shares: Debian's Chromium driven by Playwright (the ``browser``
fixture: import it into the test module), and the axe-core check that also saves a
screenshot of the page under ``test-artefacts/<folder>/``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS_ROOT = Path(os.environ.get("REGISTRY_TEST_ARTEFACTS", "test-artefacts"))


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium missing: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


def accessible(page: Any, name: str, folder: str = "console") -> None:
    """No serious or critical axe-core violation; a full-page screenshot either way."""
    from axe_playwright_python.sync_playwright import Axe

    artefacts = ARTEFACTS_ROOT / folder
    artefacts.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(artefacts / f"{name}.png"), full_page=True)
    violations = Axe().run(page).response["violations"]
    bad = [
        (v["id"], [n["target"] for n in v["nodes"]])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, (name, bad)
