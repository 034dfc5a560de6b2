"""/docs, /redoc and /problems/ work on a closed network: nothing comes from another host.

The HTML is parsed for every URL it references; each must be on this service and answer
with its content type. Then Debian's Chromium, driven by Playwright, opens the pages of a
real ``registry serve`` with every request to another host blocked, and must render the
operation list (Swagger UI), the reference (ReDoc) and the problem pages, with no request
blocked and no Content-Security-Policy violation.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from app.apidocs.assets import LONG_CACHE, REDOC_VERSION, STATIC, SWAGGER_UI_VERSION
from app.apidocs.csp import inline_hashes
from tests.blackbox.server import Server, server_env

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
PAGES = ("/docs", "/redoc")
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


class References(HTMLParser):
    """Every ``src`` and ``href`` of a page, and its ``<html lang>``."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.urls.append(value)
            if tag == "html" and name == "lang":
                self.lang = value


def references(html: str) -> References:
    parser = References()
    parser.feed(html)
    return parser


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc


def csp(header: str) -> dict[str, list[str]]:
    directives = (d.split() for d in header.split(";") if d.strip())
    return {d[0]: d[1:] for d in directives}


@pytest.mark.parametrize("page", PAGES)
async def test_docs_pages_reference_only_this_service(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    found = references(response.text)
    assert found.lang == "en"
    assert len(found.urls) >= 2  # the script and a stylesheet or icon
    assert [url for url in found.urls if not is_local(url)] == []
    assert "cdn" not in response.text and "fonts.googleapis" not in response.text
    for url in found.urls:
        asset = await client.get(urljoin(page, url))
        assert asset.status_code == 200, url
        expected = CONTENT_TYPES[Path(urlsplit(url).path).suffix]
        assert asset.headers["content-type"].split(";")[0] == expected, url
        assert asset.headers["cache-control"] == LONG_CACHE, url
        assert asset.headers["x-content-type-options"] == "nosniff"
        # A revalidation answers 304 and keeps the long cache.
        again = await client.get(
            urljoin(page, url), headers={"If-None-Match": asset.headers["etag"]}
        )
        assert again.status_code == 304 and again.headers["cache-control"] == LONG_CACHE
    spec = await client.get("/openapi.json")
    assert spec.status_code == 200 and spec.headers["content-type"] == "application/json"


async def test_asset_urls_carry_the_version_and_unknown_ones_are_problems(
    client: httpx.AsyncClient,
) -> None:
    docs, redoc = (await client.get("/docs")).text, (await client.get("/redoc")).text
    assert f"/static/swagger-ui/{SWAGGER_UI_VERSION}/swagger-ui-bundle.js" in docs
    assert f"/static/redoc/{REDOC_VERSION}/redoc.standalone.js" in redoc
    for path in (
        f"/static/swagger-ui/{SWAGGER_UI_VERSION}/nope.js",
        f"/static/swagger-ui/{SWAGGER_UI_VERSION}/../../../app/main.py",
        f"/static/swagger-ui/{SWAGGER_UI_VERSION}/%2e%2e/redoc/LICENSE",
        "/static/swagger-ui/0.0.1/swagger-ui-bundle.js",
        f"/static/swagger-ui/{SWAGGER_UI_VERSION}/nul%00.js",
    ):
        answer = await client.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["cache-control"] == "no-store"
    refused = await client.post(f"/static/redoc/{REDOC_VERSION}/LICENSE")
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"


async def test_each_page_allows_its_own_inline_script_by_hash_and_no_other_host(
    client: httpx.AsyncClient,
) -> None:
    for page in (*PAGES, "/problems/", "/problems/not-found"):
        response = await client.get(page)
        policy = csp(response.headers["content-security-policy"])
        assert policy["default-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
        for sources in policy.values():
            for source in sources:
                assert source.startswith("'") or source in ("data:", "blob:"), (page, source)
        hashes = inline_hashes(response.text)
        # Scripts: 'self' (the vendored file) plus exactly the page's own inline blocks.
        expected_scripts = ["'self'", *hashes["script"]] if page in PAGES else None
        assert policy.get("script-src") == expected_scripts, page
    docs = csp((await client.get("/docs")).headers["content-security-policy"])
    assert len(docs["script-src"]) == 2 and docs["style-src"] == ["'self'"]
    problem = await client.get("/problems/not-found")
    assert (
        csp(problem.headers["content-security-policy"])["style-src"]
        == (inline_hashes(problem.text)["style"])
    )


async def test_api_answers_keep_their_security_headers(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/healthz"), await client.get("/v1/nope")):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-security-policy"] == "frame-ancestors 'none'"
        assert response.headers.get_list("cache-control") == ["no-store"]


async def test_the_documentation_routes_are_not_in_the_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert paths and not [p for p in paths if re.match(r"^/(docs|redoc|problems|static)", p)]


def test_vendored_files_are_the_recorded_ones() -> None:
    record = (STATIC / "THIRD_PARTY.md").read_text()
    listed: dict[str, str] = {}
    section = ""
    for line in record.splitlines():
        if heading := re.match(r"^## .* — `([a-z-]+)/`$", line):
            section = heading.group(1)
        elif row := re.match(r"^\| ([\w.-]+) \| ([0-9a-f]{64}) \|$", line):
            listed[f"{section}/{row.group(1)}"] = row.group(2)
    on_disk = {
        str(path.relative_to(STATIC)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in STATIC.glob("*/*")
    }
    assert listed == on_disk
    bundle = (STATIC / "swagger-ui" / "swagger-ui-bundle.js").read_text()
    assert f'"{SWAGGER_UI_VERSION}"' in bundle
    redoc = (STATIC / "redoc" / "redoc.standalone.js").read_text()
    assert (
        f'Version: "{REDOC_VERSION}"'
        in (STATIC / "redoc/redoc.standalone.js.LICENSE.txt").read_text()
    )
    assert "cdn.redoc.ly" not in redoc
    assert (
        f"swagger-ui-dist` {SWAGGER_UI_VERSION}" in record and f"redoc` {REDOC_VERSION}" in record
    )
    for licence in ("swagger-ui/LICENSE", "swagger-ui/NOTICE", "redoc/LICENSE"):
        assert licence in on_disk


def test_a_built_wheel_ships_the_assets(tmp_path: Path) -> None:
    """What ``pip install .`` (not editable) installs: the Dockerfile's way."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"app/static/{path.relative_to(STATIC)}" for path in STATIC.rglob("*") if path.is_file()
    }
    assert expected <= names
    assert "app/static/swagger-ui/swagger-ui-bundle.js" in names
    assert "app/static/redoc/redoc.standalone.js" in names
    # The staff console's pages, stylesheet and catalogues too.
    console = ROOT / "app" / "console"
    for part in ("templates", "static", "locale"):
        shipped = {f"app/console/{p.relative_to(console)}" for p in (console / part).rglob("*.*")}
        assert shipped and shipped <= names, part


# --- in a real browser, against a real server ---------------------------------------------


@pytest.fixture
def server(database_url: str, key_file: Path, tmp_path: Path) -> Iterator[Server]:
    srv = Server(server_env(database_url, key_file))
    srv.start(tmp_path)
    yield srv
    srv.stop()


class Offline:
    """A page that may reach only ``base``: every other request is aborted and recorded."""

    def __init__(self, browser: Any, base: str) -> None:
        self.page = browser.new_page()
        self.base = base
        self.blocked: list[str] = []
        self.violations: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.violations.append(f"page error: {error}"))

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(self.base + "/") or url.startswith("data:"):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.violations.append(message.text)

    def open(self, path: str) -> Any:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == 200, path
        return self.page


def test_swagger_ui_renders_every_operation_offline(server: Server, browser: Any) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    operations = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    offline = Offline(browser, server.url)
    page = offline.open("/docs")
    page.locator(".opblock").first.wait_for(state="visible", timeout=30_000)
    rendered = page.eval_on_selector_all(
        ".opblock",
        """blocks => blocks.map(b => [
            b.querySelector('.opblock-summary-method').textContent,
            b.querySelector('.opblock-summary-path').getAttribute('data-path')])""",
    )
    # An operation with two tags is shown under each.
    assert {tuple(r) for r in rendered} == operations
    assert (
        page.locator(".information-container .title").inner_text().startswith(spec["info"]["title"])
    )
    page.wait_for_load_state("networkidle")
    assert offline.blocked == [] and offline.violations == []


def test_redoc_renders_the_reference_offline(server: Server, browser: Any) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    ids = {op["operationId"] for item in spec["paths"].values() for op in item.values()}
    offline = Offline(browser, server.url)
    page = offline.open("/redoc")
    page.locator('[data-section-id^="operation/"]').first.wait_for(timeout=30_000)
    sections = page.eval_on_selector_all(
        '[data-section-id^="operation/"]', "els => els.map(e => e.dataset.sectionId)"
    )
    assert {s.removeprefix("operation/") for s in sections} == ids
    assert page.locator("h1").first.inner_text().startswith(spec["info"]["title"])
    page.wait_for_load_state("networkidle")
    assert offline.blocked == [] and offline.violations == []


def test_problem_pages_render_styled_offline_and_link_to_each_other(
    server: Server, browser: Any
) -> None:
    offline = Offline(browser, server.url)
    page = offline.open("/problems/")
    assert page.evaluate("document.documentElement.lang") == "en"
    # The inline stylesheet applied: its hash in the CSP is right.
    assert page.evaluate("getComputedStyle(document.body).maxWidth") == "736px"
    page.get_by_role("link", name="cursor-ahead", exact=True).click()
    page.wait_for_url(f"{server.url}/problems/cursor-ahead")
    assert (
        page.get_by_role("heading", level=1).inner_text()
        == "Cursor is ahead of the registry version"
    )
    page.get_by_role("link", name="All problem types").click()
    page.wait_for_url(f"{server.url}/problems/")
    assert offline.blocked == [] and offline.violations == []


def test_the_offline_check_catches_a_request_to_another_host(server: Server, browser: Any) -> None:
    offline = Offline(browser, server.url)
    page = offline.open("/problems/")
    page.evaluate("fetch('https://cdn.example.com/x.js').catch(() => null)")
    page.wait_for_load_state("networkidle")
    assert offline.blocked == [] and offline.violations  # refused by the page's own CSP
    # Without a CSP in the way (an about:blank page), the route records the attempt.
    blank = Offline(page.context.browser, server.url)
    blank.page.set_content('<img src="https://cdn.example.com/logo.png">')
    blank.page.wait_for_load_state("networkidle")
    assert blank.blocked == ["https://cdn.example.com/logo.png"]
