"""A wrong method is 405 problem+json with an Allow header naming every method the path serves."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/v1/lookup", "POST"),
        ("DELETE", "/v1/flags", "GET, POST"),
        ("PUT", "/v1/flags/abc/confirm", "POST"),
        ("POST", "/v1/typologies", "GET"),
    ],
)
async def test_405_names_the_allowed_methods(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    answer = await client.request(method, path)
    assert answer.status_code == 405
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.headers["allow"] == allow
