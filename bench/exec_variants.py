"""What makes the quickstart a better bash model, measured by execution: train variants, predict, score.

Two phases, so the training can run where there is a GPU and no sandbox, and the scoring where
bubblewrap works:

  predict  train each variant of the quickstart recipe (same steps and data, one change each) and the
           base model's prompts, then write greedy predictions on the execution-checked set — no
           command is run in this phase
  score    `tuner eval --score PREDS --exec` for every predictions file in the folder, then one
           Markdown table (execution accuracy overall, per category, answer-as-written, exact match)

Usage:
  .venv/bin/python bench/exec_variants.py predict OUT [--variants shipped,lr2e-3] [--max-steps N] [--limit N]
  .venv/bin/python bench/exec_variants.py score OUT
Each variant's wall time is kept in OUT/times.json (training + prediction, this machine).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SYSTEM = "You are a bash assistant. Reply with one bash command and nothing else."
# name → (preset, --set overrides); each changes one thing from the shipped quickstart
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "shipped": ("quickstart", []),
    # the bundled file before its 324 workspace-relative rows were appended (its first 543 lines)
    "data-543": ("@first543", []),
    "lr2e-3": ("quickstart", ["train.lr=2e-3"]),
    "lr5e-4": ("quickstart", ["train.lr=5e-4"]),
    "r32": ("quickstart", ["lora.r=32", "lora.alpha=64"]),
    "system-prompt": ("quickstart", [f"data.system_prompt={SYSTEM}"]),
    "nl2bash": ("nl2bash", []),
}
# predictions of the base model, through a trained variant's run (its preset, prompt and train split)
BASE_EVALS: dict[str, tuple[str, list[str]]] = {
    "base": ("shipped", ["--base"]),
    "base-4shot": ("shipped", ["--base", "--few-shot", "4"]),
    "base-system-prompt": ("system-prompt", ["--base"]),
    "base-system-prompt-4shot": ("system-prompt", ["--base", "--few-shot", "4"]),
}


def tuner(args: list[str], log: Path, env: dict[str, str]) -> tuple[int, float]:
    """Run `python -m core.cli ARGS`, output to LOG; (exit code, seconds)."""
    t = time.perf_counter()
    with open(log, "w") as f:
        rc = subprocess.call(
            [sys.executable, "-m", "core.cli", *args], stdout=f, stderr=subprocess.STDOUT, env=env, cwd=ROOT
        )
    return rc, round(time.perf_counter() - t, 1)


# --no-train-eval: the recipe's training without its in-training evaluations (same steps and data)
NO_TRAIN_EVAL = [
    "eval.before_training=false",
    "eval.every=100000",
    "eval.sample_every=100000",
    "eval.exact_match_rows=0",
]


def _first543(out: Path) -> str:
    """A quickstart preset on the bundled file's first 543 rows (the set before the workspace rows)."""
    rows = (ROOT / "assets" / "datasets" / "bash_pairs.jsonl").read_text().splitlines()[:543]
    (out / "bash_pairs_543.jsonl").write_text("\n".join(rows) + "\n")
    text = (ROOT / "presets" / "quickstart.toml").read_text()
    text = text.replace('name = "quickstart"', 'name = "quickstart-543"')
    text = text.replace('kind = "bundled"', f'kind = "file"\npath = "{out / "bash_pairs_543.jsonl"}"')
    path = out / "quickstart-543.toml"
    path.write_text(text)
    return str(path)


