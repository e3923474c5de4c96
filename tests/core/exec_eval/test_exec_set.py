"""The shipped execution-checked test set loads and is balanced; a bad line is named by file:line and field."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import bashlex
import pytest

from core.errors import DataError
from core.exec_eval.exec_set import CATEGORIES, ExecRow, exec_set_path, load_exec_set
from core.exec_eval.fixtures import fixture_names

MINIMUM = {
    "files": 35,
    "text": 35,
    "archives": 35,
    "permissions": 35,
    "disk": 35,
    "system": 25,
    "pipelines": 35,
}


@pytest.fixture(scope="module")
def rows() -> list[ExecRow]:
    return load_exec_set()


def test_the_shipped_set_is_big_and_balanced(rows: list[ExecRow]) -> None:
    assert len(rows) >= 320
    assert set(CATEGORIES) == set(MINIMUM)
    per_category = Counter(r.category for r in rows)
    for category, minimum in MINIMUM.items():
        assert per_category[category] >= minimum, category
    per_fixture = Counter(r.fixture for r in rows)
    assert len(per_fixture) >= 5 and set(per_fixture) <= set(fixture_names())
    assert min(per_fixture.values()) >= 40
    for fixture in per_fixture:  # every fixture is exercised in every category
        assert {r.category for r in rows if r.fixture == fixture} == set(CATEGORIES), fixture


def test_rows_are_unique_and_well_formed(rows: list[ExecRow]) -> None:
    assert len({r.id for r in rows}) == len(rows)
    assert len({(r.fixture, r.instruction) for r in rows}) == len(rows)
    for r in rows:
        assert r.instruction == r.instruction.strip() and r.reference == r.reference.strip(), r.id
        assert "\n" not in r.reference, r.id
        assert r.reference not in r.alternatives and len(set(r.alternatives)) == len(r.alternatives), r.id
        assert r.id.split("-")[0] in {"code", "logs", "home", "sys", "rel"}, r.id


def test_every_reference_parses_with_bashlex(rows: list[ExecRow]) -> None:
    for r in rows:
        bashlex.parse(r.reference)


def test_the_default_path_is_found_through_the_package() -> None:
    assert exec_set_path().is_file() and exec_set_path().parent.name == "exec"


GOOD = {
    "id": "x-1",
    "instruction": "List files",
    "reference": "ls",
    "fixture": "codebase",
    "category": "files",
}


def write(tmp_path: Path, *objs: object) -> Path:
    path = tmp_path / "set.jsonl"
    lines = [o if isinstance(o, str) else json.dumps(o) for o in objs]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_small_file_loads(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD, "", {**GOOD, "id": "x-2", "alternatives": ["ls -1"]})
    got = load_exec_set(path)
    assert got[0] == ExecRow("x-1", "List files", "ls", (), "codebase", "files")
    assert got[1].alternatives == ("ls -1",)


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ("{not json", ":2: not valid JSON"),
        ('["a list"]', ":2: not a JSON object"),
        ({k: v for k, v in GOOD.items() if k != "reference"}, ":2: missing field 'reference'"),
        ({**GOOD, "instruction": "  "}, ":2: field must be a non-empty string: 'instruction'"),
        ({**GOOD, "category": "network"}, ":2: field 'category' is 'network'"),
        ({**GOOD, "fixture": "moon"}, ":2: field 'fixture' names unknown fixture 'moon'"),
        ({**GOOD, "alternatives": "ls -1"}, ":2: field 'alternatives' must be a list"),
        ({**GOOD, "command": "ls"}, ":2: unknown field 'command'"),
        ({**GOOD}, ":2: field 'id' repeats 'x-1' from line 1"),
    ],
)
def test_a_bad_line_is_named_by_file_line_and_field(tmp_path: Path, bad: object, needle: str) -> None:
    path = write(tmp_path, GOOD, bad)
    with pytest.raises(DataError) as err:
        load_exec_set(path)
    text = str(err.value)
    assert err.value.kind == "data" and "\n" not in text
    assert text.startswith(f"{path}:2: ") and needle in text, text


def test_a_missing_or_empty_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_exec_set(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(DataError, match="no rows"):
        load_exec_set(tmp_path / "empty.jsonl")
