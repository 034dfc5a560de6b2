from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Settings

TOKEN = "scrape-token-0123456789abcdef"


@pytest.fixture
def settings(database_url: str, key_file: Path) -> Settings:
    return Settings(
        database_url=database_url,
        jwt_key_file=key_file,
        gc_freeze_after_start=False,
        metrics_token=TOKEN,
    )
