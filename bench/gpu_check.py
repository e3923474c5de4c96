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
import gc
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]  # core and the helper module, however this file is started

from gpu_check_lib import (  # noqa: E402
    GiB,
    Proc,
    call_site,
    environment,
    flops_per_token,
    free_port,
    guarded,
    one_line,
    peak_tflops,
    render_markdown,
    run_cmd,
    run_summary,
    run_tuner,
    throughput,
)

SECTION_ORDER = ("env", "qlora", "syncs", "smoke", "ddp")

# Qwen2.5-7B (and Qwen2.5-Coder-7B-Instruct, the qwen-qlora preset's model): config.json on the Hub.
QWEN25_7B = dict(
    hidden_size=3584,
    intermediate_size=18944,
    num_hidden_layers=28,
    num_attention_heads=28,
    num_key_value_heads=4,
    vocab_size=152064,
    max_position_embeddings=32768,
    rope_theta=1e6,
    rms_norm_eps=1e-6,
    tie_word_embeddings=False,
)
# --cpu: same family and vocabulary, tiny body (bitsandbytes' CPU 4-bit kernels want multiples of 64).
TINY_QWEN = {
    **QWEN25_7B,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "max_position_embeddings": 512,
}
# Settings that keep a measured run to its training steps: no evaluation, samples or checkpoints.
QUIET = [
    "eval.before_training=false",
    "eval.every=100000",
    "eval.sample_every=100000",
    "eval.exact_match_rows=0",
    "train.save_every=100000",
    "log.every=1",
]


@dataclass
class Ctx:
    """What every section needs: mode, folders, options."""

    cpu: bool
    out: Path
    work: Path
    presets: list[str] | None
    qlora_steps: tuple[int, int]
    large_budget: tuple[int, int]  # (max_tokens_per_batch, micro_batch_size) of the second QLoRA run
    smoke_steps: int | None = None  # --max-steps of the first smoke run (None: the smoke's own 10)
    deadline: float = math.inf  # time.monotonic() after which no section or smoke run starts (--budget-s)

    def left(self) -> float:
        """Seconds of the time budget left (inf without one)."""
        return self.deadline - time.monotonic()

    @property
    def device(self) -> str:
        """cuda, or cpu in --cpu mode."""
        return "cpu" if self.cpu else "cuda"

    @property
    def logs(self) -> Path:
        """Where subprocess output goes."""
        return self.out / "logs"

    def env(self, **extra: str) -> dict[str, str]:
        """Environment of a tuner subprocess: temp run/data folders, offline, no W&B."""
        env = dict(
            os.environ,
            PYTHONPATH=str(ROOT),
            TUNER_DATA_DIR=str(self.work / "data"),
            TUNER_RUNS_DIR=str(self.work / "runs"),
            HF_HUB_OFFLINE="1",
            HF_DATASETS_OFFLINE="1",
            TOKENIZERS_PARALLELISM="false",
        )
        env.pop("WANDB_API_KEY", None)
        if self.cpu:
            env["CUDA_VISIBLE_DEVICES"] = ""
        env.update(extra)
        return env


def tuner(
    ctx: Ctx, label: str, args: list[str], env: dict[str, str] | None = None, timeout: int = 900
) -> Proc:
    """`tuner run ARGS` in a subprocess (log in logs/LABEL.log), cut off where the time budget ends."""
    return run_tuner(args, env or ctx.env(), ctx.logs / f"{label}.log", int(min(timeout, ctx.left() + 60)))


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


def target_device(ctx: Ctx, own: str) -> str:
    """The device a preset's smoke run asks for here: its own (xla/mps are refused off their machines); CPU in --cpu mode."""
    if ctx.cpu and own in ("cuda", "auto"):
        return "cpu"
    return own


def write_smoke_preset(ctx: Ctx, name: str) -> Path:
    """The preset's smoke shrink (core.train.smoke) as a TOML file, with the preset's own device kept.

    `tuner run PRESET --smoke` falls back to the CPU when the preset's device is absent; this file
    keeps the preset's device, so an absent one is refused and recorded as skipped, with its reason.
    """
    from core.config.loader import dump_preset, load_preset
    from core.train.smoke import smoke_preset

    preset, _ = load_preset(name)
    smoke = smoke_preset(preset, "cpu")
    smoke.model.device = target_device(ctx, preset.model.device)
    path = ctx.work / "presets" / f"{smoke.name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_preset(smoke))
    return path


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
# 3. QLoRA at Qwen2.5-7B shapes
# ---------------------------------------------------------------------------------------------


