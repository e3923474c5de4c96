"""The data steps, in order: load → length → syntax → dangerous → dedupe → split → decontaminate → augment.

Each step counts what it removed; every removed source row becomes a `Rejected` with its reason.
Augmentation runs after the split and only on train rows, so no augmented copy of an
evaluation row can leak into training.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config.schema import DataCfg
from core.data.records import Example, Rejected
from core.errors import DataError

SPLITS = ("train", "val", "test")


@dataclass
class PipelineResult:
    """Splits, rejected rows and the report of one build."""

    splits: dict[str, list[Example]]
    rejected: list[Rejected]
    report: dict[str, Any]
    data_hash: str
    alternatives: dict[str, list[str]] = field(default_factory=dict)


def row_key(ex: Example) -> tuple[str, str]:
    """Normalized (instruction, command): two rows with the same key are duplicates."""
    from core.data.normalize import normalize_command, normalize_instruction

    return normalize_instruction(ex.instruction), normalize_command(ex.command)


def data_hash(splits: dict[str, list[Example]]) -> str:
    """SHA-256 over the normalized rows of every split, in file order."""
    from core.data.normalize import normalize_command, normalize_instruction

    h = hashlib.sha256()
    for name in SPLITS:
        for ex in splits.get(name, []):
            line = [name, normalize_instruction(ex.instruction), normalize_command(ex.command)]
            h.update(json.dumps(line, ensure_ascii=False).encode("utf-8"))
            h.update(b"\n")
    return h.hexdigest()


def _reject(rejected: list[Rejected], step: str, reason: str, ex: Example) -> None:
    rejected.append(Rejected(step, reason, ex.source, ex.row_id, ex.instruction, ex.command))


def run_pipeline(cfg: DataCfg, base_dir: Path | None = None) -> PipelineResult:
    """Run every data step for a preset's [data] section."""
    from core.data.sources import load_source

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    rows: list[Example] = []
    rejected: list[Rejected] = []
    alternatives: dict[str, list[str]] = {}
    sources_report: dict[str, dict[str, int]] = {}
    augment_sources: set[str] = set()
    for src in cfg.sources:
        res = load_source(src, base_dir)
        if src.augment:
            augment_sources.add(res.name)
        sources_report[res.name] = {
            "loaded": len(res.examples) + len(res.rejected),
            "load_rejected": len(res.rejected),
        }
        rows += res.examples
        rejected += res.rejected
        alternatives.update(res.alternatives)
    steps: dict[str, int] = {"load": len(rejected)}
    timings["load"] = time.perf_counter() - t0

    rows = _step(rows, rejected, steps, "too_long", lambda ex: _too_long(ex, cfg))
    if cfg.clean.syntax_check:
        t = time.perf_counter()
        rows = _syntax_step(rows, rejected, steps)
        timings["syntax"] = time.perf_counter() - t
    if cfg.clean.drop_dangerous:
        from core.data.safety import dangerous_reason

        rows = _step(rows, rejected, steps, "dangerous", lambda ex: dangerous_reason(ex.command))
    if cfg.clean.dedupe:
        rows = _dedupe(rows, rejected, steps)

    t = time.perf_counter()
    splits = split_rows(rows, cfg)
    timings["split"] = time.perf_counter() - t
    if cfg.clean.decontaminate:
        splits["train"] = _decontaminate(splits, rejected, steps)

    t = time.perf_counter()
    aug_report: dict[str, Any] = {}
    if augment_sources and (cfg.augment.multiplier or cfg.augment.target_size):
        splits["train"], aug_report = _augment(splits, augment_sources, cfg)
    timings["augment"] = time.perf_counter() - t

    shellcheck: dict[str, list[str]] = {}
    if cfg.clean.shellcheck:
        from core.data.syntax import shellcheck_findings

        everything = [ex for name in SPLITS for ex in splits[name] if ex.origin is None]
        found = shellcheck_findings([ex.command for ex in everything])
        shellcheck = {everything[i].row_id: f for i, f in found.items() if f}

    kept = sum(len(v) for v in splits.values())
    if not splits["train"]:
        top = Counter(r.reason for r in rejected).most_common(3)
        detail = "; ".join(f"{n}× {reason}" for reason, n in top) or "no rows loaded"
        raise DataError(
            f"the training set is empty after cleaning ({kept} rows kept, {len(rejected)} rejected: {detail})",
            hint="check the sources and [data.clean] settings; rejected rows are listed with their reasons",
        )
    for name in SPLITS:
        random.Random(f"{cfg.seed}:{name}").shuffle(splits[name])
    digest = data_hash(splits)
    timings["total"] = time.perf_counter() - t0
    report = {
        "sources": _per_source(sources_report, splits, rejected),
        "steps_removed": steps,
        "splits": {name: len(splits[name]) for name in SPLITS},
        "categories": dict(Counter(ex.category or "uncategorized" for ex in splits["train"]).most_common()),
        "augmentation": aug_report,
        "shellcheck_flagged": len(shellcheck),
        "shellcheck": shellcheck,
        "rejected_total": len(rejected),
        "data_hash": digest,
        "seconds": {k: round(v, 3) for k, v in timings.items()},
    }
    return PipelineResult(splits, rejected, report, digest, alternatives)


