from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from tests.webhooks.receiver import Receiver


@pytest.fixture
def settings(database_url: str, key_file: Path) -> Settings:
    """Fast retries and a receiver on 127.0.0.1 allowed (plain http)."""
    return Settings(
        database_url=database_url,
        jwt_key_file=key_file,
        gc_freeze_after_start=False,
        webhook_allowed_hosts="127.0.0.1",
        webhook_poll_interval_seconds=0.05,
        webhook_backoff_base_seconds=0.05,
        webhook_backoff_max_seconds=0.2,
        webhook_read_timeout_seconds=0.5,
        webhook_connect_timeout_seconds=0.5,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()
