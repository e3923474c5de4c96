"""One-command GPU check: what tuner does on a CUDA machine, as one JSON and one Markdown report.

Nobody has run tuner on a GPU yet; this is for the first minutes a GPU (H100/H200) is lent, and
must finish in under 8 minutes on one GPU without the Hugging Face Hub: models are
random-initialized at real shapes from configs, the tokenizer is the embedded SmolLM2 one.

Sections (each catches its own failure; the report is rewritten after every section, so a run
cut short still leaves what it measured; they run most-valuable first):
  env     versions, CUDA, GPUs, compute capability, memory, driver, bf16
  qlora   QLoRA at Qwen2.5-7B shapes: peak memory beside core.estimate's, tokens/s and MFU at two batch sizes
  syncs   host syncs per training step (torch.cuda.set_sync_debug_mode), in-process
  smoke   every shipped preset's smoke shrink on the device, then `--resume latest` 2 steps further
  ddp     2-GPU DDP through torchrun (in --cpu mode: 2 CPU processes over gloo)

--cpu runs the same sections on the CPU with tiny shapes (hidden 64, 2 layers) in a couple of
minutes; tests/bench/test_gpu_check.py runs it so this script cannot rot between GPU loans.

Usage: .venv/bin/python bench/gpu_check.py [--cpu] [--sections env,qlora] [--presets quickstart,pythia] [--out DIR]
       (models and runs go to a temp folder, removed at the end: set TMPDIR for the 15 GB 7B model)
       make gpu-check                 (`make gpu-check ARGS=--cpu` without a GPU)
Writes OUT/report.json and OUT/report.md (default bench/out/gpu-check-<time>/), subprocess logs in
OUT/logs/; prints the Markdown. Exit code 0 when every section that ran passed (skips are fine), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]  # core and the helper module, however this file is started

from gpu_check_ctx import Ctx, tuner, write_smoke_preset  # noqa: E402 - after the sys.path line
from gpu_check_lib import (  # noqa: E402 - after the sys.path line
    environment,
    free_port,
    guarded,
    one_line,
    render_markdown,
    run_cmd,
    run_summary,
)
from gpu_check_train import sec_qlora, sec_syncs  # noqa: E402 - after the sys.path line

SECTION_ORDER = ("env", "qlora", "syncs", "smoke", "ddp")


# ---------------------------------------------------------------------------------------------
# 1. Environment
# ---------------------------------------------------------------------------------------------


def sec_env(ctx: Ctx) -> dict[str, Any]:
    """Environment; fails when a GPU check finds no GPU (the other sections would only fail later)."""
    env = environment()
    if not env["versions"].get("torch"):
        raise RuntimeError("torch is not installed")
    if not ctx.cpu and not env["gpus"]:
        return {
            **env,
            "status": "failed",
            "error": f"no CUDA GPU visible to torch {env['versions']['torch']} "
            f"(CUDA build: {env['cuda']}); use --cpu on a machine without one",
        }
    g = env["gpus"][0] if env["gpus"] else None
    summary = (
        f"{env['gpu_count']} × {g['name']}, cc {g['capability']}, {g['total_memory_gib']} GiB, bf16 {g['bf16']}, "
        f"driver {env['driver']}, CUDA {env['cuda']}"
        if g
        else f"CPU only: {env['cpu']}, {env['cpu_count']} cores"
    )
    return {**env, "summary": f"{summary}; torch {env['versions']['torch']}"}


# ---------------------------------------------------------------------------------------------
# 2. Smoke runs of every shipped preset
# ---------------------------------------------------------------------------------------------


def smoke_one(ctx: Ctx, name: str) -> dict[str, Any]:
    """One preset: its smoke run on the device, then `--resume latest` 2 steps further; or why it cannot run here."""
    path = write_smoke_preset(ctx, name)
    env = ctx.env(TUNER_RUNS_DIR=str(ctx.work / "smoke-runs" / name))  # its own folder: "latest" is this run
    limit = ["--max-steps", str(ctx.smoke_steps)] if ctx.smoke_steps else []  # a run ends with a checkpoint
    first = tuner(ctx, f"smoke-{name}", [str(path), *limit], env)
    res: dict[str, Any] = {
        "command": " ".join(["tuner run", path.name, *limit]),
        "seconds_run": first.seconds,
    }
    if first.rc == 2 and first.run_dir is None:  # a one-line refusal before a run directory exists
        return {**res, "status": "skipped", "reason": first.error}
    if first.run_dir is None:
        return {**res, "status": "failed", "error": first.error or f"exit code {first.rc}, no run directory"}
    run = run_summary(first.run_dir)
    run.pop("_steps")
    res["run"] = run
    if first.rc != 0 or run["status"] != "finished":
        return {**res, "status": "failed", "error": first.error or run["error"] or f"ended {run['status']}"}
    if not run["step_events"] or not run["loss_finite"]:
        return {
            **res,
            "status": "failed",
            "error": f"{run['step_events']} step events, final loss {run['final_loss']}",
        }
    target = run["step"] + 2
    second = tuner(ctx, f"smoke-{name}-resume", ["--resume", "latest", "--max-steps", str(target)], env)
    after = run_summary(second.run_dir or first.run_dir, since_last_start=True)
    after.pop("_steps")
    ckpt = int(after["resumed_from"].rsplit("-", 1)[-1]) if after["resumed_from"] else None
    continued = (
        ckpt is not None
        and after["first_step"] == ckpt + 1
        and after["status"] == "finished"
        and after["step"] == target
    )
    res["resume"] = {
        "command": f"tuner run --resume latest --max-steps {target}",
        "from_step": ckpt,
        "first_step": after["first_step"],
        "step": after["step"],
        "status": after["status"],
        "final_loss": after["final_loss"],
        "continued": continued,
        "seconds": second.seconds,
    }
    if second.rc != 0 or not continued:
        return {
            **res,
            "status": "failed",
            "error": second.error
            or after["error"]
            or f"resume did not continue from the checkpoint (from {ckpt}, first step {after['first_step']}, "
            f"ended at {after['step']} of {target})",
        }
    return res


def sec_smoke(ctx: Ctx) -> dict[str, Any]:
    """Every shipped preset's smoke run on the device plus a resume; presets this device cannot run are skipped."""
    from core.config.loader import list_presets

    names = ctx.presets or [pf.name for pf in list_presets() if pf.shipped]
    items = {}
    for name in names:
        items[name] = (
            guarded(smoke_one, ctx, name)
            if ctx.left() > 30
            else {"status": "skipped", "reason": "time budget (--budget-s) spent"}
        )
    failed = {n: r for n, r in items.items() if r["status"] == "failed"}
    counts = Counter(r["status"] for r in items.values())
    out: dict[str, Any] = {"presets": items, "summary": ", ".join(f"{n} {s}" for s, n in counts.items())}
    if failed:
        out.update(status="failed", error="; ".join(f"{n}: {r.get('error')}" for n, r in failed.items()))
    return out


