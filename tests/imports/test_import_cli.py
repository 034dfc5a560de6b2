"""``registry import FILE --org C`` end to end through the command line (typer's runner).

A file with a bad row used to crash the command (``vars()`` of a slots dataclass) instead
of printing the row errors and exiting 1.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from app.cli import cli
from app.config import get_settings

HEADER = ["kind", "institution", "identifier", "category", "description", "amount_lost_vnd"]
GOOD = ["phone", "", "0912 345 678", "TASK_SCAM", "called", ""]
BAD_ROWS = [
    ["phone", "", "12345", "TASK_SCAM", "", ""],
    ["phone", "", "0912345679", "NOT_A_TYPOLOGY", "", ""],
    ["phone", "", "0912345670", "TASK_SCAM", "", "1,000"],
]
# Row numbers as in the file: the header is row 1.
EXPECTED_LINES = [
    "row 3: identifier: phone must be a Vietnamese mobile number, e.g. 0912 345 678 or "
    "+84912345678",
    "row 4: category: unknown category NOT_A_TYPOLOGY; see GET /v1/typologies",
    "row 5: amount_lost_vnd: must be a whole number of đồng, digits only",
]


@pytest.fixture
def registry(
    database_url: str, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    """A runner for ``registry`` against this test's migrated database."""
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database_url)
    monkeypatch.setenv("REGISTRY_JWT_KEY_FILE", str(key_file))
    get_settings.cache_clear()
    runner = CliRunner()
    created = runner.invoke(
        cli,
        [
            "org",
            "create",
            "--code",
            "VCB",
            "--name",
            "VCB",
            "--kind",
            "bank",
            "--institution",
            "VCB",
        ],
    )
    assert created.exit_code == 0, created.output
    yield runner
    get_settings.cache_clear()


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def row_lines(result: Result) -> list[str]:
    return sorted(line for line in result.stderr.splitlines() if line.startswith("row "))


def test_a_bad_row_prints_its_errors_and_exits_1(registry: CliRunner, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "flags.csv", [GOOD, *BAD_ROWS])
    result = registry.invoke(cli, ["import", str(path), "--org", "VCB"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.output
    assert row_lines(result) == EXPECTED_LINES


def test_a_bad_row_with_json_prints_the_errors_as_json_and_exits_1(
    registry: CliRunner, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "flags.csv", [GOOD, *BAD_ROWS])
    result = registry.invoke(cli, ["import", str(path), "--org", "VCB", "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert (summary["committed"], summary["created"], summary["error_count"]) == (False, 0, 3)
    lines = sorted(f"row {e['row']}: {e['field']}: {e['message']}" for e in summary["errors"])
    assert lines == EXPECTED_LINES
    assert row_lines(result) == EXPECTED_LINES


def test_a_nul_in_a_cell_is_a_row_error(registry: CliRunner, tmp_path: Path) -> None:
    # SPEC §8 "Text" holds for imports too: FlagCreate refuses it before any database does.
    path = write_csv(tmp_path / "flags.csv", [[*GOOD[:4], "called\x00", ""]])
    result = registry.invoke(cli, ["import", str(path), "--org", "VCB", "--json"])
    assert result.exit_code == 1, result.output
    assert row_lines(result) == [
        "row 2: description: must not contain NUL characters or lone surrogates"
    ]


def test_a_clean_file_is_imported_and_exits_0(registry: CliRunner, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "flags.csv", [GOOD])
    result = registry.invoke(cli, ["import", str(path), "--org", "VCB", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["committed"], summary["created"], summary["errors"]) == (True, 1, [])
    again = registry.invoke(cli, ["import", str(path), "--org", "VCB", "--json"])
    assert json.loads(again.stdout)["skipped"] == 1