def build_qwen(ctx: Ctx, folder: Path) -> dict[str, Any]:
    """A random-initialized Qwen2 at the section's shapes, saved in bf16 with the embedded tokenizer.

    The tokenizer has 49,152 tokens and the model 152,064 rows, like Qwen2.5-7B: the extra rows are
    never looked up, and the logits (the memory that scales with the vocabulary) have the real width.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from core.models.embedded import converted_dir

    tok = AutoTokenizer.from_pretrained(converted_dir())
    shape = TINY_QWEN if ctx.cpu else QWEN25_7B
    cfg = AutoConfig.for_model(
        "qwen2",
        **shape,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    # Initialized on the GPU when it has room: seconds instead of minutes, and the host never holds
    # more than the bf16 tensors being written (no 30 GB fp32 model in RAM).
    room = not ctx.cpu and torch.cuda.get_device_properties(0).total_memory > 24 * GiB
    where = "cuda" if room else "cpu"
    t = time.perf_counter()
    torch.manual_seed(0)
    with torch.device(where):
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
    params = sum(p.numel() for p in model.parameters())
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    del model
    gc.collect()
    if where == "cuda":
        torch.cuda.empty_cache()
    return {
        "params": params,
        "built_on": where,
        "seconds": round(time.perf_counter() - t, 1),
        "config": {
            k: shape[k]
            for k in (
                "hidden_size",
                "intermediate_size",
                "num_hidden_layers",
                "num_attention_heads",
                "num_key_value_heads",
                "vocab_size",
            )
        },
    }


def qlora_run(
    ctx: Ctx, label: str, path: Path, steps: int, overrides: list[str], embedding: int
) -> dict[str, Any]:
    """One measured `tuner run`: status, peak memory beside the estimator's figure, tokens/s, MFU."""
    from core.config.loader import load_preset
    from core.estimate import estimate_or_reason

    sets = [*QUIET, *(["model.device=cpu"] if ctx.cpu else []), *overrides]
    args = [str(path), "--max-steps", str(steps)] + [a for s in sets for a in ("--set", s)]
    proc = tuner(ctx, f"qlora-{label}", args, timeout=600)
    res: dict[str, Any] = {
        "overrides": overrides,
        "command": f"tuner run {path.name} --max-steps {steps} " + " ".join(f"--set {s}" for s in sets),
        "seconds": proc.seconds,
    }
    est = estimate_or_reason(load_preset(path, sets)[0], ctx.device)
    if isinstance(est, str):
        res["estimate_error"] = est
    else:
        res.update(
            estimate_bytes=est.total,
            estimate_shape=f"{est.rows} × {est.seq} tokens",
            estimate_components={c.name: c.bytes for c in est.components},
        )
    if proc.run_dir is None:
        return {**res, "status": "failed", "error": proc.error or f"exit code {proc.rc}"}
    run = run_summary(proc.run_dir)
    steps_ev = run.pop("_steps")
    res.update(
        step=run["step"],
        final_loss=run["final_loss"],
        device=run["device"],
        adapter=run["adapter"],
        trainable_params=run["trainable_params"],
        total_params=run["total_params"],
    )
    mem = [e.get("memory") or {} for e in steps_ev]
    res["host_peak_rss_bytes"] = proc.maxrss  # the whole run's, model loading included
    if ctx.cpu:  # no accelerator: host memory is the training memory (not GPU memory)
        res["measured_peak_bytes"] = proc.maxrss
    else:
        res["measured_peak_bytes"] = max((m.get("accel_peak_bytes") or 0 for m in mem), default=None)
        res["measured_reserved_bytes"] = max((m.get("accel_reserved_bytes") or 0 for m in mem), default=None)
    if res.get("measured_peak_bytes") and res.get("estimate_bytes"):
        res["measured_over_estimate"] = round(res["measured_peak_bytes"] / res["estimate_bytes"], 3)
    tp = throughput(steps_ev, run["grad_accum"] or 1)
    res.update(tp)
    if tp["tokens_per_s"] and run["total_params"]:
        fpt = flops_per_token(
            run["total_params"], run["trainable_params"] or 0, embedding, run["adapter"] or "qlora"
        )
        res["flops_per_token"] = fpt
        res["achieved_tflops"] = fpt * tp["tokens_per_s"] / 1e12
        peak = None if ctx.cpu else peak_tflops(_gpu_name())
        res["mfu"] = res["achieved_tflops"] / peak if peak else None
    if proc.rc != 0 or run["status"] != "finished" or not run["loss_finite"]:
        return {
            **res,
            "status": "failed",
            "error": proc.error or run["error"] or f"ended {run['status']}, final loss {run['final_loss']}",
        }
    return res


