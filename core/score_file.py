"""`tuner eval --score PREDS.jsonl [--exec]`: score a predictions file written by any system.

Each line: instruction, reference and prediction (the model's answer as written; the command is
extracted from it) — or tuner's own `output`/`command` fields — and optionally fixture,
alternatives and category. The scored rows (verdicts added) and a summary are written beside it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import TunerError


def _read_rows(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Usable rows and one note per unusable line (file:line and why)."""
    from core.data.extract import extract_command

    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise TunerError(f"--score {path}: cannot read ({e})", kind="data") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            notes.append(f"{path}:{n}: not JSON ({e.msg}); skipped")
            continue
        if not isinstance(row, dict):
            notes.append(f"{path}:{n}: not a JSON object; skipped")
            continue
        reference = row.get("reference")
        if not isinstance(reference, str) or not reference.strip():
            notes.append(f"{path}:{n}: no 'reference' command; skipped")
            continue
        answer = row.get("prediction", row.get("output"))
        command = row.get("command")
        if command is None and answer is None:
            notes.append(f"{path}:{n}: no 'prediction' (or 'command'/'output'); skipped")
            continue
        out = dict(row)
        out["output"] = str(answer) if answer is not None else str(command)
        out["command"] = str(command) if command is not None else extract_command(str(answer))
        alts = row.get("alternatives") or []
        out["alternatives"] = [str(a) for a in alts] if isinstance(alts, list) else [str(alts)]
        out.setdefault("row_id", f"{path.name}:{n}")
        rows.append(out)
    return rows, notes


def scored_paths(path: Path, out: Path | None) -> tuple[Path, Path]:
    """(scored rows, summary): `--out` or `<name>.scored.jsonl` beside the input, and its `.summary.json`."""
    from core.evaluate import summary_path

    target = out or path.with_name(path.name.removesuffix(".jsonl") + ".scored.jsonl")
    return target, summary_path(target)


def score_file(
    path: Path | str,
    *,
    exec_check: bool = False,
    out: Path | str | None = None,
    workers: int = 2,
    fixture: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]], Path, Path, list[str]]:
    """Score the file; returns (summary, rows, rows path, summary path, notes)."""
    from core.evaluate import add_exec_verdicts, judge, score, write_atomic

    path = Path(path).expanduser()
    if not path.is_file():
        raise TunerError(f"--score file {str(path)!r} does not exist", kind="data")
    if exec_check:
        from core.sandbox.bwrap import require_sandbox

        require_sandbox()
    rows, notes = _read_rows(path)
    if not rows:
        raise TunerError(
            f"{path}: no rows to score",
            kind="data",
            hint="each line needs 'reference' and 'prediction' (optional: instruction, fixture, alternatives, category)",
        )
    if fixture:
        for r in rows:
            r.setdefault("fixture", fixture)
    target, spath = scored_paths(path, Path(out) if out else None)
    if target.resolve() == path.resolve():
        raise TunerError(f"--out {target} is the input file", kind="config", hint="name another file")
    started = time.perf_counter()
    for r in rows:
        r.update(judge(r["command"], r["reference"], r["alternatives"] or None))
    summary = score(rows)
    if exec_check:
        summary.update(add_exec_verdicts(rows, workers, on_progress))
    summary.update(
        {
            "seconds": round(time.perf_counter() - started, 3),
            "model": f"predictions: {path.name}",
            "mode": "scored",
            "data": str(path),
            "data_rows": len(rows) + len(notes),
            "skipped_rows": len(notes),
            "predictions": str(target),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "notes": notes[:20],
        }
    )
    write_atomic(target, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    write_atomic(spath, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary, rows, target, spath, notes
