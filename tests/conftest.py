from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from tests import databases
from tests.browser_support import browser  # noqa: F401 (the fixture of every browser test)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Every ``async def`` test runs on anyio's asyncio backend, without a marker each."""
    if name.startswith("test") and inspect.iscoroutinefunction(obj):
        pytest.mark.anyio(obj)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys") / "jwt.pem"


@pytest.fixture(scope="session")
def _database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if databases.ENGINE == "postgresql":
        name = databases.create_pg_database()
        yield name
        databases.drop_pg_database(name)
    else:
        yield databases.sqlite_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def database_url(_database_template: object, tmp_path: Path) -> str:
    """A fresh, migrated database for this test."""
    if databases.ENGINE == "postgresql":
        assert isinstance(_database_template, str)
        asyncio.run(databases.reset_pg_database(_database_template))
        return databases.pg_url(_database_template)
    assert isinstance(_database_template, Path)
    return databases.sqlite_copy(_database_template, tmp_path)


@pytest.fixture
def settings(database_url: str, key_file: Path) -> Settings:
    return Settings(database_url=database_url, jwt_key_file=key_file, gc_freeze_after_start=False)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as c:
        yield c