# ---------------------------------------------------------------------------------------------
# 5. DDP over two processes
# ---------------------------------------------------------------------------------------------


def sec_ddp(ctx: Ctx) -> dict[str, Any]:
    """quickstart's smoke run under torchrun on 2 GPUs (2 CPU processes over gloo in --cpu mode)."""
    import torch

    from core.events import read_events

    if not ctx.cpu and torch.cuda.device_count() < 2:
        return {"status": "skipped", "reason": f"{torch.cuda.device_count()} GPU visible; DDP needs 2"}
    path = write_smoke_preset(ctx, "quickstart")
    ranks_dir, runs = ctx.work / "ddp-ranks", ctx.work / "ddp-runs"
    ranks_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(port),
        str(ROOT / "bench" / "gpu_check_rank.py"),
        str(ranks_dir),
        "run",
        str(path),
        *(["--max-steps", str(ctx.smoke_steps)] if ctx.smoke_steps else []),
    ]
    env = ctx.env(TUNER_RUNS_DIR=str(runs), OMP_NUM_THREADS="1")
    t = time.perf_counter()
    # a rank stuck in a collective hangs, not fails
    rc, out, err = run_cmd(cmd, env, min(600, ctx.left() + 60))
    ctx.logs.mkdir(parents=True, exist_ok=True)
    (ctx.logs / "ddp.log").write_text(f"$ {' '.join(cmd)}\n--- stdout\n{out}\n--- stderr\n{err}")
    ranks = [json.loads(f.read_text()) for f in sorted(ranks_dir.glob("rank*.json"))]
    dirs = sorted(d for d in runs.iterdir() if d.is_dir()) if runs.is_dir() else []
    res: dict[str, Any] = {
        "command": "torchrun --nproc_per_node 2 --master_port PORT bench/gpu_check_rank.py … run "
        f"{path.name}",
        "exit_code": rc,
        "seconds_run": round(time.perf_counter() - t, 1),
        "ranks": ranks,
        "run_dirs": [d.name for d in dirs],
    }
    run = run_summary(dirs[0]) if len(dirs) == 1 else None
    if run:
        run.pop("_steps")
        res["run"] = run
        res["step_events"] = [e["step"] for e in read_events(dirs[0] / "events.jsonl") if e["type"] == "step"]
    steps = {r["rank"]: r["step"] for r in ranks}
    same = len(steps) == 2 and len(set(steps.values())) == 1 and None not in steps.values()
    res.update(same_step=same, backend=ranks[0]["backend"] if ranks else None)
    problems = []
    if rc != 0:
        tail = [ln for ln in err.splitlines() if ln.strip()]
        problems.append(f"exit code {rc}: {tail[-1].strip() if tail else ''}")
    if len(dirs) != 1:
        problems.append(f"{len(dirs)} run directories (expected 1)")
    if not same:
        problems.append(f"ranks stopped at {steps}")
    if run and (run["status"] != "finished" or run["world_size"] != 2):
        problems.append(f"run {run['status']}, world size {run['world_size']}")
    if problems:
        return {**res, "status": "failed", "error": "; ".join(problems)}
    res["summary"] = (
        f"2 ranks on {run['device']} over {res['backend']}, both stopped at step {steps[0]}, "
        f"one run directory, final loss {run['final_loss']:.4g}"
    )
    return res


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