def _step(
    rows: list[Example], rejected: list[Rejected], steps: dict[str, int], name: str, check
) -> list[Example]:
    kept = []
    before = len(rejected)
    for ex in rows:
        reason = check(ex)
        if reason:
            _reject(rejected, name, reason, ex)
        else:
            kept.append(ex)
    steps[name] = len(rejected) - before
    return kept


def _too_long(ex: Example, cfg: DataCfg) -> str | None:
    if len(ex.instruction) > cfg.clean.max_instruction_chars:
        return f"instruction is {len(ex.instruction)} chars (limit data.clean.max_instruction_chars = {cfg.clean.max_instruction_chars})"
    if len(ex.command) > cfg.clean.max_command_chars:
        return f"command is {len(ex.command)} chars (limit data.clean.max_command_chars = {cfg.clean.max_command_chars})"
    return None


def _syntax_step(rows: list[Example], rejected: list[Rejected], steps: dict[str, int]) -> list[Example]:
    from core.data.syntax import bash_syntax_error

    return _step(rows, rejected, steps, "syntax", lambda ex: bash_syntax_error(ex.command))


def _dedupe(rows: list[Example], rejected: list[Rejected], steps: dict[str, int]) -> list[Example]:
    # Held-out rows go first so that a training row repeating a test row is the one dropped.
    order = {"test": 0, "val": 1}
    rows = sorted(rows, key=lambda ex: order.get(ex.split or "", 2))
    exact: dict[tuple[str, str], str] = {}
    normal: dict[tuple[str, str], str] = {}
    kept = []
    n_exact = n_norm = 0
    for ex in rows:
        raw = (ex.instruction, ex.command)
        if raw in exact:
            _reject(rejected, "duplicate_exact", f"same instruction and command as {exact[raw]}", ex)
            n_exact += 1
            continue
        exact[raw] = ex.row_id
        key = row_key(ex)
        if key in normal:
            _reject(rejected, "duplicate_normalized", f"same as {normal[key]} after normalizing", ex)
            n_norm += 1
            continue
        normal[key] = ex.row_id
        kept.append(ex)
    steps["duplicate_exact"] = n_exact
    steps["duplicate_normalized"] = n_norm
    return kept


