"""Rich renderings of a built dataset: report, sample rows, token lengths, augmentation examples."""

from __future__ import annotations

import random
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core.config.schema import Preset
from core.data.build import DataDir
from core.data.records import Example


def percentiles(values: list[int], points=(50, 90, 95, 99)) -> dict[str, int]:
    """Nearest-rank percentiles plus the maximum."""
    if not values:
        return {}
    s = sorted(values)
    out = {f"p{p}": s[min(len(s) - 1, max(0, -(-p * len(s) // 100) - 1))] for p in points}
    out["max"] = s[-1]
    return out


def token_lengths(preset: Preset, rows: list[Example]) -> list[int] | None:
    """Prompt + response token counts with the preset's tokenizer (None if there is no tokenizer)."""
    from core.data.formatting import encode_example, resolve_style
    from core.models.loader import load_tokenizer

    tok = load_tokenizer(preset.model)
    if tok is None:
        return None
    style = resolve_style(tok, preset.data.prompt_format)
    return [
        len(encode_example(tok, ex.instruction, ex.command, style, preset.data.system_prompt).input_ids)
        for ex in rows
    ]


def render_report(con: Console, dd: DataDir) -> None:
    """Rows per source, what each cleaning step removed, split sizes."""
    report = dd.report()
    t = Table("source", "loaded", "rejected", "train", "val", "test", "augmented", title="rows per source")
    for name, info in report["sources"].items():
        t.add_row(
            escape(name),
            *(str(info.get(k, 0)) for k in ("loaded", "rejected", "train", "val", "test", "augmented")),
        )
    con.print(t)
    steps = Table("step", "removed", title="cleaning (rejected rows: rejected.jsonl)")
    for step, n in report["steps_removed"].items():
        steps.add_row(step, str(n))
    if report.get("augmentation"):
        steps.add_row("augmentation added", f"+{report['augmentation'].get('added', 0)}")
    if report.get("shellcheck_flagged"):
        steps.add_row("shellcheck flagged (kept)", str(report["shellcheck_flagged"]))
    con.print(steps)
    splits = report["splits"]
    con.print("splits: " + ", ".join(f"{k} {v}" for k, v in splits.items()))


def augmentation_pairs(dd: DataDir, train: list[Example], n: int, seed: int) -> list[tuple[Example, Example]]:
    """(original, augmented) pairs from the built train split."""
    augmented = [ex for ex in train if ex.origin]
    if not augmented:
        return []
    by_id = {ex.row_id: ex for ex in train if not ex.origin}
    rng = random.Random(seed)
    picks = rng.sample(augmented, min(n * 3, len(augmented)))
    return [(by_id[a.origin], a) for a in picks if a.origin in by_id][:n]


def render_preview(con: Console, preset: Preset, dd: DataDir, *, rows: int = 8, seed: int = 0) -> None:
    """Everything `tuner data preview` shows."""
    train = dd.split("train")
    render_report(con, dd)
    rng = random.Random(seed)
    sample = rng.sample(train, min(rows, len(train)))
    t = Table(
        "source",
        "category",
        "instruction",
        "command",
        title=f"sample of train ({len(train)} rows)",
        show_lines=True,
    )
    for ex in sample:
        t.add_row(escape(ex.source), escape(ex.category), escape(ex.instruction), escape(ex.command))
    con.print(t)
    cats = dd.report().get("categories", {})
    if cats:
        ct = Table("category", "train rows", title="categories")
        for name, n in list(cats.items())[:20]:
            ct.add_row(escape(name), str(n))
        con.print(ct)
    lengths = token_lengths(preset, train)
    if lengths is None:
        con.print("token lengths: no tokenizer yet (a from-scratch preset trains one at run time)")
    else:
        pct = percentiles(lengths)
        over = sum(1 for n in lengths if n > preset.train.max_seq_len)
        con.print(
            "tokens per example (prompt + response): "
            + ", ".join(f"{k} {v}" for k, v in pct.items())
            + f"; over max_seq_len {preset.train.max_seq_len}: {over} (dropped at training time)"
        )
    pairs = augmentation_pairs(dd, train, 4, seed)
    if pairs:
        at = Table("original", "augmented", "substitutions", title="augmentation examples", show_lines=True)
        for orig, aug in pairs:
            subs = ", ".join(f"{k}: {o} → {n}" for k, o, n in aug.substitutions)
            at.add_row(
                escape(f"{orig.instruction}\n$ {orig.command}"),
                escape(f"{aug.instruction}\n$ {aug.command}"),
                escape(subs),
            )
        con.print(at)


def summary(dd: DataDir) -> dict[str, Any]:
    """A small dict for clients (the TUI's data pane)."""
    report = dd.report()
    return {
        "path": str(dd.path),
        "hash": dd.data_hash,
        "splits": report["splits"],
        "steps": report["steps_removed"],
    }