def _gpu_name() -> str | None:
    """torch's name for GPU 0 (None without one)."""
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def sec_qlora(ctx: Ctx) -> dict[str, Any]:
    """qwen-qlora with its model replaced by a random Qwen2.5-7B-shaped one: memory vs estimate, tokens/s, MFU."""
    from core.config.loader import dump_preset, load_preset
    from core.estimate import KNOWN, arch_from_config

    folder = ctx.work / "qwen2.5-7b-shapes"
    built = build_qwen(ctx, folder)
    arch = arch_from_config(json.loads((folder / "config.json").read_text()))
    preset, _ = load_preset("qwen-qlora", [f"model.id={folder}"])
    preset.name = "qwen-qlora-7b-shapes"
    path = ctx.work / "presets" / f"{preset.name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_preset(preset))
    tokens, micro = ctx.large_budget
    # --cpu: even the preset's own batch (up to 3072 tokens × a 152K vocabulary) takes minutes on 2 cores
    small = ["train.max_tokens_per_batch=256", "train.micro_batch_size=4"] if ctx.cpu else []
    runs = {
        "preset batching": guarded(
            qlora_run, ctx, "preset", path, ctx.qlora_steps[0], small, arch.vocab * arch.hidden
        )
    }
    if ctx.qlora_steps[1]:  # 0: only the preset's batching (the test suite's shortcut)
        runs[f"{tokens} tokens"] = guarded(
            qlora_run,
            ctx,
            "large",
            path,
            ctx.qlora_steps[1],
            [f"train.max_tokens_per_batch={tokens}", f"train.micro_batch_size={micro}"],
            arch.vocab * arch.hidden,
        )
    out: dict[str, Any] = {
        "shape_name": "tiny Qwen2 (--cpu)" if ctx.cpu else "Qwen2.5-7B",
        "model": built,
        "params_b": round(built["params"] / 1e9, 3),
        "runs": runs,
        "peak_tflops": None if ctx.cpu else peak_tflops(_gpu_name()),
        "memory_label": "host peak RSS (CPU, not GPU memory)" if ctx.cpu else "peak allocated GPU memory",
        "memory_note": (
            "--cpu: the measured figure is the tuner process's peak resident set size (ru_maxrss: host "
            "RAM, not GPU memory), compared with the estimator's figure for the CPU"
            if ctx.cpu
            else "measured: torch.cuda.max_memory_allocated in the run's process, read from its step events "
            "(the largest of them), so without the ~0.5 GiB CUDA context the estimate includes; "
            "`measured_reserved_bytes` in report.json is the caching allocator's reserve, "
            "`host_peak_rss_bytes` the process's peak host RAM (loading included)"
        ),
        "estimate_note": (
            "core.estimate counts the largest micro batch the preset can build (rows of max_seq_len "
            "tokens); the bundled rows are ~55 tokens, so the real micro batches are smaller (column "
            "'real tokens / micro batch')"
        ),
    }
    # QWEN25_7B checked against the estimator's published-shape table (in --cpu mode too, from the config alone)
    from transformers import AutoConfig

    ref = KNOWN["qwen/qwen2.5-coder-7b"]
    out["shapes"] = {
        "built": arch.describe(),
        "qwen2.5_7b_config_matches_estimator_table": arch_from_config(
            AutoConfig.for_model("qwen2", **QWEN25_7B).to_dict()
        )
        == ref,
    }
    if not ctx.cpu:
        out["shapes"]["built_matches_estimator_table"] = arch == ref
    bad = {k: r for k, r in runs.items() if r["status"] == "failed"}
    first = runs["preset batching"]
    peak, est = (first.get("measured_peak_bytes") or 0) / GiB, (first.get("estimate_bytes") or 0) / GiB
    out["summary"] = (
        f"{out['shape_name']}, {out['params_b']}B params; peak {peak:.2f} GiB vs estimate {est:.2f} GiB"
    )
    if bad:
        out.update(status="failed", error="; ".join(f"{k}: {r.get('error')}" for k, r in bad.items()))
    elif not all(out["shapes"][k] for k in out["shapes"] if k.endswith("table")):
        out.update(
            status="failed", error=f"shapes differ from the estimator's Qwen2.5-Coder-7B: {out['shapes']}"
        )
    return out


