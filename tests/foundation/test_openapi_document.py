"""The OpenAPI document a code generator can trust (issue 13 item 2): alternatives as
alternatives, required headers required, response headers and statuses declared, typed
batch items, an example on every request body. (tests/foundation/test_generated_client.py
generates a client from it and calls the API with it.)"""

from __future__ import annotations

from typing import Any

import pytest

from app.config import Settings
from app.main import create_app

PRECONDITIONED = [
    ("post", "/v1/flags/{flag_id}/confirm"),
    ("post", "/v1/flags/{flag_id}/reject"),
    ("post", "/v1/flags/{flag_id}/withdraw"),
    ("post", "/v1/disputes/{dispute_id}/resolve"),
]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    spec: dict[str, Any] = create_app(Settings()).openapi()
    return spec


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def schemas_of(document: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema and, through $ref and anyOf, every schema it may be."""
    found = [schema]
    if "$ref" in schema:
        found += schemas_of(document, document["components"]["schemas"][schema["$ref"][21:]])
    for alternative in schema.get("anyOf", []):
        found += schemas_of(document, alternative)
    return found


def test_every_request_body_has_an_example(document: dict[str, Any]) -> None:
    missing = []
    for method, path, op in operations(document):
        for media in op.get("requestBody", {}).get("content", {}).values():
            candidates = [media, *schemas_of(document, media.get("schema", {}))]
            if not any("example" in c or "examples" in c for c in candidates):
                missing.append(f"{method.upper()} {path}")
    assert not missing, missing


def test_alternative_scopes_are_alternative_requirements(document: dict[str, Any]) -> None:
    security = document["paths"]["/v1/flags"]["get"]["security"]
    assert security == [{"OAuth2": ["flags:write"]}, {"OAuth2": ["history:read"]}]
    for method, path, op in operations(document):
        for requirement in op.get("security", []):
            assert all(len(scopes) <= 1 for scopes in requirement.values()), (method, path)


@pytest.mark.parametrize(("method", "path"), PRECONDITIONED)
def test_if_match_is_required_where_its_absence_is_428(
    document: dict[str, Any], method: str, path: str
) -> None:
    op = document["paths"][path][method]
    header = next(p for p in op["parameters"] if p["name"] == "If-Match")
    assert header["in"] == "header" and header["required"] is True
    assert {"412", "428"} <= set(op["responses"])
    assert "ETag" in op["responses"]["200"]["headers"]


def test_response_headers_and_statuses_are_declared(document: dict[str, Any]) -> None:
    create = document["paths"]["/v1/flags"]["post"]["responses"]
    assert {"ETag", "Location", "Idempotent-Replayed"} <= set(create["201"]["headers"])
    read = document["paths"]["/v1/flags/{flag_id}"]["get"]["responses"]["200"]
    assert "ETag" in read["headers"]
    for method, path, op in operations(document):
        responses = op["responses"]
        assert "431" in responses, (method, path)
        if "requestBody" in op:
            assert "413" in responses, (method, path)
        if "429" in responses:
            assert "Retry-After" in responses["429"].get("headers", {}), (method, path)


def test_batch_items_are_typed(document: dict[str, Any]) -> None:
    items = document["components"]["schemas"]["BatchLookupRequest"]["properties"]["items"]
    refs = [s.get("$ref") for s in items["items"]["anyOf"]]
    assert "#/components/schemas/SubjectIn" in refs
    assert items["maxItems"] == 1000
