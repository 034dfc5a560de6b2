"""The service installs its runtime lock only; development tools come from their own lock."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("pytest", "mypy", "ruff", "schemathesis", "pip-audit", "hypothesis", "authlib")


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _pinned(lock: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / lock).read_text().splitlines():
        if line and not line.startswith(("#", "-")):
            name, _, version = line.partition("==")
            assert version, f"{lock}: {line!r} is not pinned"
            pins[_name(name)] = version
    return pins


def _project() -> dict[str, list[str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {"runtime": data["dependencies"], "dev": data["optional-dependencies"]["dev"]}


def test_runtime_lock_holds_every_runtime_dependency_and_no_development_tool() -> None:
    runtime, dev = _pinned("requirements.lock"), _pinned("requirements-dev.lock")
    wanted = _project()
    for requirement in wanted["runtime"]:
        assert _name(requirement) in runtime, requirement
    for requirement in wanted["dev"]:
        # anyio and httpx, say, are also what the runtime needs: pinned once, in the runtime lock.
        name = _name(requirement)
        assert name in dev or name in runtime, f"{name} is in neither lock"
    for tool in TOOLS:
        assert tool not in runtime, f"{tool} is a development tool in the runtime lock"
        assert tool in dev


def test_the_two_locks_never_pin_one_package_twice() -> None:
    runtime, dev = _pinned("requirements.lock"), _pinned("requirements-dev.lock")
    assert not set(runtime) & set(dev)


def test_image_and_demo_install_the_runtime_lock_only() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements.lock" in dockerfile
    assert "requirements-dev.lock" not in dockerfile
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo: install-runtime$", makefile, re.M)
    runtime_recipe = makefile.split("$(VENV)/.runtime:", 1)[1].split("\n\n", 1)[0]
    assert "requirements-dev.lock" not in runtime_recipe
    test_recipe = makefile.split("$(VENV)/.installed:", 1)[1].split("\n\n", 1)[0]
    assert "requirements-dev.lock" in test_recipe