def predict(
    out: Path, names: list[str], max_steps: int | None, limit: int | None, no_train_eval: bool = False
) -> int:
    """Train the variants and write predictions; returns 1 if anything failed."""
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    times_path = out / "times.json"
    times = json.loads(times_path.read_text()) if times_path.is_file() else {}
    data = str(ROOT / "assets" / "exec" / "bash_exec.jsonl")
    failed = 0
    for name in names:
        preset, sets = VARIANTS[name]
        if preset == "@first543":
            preset = _first543(out)
        runs = out / "runs" / name
        sets = sets + (NO_TRAIN_EVAL if no_train_eval else [])
        args = ["run", preset, "--runs-dir", str(runs), *[a for s in sets for a in ("--set", s)]]
        if max_steps:
            args += ["--max-steps", str(max_steps)]
        rc, secs = tuner(args, out / f"train-{name}.log", env)
        made = sorted(p for p in runs.iterdir() if p.is_dir()) if runs.is_dir() else []
        if rc != 0 or not made:
            print(f"{name}: training failed (exit {rc}); see {out / f'train-{name}.log'}", flush=True)
            failed = 1
            continue
        run = made[-1]
        ev = ["eval", str(run), "--data", data, "--out", str(out / f"preds-{name}.jsonl")]
        rc2, secs2 = tuner(ev + (["--limit", str(limit)] if limit else []), out / f"eval-{name}.log", env)
        times[name] = {"train_s": secs, "predict_s": secs2, "run": run.name, "eval_rc": rc2}
        times_path.write_text(json.dumps(times, indent=1))
        print(f"{name}: trained in {secs} s, predicted in {secs2} s (exit {rc2})", flush=True)
        failed |= rc2 != 0
        for base_name, (variant, extra) in BASE_EVALS.items():  # right away: a cut-short run keeps them
            if variant != name:
                continue
            ev = ["eval", str(run), "--data", data, "--out", str(out / f"preds-{base_name}.jsonl"), *extra]
            rc, secs = tuner(
                ev + (["--limit", str(limit)] if limit else []), out / f"eval-{base_name}.log", env
            )
            times[base_name] = {"predict_s": secs, "run": run.name, "eval_rc": rc}
            times_path.write_text(json.dumps(times, indent=1))
            print(f"{base_name}: predicted in {secs} s (exit {rc})", flush=True)
            failed |= rc != 0
    return failed


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def score(out: Path) -> int:
    """Score every preds-*.jsonl in OUT with the sandbox and print one Markdown table."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    times = json.loads((out / "times.json").read_text()) if (out / "times.json").is_file() else {}
    rows = []
    for preds in sorted(out.glob("preds-*.jsonl")):
        if preds.name.endswith(".scored.jsonl"):
            continue
        name = preds.stem.removeprefix("preds-")
        rc, secs = tuner(["eval", "--score", str(preds), "--exec"], out / f"score-{name}.log", env)
        summary_file = preds.with_name(preds.stem + ".scored.summary.json")
        if rc != 0 or not summary_file.is_file():
            print(f"{name}: scoring failed (exit {rc})", flush=True)
            continue
        s = json.loads(summary_file.read_text())
        rows.append((name, s, secs))
    cats = sorted({c for _, s, _ in rows for c in (s.get("exec_by_category") or {})})
    print(
        "| variant | exec accuracy % | answer as written % | exact % | "
        + " | ".join(cats)
        + " | train s | predict s |"
    )
    print("|---|---|---|---|" + "---|" * len(cats) + "---|---|")
    for name, s, _ in rows:
        per = s.get("exec_by_category") or {}
        t = times.get(name, {})
        cells = [_pct(per[c]["accuracy"]) if c in per else "–" for c in cats]
        print(
            f"| {name} | **{_pct(s.get('exec_accuracy'))}** ({s.get('exec_right')}/{s.get('exec_rows')}) | "
            f"{_pct(s.get('exec_accuracy_raw'))} | {_pct(s.get('exact_match'))} | "
            + " | ".join(cells)
            + f" | {t.get('train_s', '–')} | {t.get('predict_s', '–')} |"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    """predict or score."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("phase", choices=["predict", "score"])
    ap.add_argument("out", type=Path)
    ap.add_argument("--variants", default="shipped,lr2e-3,lr5e-4,r32,system-prompt")
    ap.add_argument("--max-steps", type=int, help="override every variant's steps (a quick check)")
    ap.add_argument(
        "--limit", type=int, help="only the first N rows of the set (round-robin over categories)"
    )
    ap.add_argument(
        "--no-train-eval",
        action="store_true",
        help="skip the evaluations during training (faster; same training)",
    )
    args = ap.parse_args(argv)
    if args.phase == "predict":
        names = [n.strip() for n in args.variants.split(",") if n.strip()]
        unknown = [n for n in names if n not in VARIANTS]
        if unknown:
            print(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}", file=sys.stderr)
            return 2
        return predict(args.out, names, args.max_steps, args.limit, args.no_train_eval)
    return score(args.out)


if __name__ == "__main__":
    raise SystemExit(main())
