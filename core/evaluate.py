"""`tuner eval`: greedy predictions for a test set, scored by exact match, normalized-command match,
bash syntax validity and dangerous-command rate. Nothing generated is ever executed.

`score()` is pure (predictions in, metrics out); `evaluate_run()` loads the run, generates in
batches, writes one prediction per row to a JSONL file and the metrics to `<name>.summary.json`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import DataError, TunerError

if TYPE_CHECKING:
    from core.config.schema import Preset
    from core.data.records import Example
    from core.run_model import Loaded

ALTERNATIVES_FILE = "alternatives.json"
_FIELDS_HINT = (
    "--data needs a JSONL/JSON/CSV/Parquet file with an instruction field (or nl, query, prompt, "
    "question, …) and a command field (or cmd, bash, code, …)"
)
METRICS = ("exact_match", "normalized_match", "syntax_valid", "dangerous_rate")


# ---------------------------------------------------------------------------------- scoring


def judge(command: str, reference: str, alternatives: list[str] | None = None) -> dict[str, Any]:
    """Per-row verdicts for one generated command.

    exact: identical to the reference (surrounding whitespace aside); normalized_match: equal after
    normalizing whitespace and quoting to the reference or any alternative (NL2SH-ALFA style);
    syntax_ok: parses as bash; dangerous: why it is destructive, or None.
    """
    from core.data.safety import dangerous_reason
    from core.data.syntax import bash_syntax_error
    from core.metrics import commands_match, exact_match

    command = command or ""
    has = bool(command.strip())
    return {
        "exact": has and exact_match(command, reference),
        "normalized_match": has and commands_match(command, reference, alternatives),
        "syntax_ok": bash_syntax_error(command) is None,
        "dangerous": dangerous_reason(command) if has else None,
    }


def _rate(n: int, total: int) -> float | None:
    return n / total if total else None


def score(predictions: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Metrics over predictions, each with `reference` and `command` (or `output` to extract it from)
    and optionally `alternatives`. Verdicts are recomputed, never trusted from the input.

    Returns rows, the four rates (0–1; None when there are no rows) and their counts.
    """
    from core.data.extract import extract_command

    rows = exact = normalized = syntax = dangerous = empty = 0
    for p in predictions:
        command = p.get("command")
        if command is None:
            command = extract_command(p.get("output") or "")
        verdict = judge(command, str(p.get("reference") or ""), list(p.get("alternatives") or []) or None)
        rows += 1
        exact += verdict["exact"]
        normalized += verdict["normalized_match"]
        syntax += verdict["syntax_ok"]
        dangerous += verdict["dangerous"] is not None
        empty += not command.strip()
    return {
        "rows": rows,
        "exact_match": _rate(exact, rows),
        "normalized_match": _rate(normalized, rows),
        "syntax_valid": _rate(syntax, rows),
        "dangerous_rate": _rate(dangerous, rows),
        "counts": {
            "exact": exact,
            "normalized_match": normalized,
            "syntax_ok": syntax,
            "dangerous": dangerous,
            "empty_command": empty,
        },
    }


