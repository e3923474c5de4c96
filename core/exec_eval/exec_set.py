"""Load the execution-checked NL→bash test set: each row's commands run on one of the fixture trees.

Format and how the rows were written: assets/exec/README.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from core.errors import DataError
from core.exec_eval.fixtures import fixture_names

CATEGORIES = ("files", "text", "archives", "permissions", "disk", "system", "pipelines")
FIELDS = ("id", "instruction", "reference", "alternatives", "fixture", "category")
REQUIRED = ("id", "instruction", "reference", "fixture", "category")


@dataclass(frozen=True)
class ExecRow:
    """One test: an instruction, the reference command, equivalent alternatives and the fixture to run on."""

    id: str
    instruction: str
    reference: str
    alternatives: tuple[str, ...]
    fixture: str
    category: str


def exec_set_path() -> Path:
    """The execution-checked test set that ships with tuner."""
    return Path(str(resources.files("assets"))) / "exec" / "bash_exec.jsonl"


def _row(where: str, obj: Any, fixtures: set[str]) -> ExecRow:
    """Validate one parsed line into an ExecRow (errors name file:line and the field)."""
    if not isinstance(obj, dict):
        raise DataError(f"{where}: not a JSON object", hint="write one {...} object per line")
    for key in obj:
        if key not in FIELDS:
            raise DataError(f"{where}: unknown field {key!r}", hint=f"fields: {', '.join(FIELDS)}")
    for key in REQUIRED:
        value = obj.get(key)
        if not isinstance(value, str) or not value.strip():
            problem = "missing field" if key not in obj else "field must be a non-empty string:"
            raise DataError(f"{where}: {problem} {key!r}", hint=f"every row needs {', '.join(REQUIRED)}")
    alternatives = obj.get("alternatives", [])
    if not isinstance(alternatives, list) or not all(isinstance(a, str) and a.strip() for a in alternatives):
        raise DataError(
            f"{where}: field 'alternatives' must be a list of commands", hint='write "alternatives": []'
        )
    if obj["category"] not in CATEGORIES:
        raise DataError(
            f"{where}: field 'category' is {obj['category']!r}, not a known category",
            hint=f"categories: {', '.join(CATEGORIES)}",
        )
    if obj["fixture"] not in fixtures:
        raise DataError(
            f"{where}: field 'fixture' names unknown fixture {obj['fixture']!r}",
            hint=f"fixtures: {', '.join(sorted(fixtures)) or 'none'}",
        )
    return ExecRow(
        id=obj["id"],
        instruction=obj["instruction"],
        reference=obj["reference"],
        alternatives=tuple(alternatives),
        fixture=obj["fixture"],
        category=obj["category"],
    )


def load_exec_set(path: Path | None = None) -> list[ExecRow]:
    """Read and validate the test set (default: the shipped one); a bad line raises a DataError."""
    path = exec_set_path() if path is None else Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file", hint="pass the path of a .jsonl test set") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason})", hint="save the file as UTF-8") from None
    fixtures = set(fixture_names())
    rows: list[ExecRow] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{where}: not valid JSON ({e.msg})", hint="one JSON object per line") from None
        row = _row(where, obj, fixtures)
        if row.id in seen:
            raise DataError(
                f"{where}: field 'id' repeats {row.id!r} from line {seen[row.id]}", hint="ids must be unique"
            )
        seen[row.id] = lineno
        rows.append(row)
    if not rows:
        raise DataError(f"{path}: no rows", hint="write one JSON object per line")
    return rows


def exec_sample(rows: Sequence[ExecRow], n: int) -> list[ExecRow]:
    """`n` rows taken round-robin over the categories in id order: the same rows at every evaluation."""
    by_cat: dict[str, list[ExecRow]] = {}
    for row in sorted(rows, key=lambda r: (r.category, r.id)):
        by_cat.setdefault(row.category, []).append(row)
    queues = [list(v) for _, v in sorted(by_cat.items())]
    out: list[ExecRow] = []
    while len(out) < n and any(queues):
        for q in queues:
            if q and len(out) < n:
                out.append(q.pop(0))
    return out
