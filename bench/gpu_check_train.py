"""gpu_check.py's training sections: QLoRA at Qwen2.5-7B shapes (memory, tokens/s, MFU) and host syncs per step."""

from __future__ import annotations

import gc
import json
import statistics
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

from gpu_check_ctx import QUIET, QWEN25_7B, TINY_QWEN, Ctx, tuner, write_smoke_preset
from gpu_check_lib import (
    GiB,
    call_site,
    flops_per_token,
    guarded,
    peak_tflops,
    run_summary,
    throughput,
)

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
