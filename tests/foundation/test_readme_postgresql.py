"""The README's "Running with PostgreSQL, without Docker" steps, run as written.

The block is read from the README itself, so a step that stops working fails here. Only the
host-specific parts are swapped: the role and database (a fresh pair per run), the key folder
(a temporary one), the port (a free one) and `.venv/bin/registry` (this interpreter's). The
steps before `make install-runtime` install system packages and are the test machine's own.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from tests.blackbox.server import free_port
from tests.databases import ENGINE, PG_ADMIN_DSN

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Running with PostgreSQL, without Docker"

pytestmark = pytest.mark.skipif(ENGINE != "postgresql", reason="a PostgreSQL recipe")


def recipe_steps() -> list[str]:
    """The shell lines of the section's first code block, comments removed."""
    text = README.read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the section has no sh block"
    lines = [line.split("  #", 1)[0].rstrip() for line in block.group(1).splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


async def _admin(*statements: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def test_the_readme_postgresql_recipe_serves(tmp_path: Path) -> None:
    steps = recipe_steps()
    first = steps.index("make install-runtime")
    name = f"registry_readme_{uuid.uuid4().hex[:8]}"
    port = free_port()
    host_dsn = PG_ADMIN_DSN.split("@", 1)[1].rsplit("/", 1)[0]  # 127.0.0.1:5432
    asyncio.run(
        _admin(
            f"CREATE ROLE {name} LOGIN PASSWORD 'change-me'",
            f"CREATE DATABASE {name} OWNER {name}",
        )
    )
    try:
        script = []
        for step in steps[first + 1 :]:
            step = step.replace(".venv/bin/registry", f"{sys.executable} -m app")
            step = step.replace("/var/lib/registry", str(tmp_path / "keys"))
            step = step.replace(
                "registry:change-me@127.0.0.1:5432/registry", f"{name}:change-me@{host_dsn}/{name}"
            )
            step = step.replace("8000", str(port))
            if " -m app serve " in step:
                # Served in the background; the next step (curl /readyz) waits for it.
                log = tmp_path / "serve.log"
                step = f"{step} > {log} 2>&1 & SERVER=$!; trap 'kill $SERVER' EXIT"
                step += f"\nfor _ in $(seq 60); do curl -sf http://127.0.0.1:{port}/readyz && break"
                step += "; sleep 0.5; done"
            script.append(step)
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", "\n".join(script)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            check=False,
        )
        log = tmp_path / "serve.log"
        assert done.returncode == 0, done.stderr + (log.read_text() if log.exists() else "")
        assert '"status":"ready"' in done.stdout
        assert (tmp_path / "keys" / "jwt-key.pem").stat().st_mode & 0o777 == 0o600
    finally:
        asyncio.run(
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f"DROP ROLE IF EXISTS {name}")
        )
