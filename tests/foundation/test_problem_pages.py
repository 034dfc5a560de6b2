"""Every problem ``type`` the service can answer resolves to a page it serves itself."""

from __future__ import annotations

import importlib
import pkgutil
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx

import app
from app.apidocs.catalogue import catalogue, error_classes
from app.errors import PROBLEM_BASE, AppError


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.hrefs.append(str(values["href"]))
        if tag == "html":
            self.lang = values.get("lang")


def test_every_error_class_of_every_module_is_in_the_catalogue() -> None:
    """Import every module of the package: an AppError the catalogue does not load (a module
    neither the server nor EXTRA_ERROR_MODULES imports) would have no page."""
    served = set(catalogue())  # what the running service lists, before anything else loads
    for module in pkgutil.walk_packages(app.__path__, "app."):
        if module.name.endswith("__main__"):
            continue
        importlib.import_module(module.name)
    slugs = {cls.type_slug for cls in error_classes()}
    assert slugs <= served, sorted(slugs - served)


async def test_every_problem_type_has_a_page_linked_from_the_index(
    client: httpx.AsyncClient,
) -> None:
    slugs = {cls.type_slug for cls in error_classes() if issubclass(cls, AppError)}
    index = await client.get(PROBLEM_BASE)
    assert index.status_code == 200
    parser = _Links()
    parser.feed(index.text)
    assert parser.lang
    links = {urljoin(PROBLEM_BASE, href) for href in parser.hrefs}
    for slug in sorted(slugs):
        assert f"{PROBLEM_BASE}{slug}" in links, slug
        page = await client.get(f"{PROBLEM_BASE}{slug}")
        assert page.status_code == 200, slug
        assert page.headers["content-type"].startswith("text/html")
        problem = catalogue()[slug]
        assert problem.title in page.text or problem.title.replace("'", "&#x27;") in page.text
    missing = await client.get(f"{PROBLEM_BASE}no-such-problem")
    assert missing.status_code == 404


async def test_an_answered_problem_type_resolves(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/flags")  # no token: 401 problem+json
    assert answer.status_code == 401
    kind = answer.json()["type"]
    assert kind.startswith(PROBLEM_BASE)
    assert (await client.get(kind)).status_code == 200