SECTIONS: dict[str, Callable[[Ctx], dict[str, Any]]] = {
    "env": sec_env,
    "qlora": sec_qlora,
    "syncs": sec_syncs,
    "smoke": sec_smoke,
    "ddp": sec_ddp,
}


def write_reports(out: Path, report: dict[str, Any]) -> str:
    """report.json and report.md in OUT (rewritten after every section); returns the Markdown."""
    md = render_markdown(report)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str))
    (out / "report.md").write_text(md)
    return md


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--cpu", action="store_true", help="run on the CPU with tiny shapes (what the test suite does)"
    )
    ap.add_argument(
        "--sections",
        default=",".join(SECTION_ORDER),
        help=f"comma-separated subset of {', '.join(SECTION_ORDER)}",
    )
    ap.add_argument("--presets", help="smoke only these presets (default: every shipped preset)")
    ap.add_argument("--out", help="report folder (default bench/out/gpu-check-<time>/)")
    ap.add_argument(
        "--qlora-steps",
        default=None,
        help="steps of the two QLoRA runs, e.g. 30,20 (--cpu: 4,2); a second 0 skips the larger batch",
    )
    ap.add_argument("--budget-s", type=float, help="start no section or smoke run after this many seconds")
    ap.add_argument(
        "--keep-work", action="store_true", help="keep the temp folder (models, runs) for inspection"
    )
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the selected sections, write the reports, print the Markdown; 1 if a section failed."""
    args = parse_args(argv)
    if args.cpu:  # before torch is imported: --cpu on a GPU machine stays on the CPU
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    chosen = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        print(f"unknown section(s) {unknown}; choose from {', '.join(SECTION_ORDER)}", file=sys.stderr)
        return 2
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else ROOT / "bench" / "out" / f"gpu-check-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    steps = tuple(int(s) for s in (args.qlora_steps or ("4,2" if args.cpu else "30,20")).split(","))
    ctx = Ctx(
        cpu=args.cpu,
        out=out,
        work=work,
        presets=args.presets.split(",") if args.presets else None,
        qlora_steps=(steps[0], steps[-1]),
        large_budget=(512, 8) if args.cpu else (8192, 64),
        smoke_steps=4 if args.cpu else None,  # --cpu: 2 cores, each step and evaluation counts
        deadline=time.monotonic() + args.budget_s if args.budget_s else math.inf,
    )
    # The in-process section (syncs) reads these too; subprocesses get them through ctx.env().
    for key, value in ctx.env().items():
        if key.startswith(("TUNER_", "HF_", "TOKENIZERS_")):
            os.environ[key] = value
    started = time.perf_counter()
    report: dict[str, Any] = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "mode": "cpu" if args.cpu else "gpu",
        "command": "bench/gpu_check.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "sections": {},
    }
    try:
        report["conditions"] = environment()
    except Exception as e:
        report["conditions"] = {"error": one_line(e)}
    for name in SECTION_ORDER:
        if name in chosen:
            print(f"[gpu-check] {name} …", file=sys.stderr, flush=True)
            sec = (
                guarded(SECTIONS[name], ctx)
                if ctx.left() > 30
                else {
                    "status": "skipped",
                    "reason": f"time budget (--budget-s {args.budget_s}) spent",
                    "seconds": 0,
                }
            )
            report["sections"][name] = sec
            print(
                f"[gpu-check] {name}: {sec['status']} in {sec['seconds']} s"
                + (f" — {sec.get('error')}" if sec["status"] == "failed" else ""),
                file=sys.stderr,
                flush=True,
            )
            report["seconds"] = round(time.perf_counter() - started, 1)
            write_reports(out, report)
    report["seconds"] = round(time.perf_counter() - started, 1)
    md = write_reports(out, report)
    if not args.keep_work:
        shutil.rmtree(work, ignore_errors=True)
    print(md)
    print(f"reports: {out / 'report.json'}, {out / 'report.md'} ({report['seconds']:.0f} s)")
    return 1 if any(s["status"] == "failed" for s in report["sections"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
