"""The HTML report opened in headless Chromium: every chart drawn, nothing fetched.

Chromium records every network request it makes in a NetLog. Its own background requests
(updates, accounts) have no origin as initiator; anything the page asks for is initiated by
the page's ``file://`` origin (``null``). A control page that embeds remote resources shows
the check does catch them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest
from fastapi import FastAPI
from matplotlib import image

from app.reports.charts import CHARTS, PALETTE, RISK_COLOURS
from app.reports.render import render_report
from tests.reports.history import History, vn

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium missing: apt-get install -y chromium"
)
WIDTH, HEIGHT = 1280, 4000


async def chromium(tmp: Path, page: Path, *args: str) -> bytes:
    """Run headless Chromium on ``page`` offline; returns stdout."""
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={tmp / 'profile'}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        *args,
        f"file://{page}",
    ]
    with anyio.fail_after(120):
        result = await anyio.run_process(command, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result.stdout


def page_requests(net_log: Path) -> list[str]:
    """URLs of network requests initiated by the page (not by the browser itself)."""
    log: dict[str, Any] = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        params = event.get("params", {})
        if event["type"] == start_job and "url" in params:
            if params.get("initiator") != "not an origin":
                urls.append(params["url"])
    return urls


async def screenshot(tmp: Path, page: Path) -> tuple[np.ndarray, list[str]]:
    png, net_log = tmp / "shot.png", tmp / "net.json"
    await chromium(
        tmp,
        page,
        f"--screenshot={png}",
        f"--window-size={WIDTH},{HEIGHT}",
        f"--log-net-log={net_log}",
    )
    return image.imread(png), page_requests(net_log)


def has_colour(pixels: np.ndarray, hex_colour: str) -> bool:
    rgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return bool((np.abs(pixels[..., :3] - rgb).max(axis=-1) < 0.02).any())


async def test_html_report_renders_every_chart_offline(
    app: FastAPI, history: History, tmp_path: Path
) -> None:
    body, _ = await render_report(app.state.runtime.db, "2026", "html", now=vn(2027, 2, 1))
    page = tmp_path / "report.html"
    page.write_bytes(body)
    html = body.decode()
    assert html.count("<svg") == len(CHARTS) == 8

    dom = (await chromium(tmp_path, page, "--dump-dom")).decode()
    assert dom.count("<svg") == len(CHARTS)
    assert "Cảnh báo đã phát / Warnings issued" in dom

    pixels, requests = await screenshot(tmp_path, page)
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    assert requests == []
    white = (pixels[..., :3] > 0.98).all(axis=-1)
    assert 0.02 < 1 - white.mean() < 0.9  # drawn on, not blank and not a solid fill
    # Bars of the first series and of the "high" risk level were painted.
    assert has_colour(pixels, PALETTE[0])
    assert has_colour(pixels, RISK_COLOURS[3])


async def test_the_request_check_catches_a_page_that_fetches(tmp_path: Path) -> None:
    page = tmp_path / "leaky.html"
    page.write_text(
        '<html><body><img src="http://example.com/logo.png">'
        '<link rel="stylesheet" href="https://fonts.example.com/a.css"></body></html>'
    )
    _, requests = await screenshot(tmp_path, page)
    assert sorted(requests) == ["http://example.com/logo.png", "https://fonts.example.com/a.css"]