# ---------------------------------------------------------------------------------------------
# 4. Host syncs per step
# ---------------------------------------------------------------------------------------------


def sec_syncs(ctx: Ctx) -> dict[str, Any]:
    """Host syncs per training step of a tiny model on the GPU, counted with torch.cuda.set_sync_debug_mode("warn")."""
    import warnings

    import torch

    import core.train.trainer as trainer_mod
    from core.train.run import RunRequest, run_training

    steps, log_every = 10, 4
    path = write_smoke_preset(ctx, "quickstart")
    sets = [*QUIET, f"log.every={log_every}", *(["model.device=cpu"] if ctx.cpu else [])]
    current: dict[str, Any] = {"step": "setup"}
    per_step: Counter = Counter()
    sites: dict[Any, Counter] = {}
    cls = trainer_mod.TunerTrainer
    orig_step, orig_train = cls.training_step, cls.train
    own = {name: cls.__dict__[name] for name in ("training_step", "train") if name in cls.__dict__}

    def training_step(self, *a, **k):  # micro batches of optimizer step N run while global_step is N - 1
        current["step"] = self.state.global_step + 1
        return orig_step(self, *a, **k)

    def train(self, *a, **k):
        try:
            return orig_train(self, *a, **k)
        finally:
            current["step"] = "after training"

    def hook(message, category, filename, lineno, file=None, line=None):
        if "synchroniz" in str(message):
            per_step[current["step"]] += 1
            sites.setdefault(current["step"], Counter())[call_site(traceback.extract_stack()[:-1])] += 1

    counting = not ctx.cpu
    cls.training_step, cls.train = training_step, train
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = hook
            if counting:
                torch.cuda.set_sync_debug_mode("warn")
            try:
                outcome = run_training(RunRequest(str(path), sets, steps, runs_root=ctx.work / "syncs-runs"))
            finally:
                if counting:
                    torch.cuda.set_sync_debug_mode("default")
    finally:  # put back exactly what the class had (inherited methods are not left as its own attributes)
        for name in ("training_step", "train"):
            if name in own:
                setattr(cls, name, own[name])
            else:
                delattr(cls, name)
    run = run_summary(outcome.run_dir) if outcome.run_dir else {"status": "no run directory"}
    run.pop("_steps", None)
    res: dict[str, Any] = {
        "steps": steps,
        "log_every": log_every,
        "device": run.get("device"),
        "run_status": run["status"],
        "syncs_by_step": {str(k): v for k, v in per_step.items()} if counting else None,
    }
    if outcome.status != "finished":
        return {**res, "status": "failed", "error": outcome.error or f"run ended {outcome.status}"}
    if not counting:
        return {
            **res,
            "summary": f"{run['step']} steps in-process on the CPU; sync counting needs CUDA (n/a)",
        }
    if not sum(per_step.values()):  # logging reads the loss at least: zero means the hook saw nothing
        return {
            **res,
            "status": "failed",
            "error": "no sync warnings reached the warnings hook (a library "
            "silenced warnings?): the count would be meaningless",
        }
    # Steady state: step 1 pays one-off work, the last one the end-of-run evaluation and save;
    # logging steps (every log_every) read the loss on purpose.
    middle = range(2, steps)
    plain = [per_step[s] for s in middle if s % log_every]
    logged = [per_step[s] for s in middle if s % log_every == 0]
    steady = Counter()
    for s in middle:
        steady.update(sites.get(s, Counter()))
    res.update(
        median_per_step=statistics.median(plain) if plain else None,
        median_per_logging_step=statistics.median(logged) if logged else None,
        setup_syncs=per_step["setup"],
        top_sites=steady.most_common(6),
        note="counted: syncs raised on the Python thread; a sync inside backward runs on autograd's device "
        "thread and is only printed by c10, not counted here",
    )
    res["summary"] = (
        f"{res['median_per_step']} syncs per step (median of non-logging steps 2–{steps - 1}), "
        f"{res['median_per_logging_step']} on logging steps (log.every {log_every}); micro batch "
        f"from the quickstart smoke preset on {run.get('device')}"
    )
    return res


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
    rc, out, err = run_cmd(
        cmd, env, min(600, ctx.left() + 60)
    )  # a rank stuck in a collective hangs, not fails
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
