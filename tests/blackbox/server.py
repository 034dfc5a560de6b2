"""A real ``registry serve`` process on a free port, and the CLI, for black-box stories."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REGISTRY = [sys.executable, "-m", "app"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> Any:
        """Run a ``registry`` command with ``--json`` and return its parsed output."""
        done = subprocess.run(
            [*REGISTRY, *args, "--json"], env=self.env, capture_output=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr.decode()
        return json.loads(done.stdout)

    def token_for_new_org(self, code: str, kind: str, institution: str | None, scopes: str) -> str:
        """Create an organisation and a client with the CLI; the client's access token."""
        args = ["org", "create", "--code", code, "--name", code, "--kind", kind]
        self.cli(*args, *(["--institution", institution] if institution else []))
        client = self.cli("client", "create", "--org", code, "--scopes", scopes)
        answer = httpx.post(
            f"{self.url}/v1/oauth/token",
            auth=(client["client_id"], client["client_secret"]),
            data={"grant_type": "client_credentials"},
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def start(self, log_dir: Path) -> None:
        self.log = log_dir / f"server-{self.port}.log"
        self.process = subprocess.Popen(
            [*REGISTRY, "serve", "--port", str(self.port)],
            env=self.env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"server did not start: {self.log.read_text()}")

    def restart(self) -> None:
        """Start again on the same port, logging next to the first run."""
        assert self.log is not None
        self.start(self.log.parent)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@contextmanager
def serving(database_url: str, key_file: Path, log_dir: Path, **extra: str) -> Iterator[Server]:
    """A started server on the test's database, its checkpoint key in ``log_dir``; stopped
    afterwards."""
    extra.setdefault("REGISTRY_CHECKPOINT_KEY_FILE", str(log_dir / "checkpoint.pem"))
    srv = Server(server_env(database_url, key_file, **extra))
    srv.start(log_dir)
    try:
        yield srv
    finally:
        srv.stop()


def server_env(database_url: str, key_file: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update({"REGISTRY_DATABASE_URL": database_url, "REGISTRY_JWT_KEY_FILE": str(key_file)})
    env.update(extra)
    return env