def add_exec_verdicts(
    preds: list[dict[str, Any]], workers: int = 2, on_progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Run every prediction and its reference in the sandbox; add each row's `exec` verdict; the summary."""
    from core.exec_eval.scorer import ExecScorer, summarize

    with ExecScorer(workers=workers) as scorer:
        verdicts = scorer.judge_all(preds, on_progress)
    for p, v in zip(preds, verdicts, strict=True):
        p["exec"] = v
    return summarize(verdicts, [p.get("category") for p in preds])


# ---------------------------------------------------------------------------------- test rows


@dataclass
class EvalData:
    """The rows to evaluate and where they came from."""

    examples: list[Example]
    alternatives: dict[str, list[str]]
    path: Path  # the file read
    stem: str  # "test" for the run's own split, else the data file's stem
    skipped: int = 0  # rows of a --data file that could not be used
    notes: list[str] = field(default_factory=list)
    fixtures: dict[str, str] = field(default_factory=dict)  # row_id → fixture, for --exec


def _read_alternatives(folder: Path) -> dict[str, list[str]]:
    path = folder / ALTERNATIVES_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise TunerError(f"{path}: cannot read ({e})", kind="data") from None
    if not isinstance(data, dict):
        return {}
    return {str(k): [str(c) for c in v] for k, v in data.items() if isinstance(v, list)}


def _first_row(path: Path) -> dict[str, Any]:
    """The first JSON object of a JSONL file; {} when there is none or it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            first = next((line for line in f if line.strip()), "")
        row = json.loads(first) if first else {}
    except (OSError, ValueError):
        return {}
    return row if isinstance(row, dict) else {}


def _is_built_split(path: Path) -> bool:
    """A split file written by `tuner data build` (keeps its row ids, so alternatives line up)."""
    if not (path.parent / "manifest.json").is_file():
        return False
    row = _first_row(path)
    return all(k in row for k in ("instruction", "command", "source", "row_id"))


def load_data_file(path: Path | str) -> EvalData:
    """Rows of any JSONL/CSV/JSON/Parquet file with instruction and command fields (field aliases as
    for [[data.sources]]), or of a built data directory (its test split)."""
    from core.config.schema import SourceCfg
    from core.data.build import read_examples
    from core.data.sources import load_source

    path = Path(path).expanduser()
    if not path.exists():
        raise TunerError(f"--data file {str(path)!r} does not exist", kind="data")
    if path.is_dir():
        if not (path / "test.jsonl").is_file():
            raise TunerError(
                f"{path} is a folder without test.jsonl",
                kind="data",
                hint="give a JSONL/CSV file with instruction and command fields",
            )
        path = path / "test.jsonl"
    if _is_built_split(path):
        try:
            examples = read_examples(path)
            return EvalData(examples, _read_alternatives(path.parent), path, path.stem)
        except (KeyError, ValueError, TypeError):
            pass  # not quite a built split after all: read it like any file
    try:
        res = load_source(SourceCfg(kind="file", path=str(path)))
    except DataError as e:  # its hints speak of preset entries; here the file is all there is
        raise TunerError(e.message, kind="data", hint=_FIELDS_HINT) from None
    return EvalData(
        res.examples,
        {**_read_alternatives(path.parent), **res.alternatives},
        path,
        path.stem,
        skipped=len(res.rejected),
    )


def exec_set_data(path: Path | str | None = None) -> EvalData:
    """The execution-checked test set (default: the shipped one) as evaluation rows with their fixtures."""
    from core.data.records import Example
    from core.exec_eval.exec_set import exec_sample, exec_set_path, load_exec_set

    file = Path(path) if path is not None else exec_set_path()
    # Round-robin over the categories (the order eval.exec samples in): --limit N is a balanced sample.
    rows = exec_sample(load_exec_set(file), 10**9)
    examples = [Example(r.instruction, r.reference, "exec-set", r.id, category=r.category) for r in rows]
    alternatives = {r.id: list(r.alternatives) for r in rows if r.alternatives}
    return EvalData(examples, alternatives, file, file.stem, fixtures={r.id: r.fixture for r in rows})


def _is_exec_set(path: Path) -> bool:
    """A JSONL file whose rows name a fixture (the execution-checked set's format)."""
    if path.suffix != ".jsonl" or not path.is_file():
        return False
    row = _first_row(path)
    return "fixture" in row and "reference" in row


def few_shot_examples(run_dir: Path, k: int) -> list[tuple[str, str]]:
    """`k` short (instruction, command) pairs from the run's train split, the same ones every time.

    Train rows only: the pipeline decontaminates train against the val/test splits and the
    execution-checked set, so no example can give away a test answer.
    """
    import random

    from core.data.build import read_examples
    from core.run_model import read_provenance

    data_dir = (read_provenance(run_dir).get("extra") or {}).get("data_dir")
    train = Path(data_dir) / "train.jsonl" if data_dir else None
    if train is None or not train.is_file():
        raise TunerError(
            f"--few-shot needs the run's train split, and {train or 'its data dir'} is gone",
            kind="data",
            hint="rebuild it with `tuner data build` for the run's preset, or use --few-shot 0",
        )
    rows = [
        ex
        for ex in read_examples(train)
        if len(ex.command) <= 80 and len(ex.instruction) <= 120 and not ex.origin
    ]
    rng = random.Random(0)
    rng.shuffle(rows)
    picked: list[tuple[str, str]] = []
    seen: set[str] = set()
    for ex in rows:  # different programs, so the examples show range rather than one habit
        head = ex.command.split()[0] if ex.command.split() else ""
        if head not in seen:
            seen.add(head)
            picked.append((ex.instruction, ex.command))
        if len(picked) == k:
            break
    return picked


def run_test_data(run_dir: Path, preset: Preset) -> EvalData:
    """The run's own test split: provenance extra.data_dir/test.jsonl, rebuilt from the preset if gone."""
    from core.data.build import build_data
    from core.run_model import read_provenance

    prov = read_provenance(run_dir)
    data_dir = (prov.get("extra") or {}).get("data_dir")
    notes: list[str] = []
    if data_dir and (Path(data_dir) / "test.jsonl").is_file():
        folder = Path(data_dir)
    else:
        dd = build_data(preset)
        folder = dd.path
        gone = f"data dir {data_dir} is gone" if data_dir else "the run recorded no data dir"
        notes.append(f"{gone}: rebuilt from the run's preset → {folder}")
        trained_on = prov.get("data_hash")
        if trained_on and trained_on != dd.data_hash:
            notes.append(
                "the rebuilt data differs from what the run trained on (data hash changed): "
                "its test split may overlap the training rows"
            )
    from core.data.build import read_examples

    examples = read_examples(folder / "test.jsonl")
    return EvalData(examples, _read_alternatives(folder), folder / "test.jsonl", "test", notes=notes)


# ---------------------------------------------------------------------------------- the loop


@dataclass
class EvalResult:
    """What `evaluate_run` produced."""

    summary: dict[str, Any]
    predictions: list[dict[str, Any]]
    out: Path
    summary_path: Path
    notes: list[str] = field(default_factory=list)


def summary_path(out: Path) -> Path:
    """`eval/test-adapter.jsonl` → `eval/test-adapter.summary.json`."""
    out = Path(out)
    return out.with_name(
        (out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.name) + ".summary.json"
    )


def mode_name(base: bool, checkpoint_dir: Path | None) -> str:
    """ "base", "adapter" or the checkpoint folder's name: the suffix of default prediction files."""
    if base:
        return "base"
    if checkpoint_dir is None or checkpoint_dir.name == "adapter":
        return "adapter"
    return checkpoint_dir.name


def default_out(run_dir: Path, stem: str, mode: str) -> Path:
    """`<run_dir>/eval/<stem>-<mode>.jsonl`."""
    return Path(run_dir) / "eval" / f"{stem}-{mode}.jsonl"


def write_atomic(path: Path, text: str) -> None:
    """Write text to path through a temp file and a rename (never a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def predict(
    loaded: Loaded,
    examples: list[Example],
    alternatives: dict[str, list[str]] | None = None,
    *,
    batch_size: int = 16,
    max_new_tokens: int = 64,
    on_progress: Callable[[int, int], None] | None = None,
    shots: list[tuple[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """Greedy predictions for `examples`, one dict per row in their order, with per-row verdicts."""
    from core.generate import generate_batch

    alternatives = alternatives or {}
    # Similar lengths share a batch (less padding); results go back to the input order.
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].instruction))
    outputs: dict[int, Any] = {}
    total = len(order)
    if on_progress:
        on_progress(0, total)
    for start in range(0, total, batch_size):
        chunk = order[start : start + batch_size]
        answers = generate_batch(
            loaded.model,
            loaded.tokenizer,
            [examples[i].instruction for i in chunk],
            style=loaded.style,
            system_prompt=loaded.system_prompt,
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
            shots=shots or (),
        )
        outputs.update(zip(chunk, answers, strict=True))
        if on_progress:
            on_progress(min(start + batch_size, total), total)
    preds = []
    for i, ex in enumerate(examples):
        ans = outputs[i]
        alts = alternatives.get(ex.row_id) or []
        verdict = judge(ans.command, ex.command, alts or None)
        row = {
            "row_id": ex.row_id,
            "instruction": ex.instruction,
            "reference": ex.command,
            "output": ans.output,
            "command": ans.command,
            **verdict,
        }
        if alts:
            row["alternatives"] = alts
        preds.append(row)
    return preds


def evaluate_run(
    run_ref: str | None,
    *,
    data: Path | str | None = None,
    out: Path | str | None = None,
    base: bool = False,
    checkpoint: str | None = None,
    limit: int | None = None,
    batch_size: int = 16,
    max_new_tokens: int | None = None,
    runs_root: Path | str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    on_loaded: Callable[[Loaded, EvalData], None] | None = None,
    device: str = "auto",
    quant: bool = True,
    exec_check: bool = False,
    exec_workers: int = 2,
    on_exec_progress: Callable[[int, int], None] | None = None,
    few_shot: int | None = None,
) -> EvalResult:
    """Evaluate a run (or its base model) on its test split or a data file; write predictions + summary.

    The rows are read before the model is loaded, so a bad --data file fails in a second.
    max_new_tokens defaults to the preset's eval.max_new_tokens; device/quant as load_for_inference.
    """
    from core.run_model import load_for_inference, read_run_preset, weights_dir
    from core.runs import resolve_run

    if batch_size < 1:
        raise TunerError("--batch-size must be at least 1", kind="config")
    if limit is not None and limit < 1:
        raise TunerError("--limit must be at least 1", kind="config")
    if base and checkpoint:
        raise TunerError("give --base or --checkpoint, not both", kind="config")
    run_dir = resolve_run(run_ref or "latest", Path(runs_root) if runs_root is not None else None)
    preset = read_run_preset(run_dir)
    # fail on a missing adapter before the data work
    folder = None if base else weights_dir(run_dir, checkpoint)
    if exec_check:
        from core.sandbox.bwrap import require_sandbox

        require_sandbox()  # refuse in one line before any model is loaded; never run on the host
    if data is not None:
        ev_data = exec_set_data(data) if _is_exec_set(Path(data)) else load_data_file(data)
    elif exec_check:
        ev_data = exec_set_data()
    else:
        ev_data = run_test_data(run_dir, preset)
    examples = ev_data.examples[:limit] if limit else ev_data.examples
    if not examples:
        what = str(ev_data.path)
        raise TunerError(
            f"no rows to evaluate in {what}",
            kind="data",
            hint="give --data FILE with instruction and command fields",
        )
    mode = mode_name(base, folder)
    out_path = Path(out) if out else default_out(run_dir, ev_data.stem, mode)
    if out_path.suffix != ".jsonl":
        raise TunerError(
            f"--out {str(out_path)!r}: predictions are written as JSONL",
            kind="config",
            hint="name the file *.jsonl",
        )
    max_new = max_new_tokens or preset.eval.max_new_tokens

    k = preset.eval.few_shot if few_shot is None else few_shot
    shots = few_shot_examples(run_dir, k) if k else []
    loaded = load_for_inference(str(run_dir), base=base, checkpoint=checkpoint, device=device, quant=quant)
    if on_loaded:
        on_loaded(loaded, ev_data)
    started = time.perf_counter()
    preds = predict(
        loaded,
        examples,
        ev_data.alternatives,
        batch_size=batch_size,
        max_new_tokens=max_new,
        on_progress=on_progress,
        shots=shots,
    )
    seconds = time.perf_counter() - started

    by_id = {ex.row_id: ex.category for ex in examples}
    for p in preds:
        p["category"] = by_id.get(p["row_id"]) or None
        p["fixture"] = ev_data.fixtures.get(p["row_id"])
    summary = score(preds)
    if exec_check:
        summary.update(add_exec_verdicts(preds, exec_workers, on_exec_progress))
    summary.update(
        {
            "seconds": round(seconds, 3),
            "rows_per_s": round(len(preds) / seconds, 3) if seconds > 0 else None,
            "model": loaded.label,
            "mode": mode,
            "run": run_dir.name,
            "run_dir": str(run_dir),
            "data": str(ev_data.path),
            "data_rows": len(ev_data.examples),
            "skipped_rows": ev_data.skipped,
            "limit": limit,
            "alternatives": bool(ev_data.alternatives),
            "max_new_tokens": max_new,
            "few_shot": len(shots),
            "batch_size": batch_size,
            "device": loaded.device,
            "base_loaded": loaded.base_note,  # e.g. "base in 4-bit NF4 (as trained)": before/after must match
            "load_seconds": round(loaded.load_seconds, 3),
            "predictions": str(out_path),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "notes": ev_data.notes,
        }
    )
    write_atomic(out_path, "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in preds))
    spath = summary_path(out_path)
    write_atomic(spath, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return EvalResult(summary, preds, out_path, spath, ev_data.notes)