def split_rows(rows: list[Example], cfg: DataCfg) -> dict[str, list[Example]]:
    """Rows with their own split keep it; the rest are split by ratio, grouped.

    Rows sharing a normalized command or a normalized instruction form one group (connected
    components), and a group goes to one split: paraphrases of a command, or one request with
    several answers, never straddle train and test. Groups are ordered by a seeded hash:
    deterministic, and adding rows moves few existing ones.
    """
    from core.data.normalize import normalize_command, normalize_instruction

    splits: dict[str, list[Example]] = {name: [] for name in SPLITS}
    free: list[Example] = []  # rows without a split of their own
    for ex in rows:
        splits.get(ex.split or "", free).append(ex)
    parent = list(range(len(free)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_seen: dict[tuple[str, str], int] = {}
    for i, ex in enumerate(free):
        for key in (("c", normalize_command(ex.command)), ("i", normalize_instruction(ex.instruction))):
            j = first_seen.setdefault(key, i)
            if j != i:
                parent[find(i)] = find(j)
    groups: dict[int, list[Example]] = {}
    for i, ex in enumerate(free):
        groups.setdefault(find(i), []).append(ex)
    n = len(free)
    want = {"val": round(n * cfg.split.val), "test": round(n * cfg.split.test)}

    def order(root: int) -> bytes:
        return hashlib.sha256(f"{cfg.seed}:{normalize_command(free[root].command)}".encode()).digest()

    for root in sorted(groups, key=order):
        group = groups[root]
        target = next((s for s in ("val", "test") if want[s] > 0), "train")
        if target != "train":
            want[target] -= len(group)
        splits[target].extend(group)
    return splits


def _decontaminate(
    splits: dict[str, list[Example]], rejected: list[Rejected], steps: dict[str, int]
) -> list[Example]:
    from core.data.normalize import normalize_command, normalize_instruction

    held_cmd: dict[str, str] = {}
    held_ins: dict[str, str] = {}
    for name in ("val", "test"):
        for ex in splits[name]:
            held_cmd.setdefault(normalize_command(ex.command), ex.row_id)
            held_ins.setdefault(normalize_instruction(ex.instruction), ex.row_id)
    # The execution-checked test set (`tuner eval --exec`) is held out of every training set too.
    from core.exec_eval.exec_set import load_exec_set

    for row in load_exec_set():
        for command in (row.reference, *row.alternatives):
            held_cmd.setdefault(normalize_command(command), f"exec-set/{row.id}")
        held_ins.setdefault(normalize_instruction(row.instruction), f"exec-set/{row.id}")
    kept = []
    before = len(rejected)
    for ex in splits["train"]:
        cmd, ins = normalize_command(ex.command), normalize_instruction(ex.instruction)
        if cmd in held_cmd:
            _reject(rejected, "decontaminate", f"command matches held-out row {held_cmd[cmd]}", ex)
        elif ins in held_ins:
            _reject(rejected, "decontaminate", f"instruction matches held-out row {held_ins[ins]}", ex)
        else:
            kept.append(ex)
    steps["decontaminate"] = len(rejected) - before
    return kept


def _augment(
    splits: dict[str, list[Example]], sources: set[str], cfg: DataCfg
) -> tuple[list[Example], dict[str, Any]]:
    from core.data.augment import augment
    from core.data.normalize import normalize_command, normalize_instruction

    train = splits["train"]
    originals = [ex for ex in train if ex.source in sources]
    existing = {row_key(ex) for name in SPLITS for ex in splits[name]}
    held_cmd = {normalize_command(ex.command) for name in ("val", "test") for ex in splits[name]}
    held_ins = {normalize_instruction(ex.instruction) for name in ("val", "test") for ex in splits[name]}
    new, stats = augment(
        originals,
        multiplier=cfg.augment.multiplier,
        target_size=cfg.augment.target_size,
        seed=cfg.augment.seed,
        max_per_row=cfg.augment.max_per_row,
        existing_keys=existing,
        key_fn=row_key,
    )
    clean = [
        ex
        for ex in new
        if normalize_command(ex.command) not in held_cmd
        and normalize_instruction(ex.instruction) not in held_ins
    ]
    report = {
        "sources": sorted(sources),
        "originals": len(originals),
        "added": len(clean),
        "dropped_matching_held_out": len(new) - len(clean),
        "stats": stats.to_json(),
    }
    return train + clean, report


def _per_source(
    loaded: dict[str, dict[str, int]], splits: dict[str, list[Example]], rejected: list[Rejected]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    rej = Counter(r.source for r in rejected)
    for name, info in loaded.items():
        out[name] = {"loaded": info["loaded"], "rejected": rej.get(name, 0)}
    for split in SPLITS:
        for ex in splits[split]:
            entry = out.setdefault(ex.source, {"loaded": 0, "rejected": 0})
            key = "augmented" if ex.origin else split
            entry[key] = entry.get(key, 0) + 1
    return out
