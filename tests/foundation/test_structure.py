"""The write path's rules are structural: these fail when code goes around them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from app.audit.vocabulary import Action, EntityType

APP = Path(__file__).resolve().parents[2] / "app"
UNIT_OF_WORK = APP / "db" / "unit_of_work.py"


def _sources() -> dict[Path, str]:
    return {path: path.read_text() for path in sorted(APP.rglob("*.py"))}


def test_commit_appears_only_in_the_unit_of_work() -> None:
    found = [
        f"{path.relative_to(APP)}:{n}"
        for path, text in _sources().items()
        if path != UNIT_OF_WORK
        for n, line in enumerate(text.splitlines(), 1)
        if "commit(" in line
    ]
    assert found == [], "only app/db/unit_of_work.py commits: " + ", ".join(found)


def test_only_the_unit_of_work_takes_the_write_lock() -> None:
    found = [
        str(path.relative_to(APP))
        for path, text in _sources().items()
        if path != UNIT_OF_WORK and "EventWriter.begin(" in text
    ]
    assert found == []


def test_services_and_repositories_never_open_a_write_session() -> None:
    """Writes go through ``unit_of_work`` / ``unchained_write``; nothing else opens one."""
    allowed = {UNIT_OF_WORK, APP / "db" / "engine.py"}
    found = [
        str(path.relative_to(APP))
        for path, text in _sources().items()
        if path not in allowed and "write_session(" in text
    ]
    assert found == []


def test_events_are_named_through_the_vocabulary() -> None:
    """No ``entity_type="..."`` / ``action="..."`` literal builds or matches an event."""
    literal = re.compile(r"""\b(entity_type|action)\s*(==|=)\s*["']""")
    found = [
        f"{path.relative_to(APP)}:{n}"
        for path, text in _sources().items()
        for n, line in enumerate(text.splitlines(), 1)
        if literal.search(line)
    ]
    assert found == []


def test_every_change_names_its_entity_type_and_action_from_the_enums() -> None:
    for path, text in _sources().items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Change":
                names = {k.arg: k.value for k in node.keywords}
                assert "entity_type" in names and "action" in names, path
                for field in ("entity_type", "action"):
                    assert not isinstance(names[field], ast.Constant), (path, node.lineno)


def test_the_vocabulary_values_are_the_stored_ones() -> None:
    # Renaming a value would orphan every event already in a chain.
    assert EntityType.SUBJECT == "subject" and Action.ANSWER_CHANGED == "answer_changed"
    assert len(set(Action)) == len(Action.__members__)
