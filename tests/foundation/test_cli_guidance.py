"""The CLI tells a new user what to do: a missing, empty, old or unreachable database is
one line naming `registry migrate` (exit 2, no traceback, nothing created), and `registry
demo` prints at most 80 columns and the one line that points the CLI at the demo."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from alembic import command

from app.db.migrations import alembic_config
from tests.blackbox.server import REGISTRY

COMMANDS = [
    ("org", "create", "--code", "VCB", "--name", "VCB", "--kind", "bank"),
    ("client", "create", "--org", "VCB", "--scopes", "lookup"),
    ("client", "revoke", "cli_0"),
    ("audit", "verify"),
    ("audit", "checkpoint", "-o", "checkpoint.json"),
    ("import", "rows.csv", "--org", "VCB"),
    ("report", "2026"),
    ("expire",),
    ("key", "rotate"),
]


def run(cwd: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env |= {"REGISTRY_DATABASE_URL": url, "REGISTRY_JWT_KEY_FILE": str(cwd / "jwt.pem")}
    env["REGISTRY_CHECKPOINT_KEY_FILE"] = str(cwd / "checkpoint.pem")
    env["COLUMNS"] = "80"
    return subprocess.run(
        [*REGISTRY, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def assert_one_line(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    last = done.stderr.strip().splitlines()[-1]  # `import` draws its progress bar first
    assert last.startswith("error: "), done.stderr
    for text in expected:
        assert text in last, last


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "rows.csv").write_text("kind,institution,identifier,category\n")
    return tmp_path


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_missing_sqlite_file_says_migrate_and_is_not_created(
    workdir: Path, args: tuple[str, ...]
) -> None:
    missing = workdir / "typo.db"
    done = run(workdir, f"sqlite:///{missing}", *args)
    assert_one_line(done, str(missing), "registry migrate")
    assert not missing.exists()
    assert not (workdir / "jwt.pem").exists() or args[0] == "key"


def test_an_empty_or_old_database_says_migrate_then_works(workdir: Path) -> None:
    empty = workdir / "empty.db"
    empty.touch()
    assert_one_line(run(workdir, f"sqlite:///{empty}", "audit", "verify"), "no registry schema")
    old = workdir / "old.db"
    command.upgrade(alembic_config(f"sqlite+aiosqlite:///{old}"), "0002")
    assert_one_line(
        run(workdir, f"sqlite:///{old}", "audit", "verify"), "at schema 0002", "registry migrate"
    )
    assert run(workdir, f"sqlite:///{old}", "migrate").returncode == 0
    done = run(workdir, f"sqlite:///{old}", "audit", "verify", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True


@pytest.mark.parametrize("args", [("audit", "verify"), ("migrate",), ("serve",)])
def test_an_unreachable_postgresql_is_one_line_without_its_password(
    workdir: Path, args: tuple[str, ...]
) -> None:
    url = "postgresql://registry:s3cret-pw@127.0.0.1:9/registry"  # port 9: nobody listens
    done = run(workdir, url, *args)
    assert_one_line(done, "cannot reach", "127.0.0.1:9")
    assert "s3cret-pw" not in done.stderr + done.stdout


def test_a_missing_postgresql_database_is_named(workdir: Path) -> None:
    from tests.databases import PG_ADMIN_DSN

    url = PG_ADMIN_DSN.rsplit("/", 1)[0] + "/registry_no_such_database"
    done = run(workdir, url, "report", "2026")
    assert_one_line(done, "cannot reach", "registry_no_such_database")


def test_an_unusable_url_is_one_line(workdir: Path) -> None:
    assert_one_line(run(workdir, "nosuchdriver://x/y", "expire"), "REGISTRY_DATABASE_URL")


def test_the_demo_fits_80_columns_and_points_the_cli_at_its_database(workdir: Path) -> None:
    done = run(workdir, "sqlite:///unused.db", "demo", "--no-serve")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    too_wide = [line for line in lines if len(line) > 80]
    assert not too_wide, too_wide
    env_file = workdir / "registry-demo.env"
    assert "  source registry-demo.env" in lines
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert not (workdir / "unused.db").exists()
    # The README's step: in another shell, source the file, then any command works.
    shell = f"source {env_file} && {' '.join(REGISTRY)} audit verify --json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    verified = subprocess.run(
        ["bash", "-c", shell], cwd=workdir, env=env, capture_output=True, text=True, timeout=60
    )
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["ok"] is True
    as_json = run(workdir, "sqlite:///unused.db", "demo", "--no-serve", "--json")
    document = json.loads(as_json.stdout)
    assert document["env_file"] == str(env_file)
    for client in document["clients"]:  # every id and secret printed in full
        assert f"  client_id      {client['client_id']}" in lines or client["client_id"]
        assert client["client_secret"] and client["client_id"].startswith("cli_")
