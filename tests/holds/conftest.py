from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import get_settings


@pytest.fixture
def registry_env(
    database_url: str, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """The CLI (`registry ...`) pointed at this test's database."""
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database_url)
    monkeypatch.setenv("REGISTRY_JWT_KEY_FILE", str(key_file))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
