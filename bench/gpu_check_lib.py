"""Helpers of bench/gpu_check.py: environment, run summaries from events, GPU peaks, FLOPs, the Markdown report."""

from __future__ import annotations

import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GiB = 1 << 30
LIBS = ("torch", "transformers", "peft", "accelerate", "bitsandbytes", "trl")


def one_line(e: BaseException | str) -> str:
    """An exception (or text) as one line: Type: first line of the message."""
    if isinstance(e, BaseException):
        text = str(e).strip().splitlines()
        return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__
    return e.strip().splitlines()[0] if e.strip() else ""


def guarded(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """fn(*args) with seconds added; an exception becomes status failed with its one-line error."""
    t = time.perf_counter()
    try:
        res = fn(*args)
        res.setdefault("status", "passed")
    except Exception as e:
        res = {"status": "failed", "error": one_line(e), "traceback": traceback.format_exc()[-4000:]}
    res["seconds"] = round(time.perf_counter() - t, 1)
    return res


@dataclass
class Proc:
    """How a `tuner run` subprocess ended."""

    rc: int
    run_dir: Path | None
    error: str | None
    seconds: float
    maxrss: int | None = None  # the process's peak resident set size, bytes (host memory)


# `tuner run` as the console script runs it, plus the process's peak RSS on the way out: step events
# only sample RSS between steps, after the logits and activations are freed.
TUNER_MAIN = (
    "import resource, sys\nfrom core.cli import main\ncode = 1\ntry:\n    code = main(sys.argv[1:])\n"
    "finally:\n    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
    "    print(f'gpu-check maxrss_bytes={peak}', file=sys.stderr)\nsys.exit(code)"
)


def _run_dirs(env: dict[str, str]) -> set[Path]:
    """Run directories under the subprocess's TUNER_RUNS_DIR now."""
    root = Path(env.get("TUNER_RUNS_DIR", ""))
    return {d for d in root.iterdir() if d.is_dir()} if root.is_dir() else set()


def run_cmd(cmd: list[str], env: dict[str, str], timeout: float) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a command in its own process group; on timeout the whole group is killed
    (torchrun's workers and DataLoader workers too), the exit code is 124 and stderr ends with an error line."""
    p = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return 124, out, err + f"\nerror: timed out after {timeout:.0f} s"


def run_tuner(args: list[str], env: dict[str, str], log: Path, timeout: int) -> Proc:
    """`python -m core.cli run ARGS` in a subprocess; full output to LOG; the run directory and one-line error."""
    cmd = [sys.executable, "-c", TUNER_MAIN, "run", *args]
    before = _run_dirs(env)
    t = time.perf_counter()
    rc, out, err = run_cmd(cmd, env, timeout)
    seconds = time.perf_counter() - t
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"$ tuner run {' '.join(args)}\n--- stdout\n{out}\n--- stderr\n{err}")
    rss = re.findall(r"^gpu-check maxrss_bytes=(\d+)$", err, re.M)
    err = re.sub(r"^gpu-check maxrss_bytes=\d+\n?", "", err, flags=re.M)
    dirs = re.findall(r"^run directory: (.+)$", out, re.M)
    # a run killed by the timeout prints no directory: its events still count
    new = sorted(_run_dirs(env) - before)
    run_dir = Path(dirs[-1].strip()) if dirs else (new[-1] if len(new) == 1 else None)
    errors = [ln.split("error:", 1)[1].strip() for ln in err.splitlines() if ln.startswith("error:")]
    tail = [ln for ln in err.splitlines() if ln.strip()]
    error = errors[-1] if errors else (tail[-1].strip() if rc and tail else None)
    return Proc(rc, run_dir, error, round(seconds, 1), int(rss[-1]) if rss else None)


def run_summary(run_dir: Path, since_last_start: bool = False) -> dict[str, Any]:
    """A run (or its last session, after a resume) from events.jsonl: device, steps, final loss, memory."""
    from core.events import read_events

    evs = read_events(run_dir / "events.jsonl")
    starts = [i for i, e in enumerate(evs) if e["type"] == "run_started"]
    if since_last_start and starts:
        evs = evs[starts[-1] :]
    started = next((e for e in evs if e["type"] == "run_started"), {})
    steps = [e for e in evs if e["type"] == "step"]
    end = next((e for e in reversed(evs) if e["type"] in ("finished", "failed")), None)
    status = "no end event" if end is None else (end.get("status") if end["type"] == "finished" else "failed")
    loss = steps[-1]["loss"] if steps else None
    return {
        "status": status,
        "step": end.get("step") if end else None,
        "step_events": len(steps),
        "first_step": steps[0]["step"] if steps else None,
        "final_loss": loss,
        "loss_finite": isinstance(loss, (int, float)) and math.isfinite(loss),
        "device": started.get("device"),
        "dtype": started.get("dtype"),
        "adapter": started.get("adapter"),
        "resumed_from": started.get("resumed_from"),
        "world_size": started.get("world_size"),
        "trainable_params": started.get("trainable_params"),
        "total_params": started.get("total_params"),
        "grad_accum": started.get("grad_accum"),
        "error": f"{end.get('message')} ({end.get('hint')})" if end and end["type"] == "failed" else None,
        "_steps": steps,
    }


def _driver() -> str | None:
    """NVIDIA driver version: pynvml, else nvidia-smi, else torch's CUDA driver API version."""
    try:
        import pynvml

        pynvml.nvmlInit()
        v = pynvml.nvmlSystemGetDriverVersion()
        return v.decode() if isinstance(v, bytes) else str(v)
    except Exception:
        pass
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.split()
            if out:
                return out[0]
        except (OSError, subprocess.SubprocessError):
            pass
    import torch

    try:
        v = torch._C._cuda_getDriverVersion() if torch.cuda.is_available() else 0
    except (AttributeError, RuntimeError):
        v = 0
    return f"CUDA driver API {v // 1000}.{v % 1000 // 10} (torch)" if v else None


def environment() -> dict[str, Any]:
    """Versions, CUDA, GPUs (name, capability, memory, bf16), driver, host; raises nothing for a missing GPU."""
    from importlib import metadata

    import psutil
    import torch

    from core.estimate import _cpu_name

    versions = {"python": platform.python_version()}
    for lib in LIBS:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = None
    from core.gpus import torch_gpu, torch_gpu_count

    gpus = []
    for i in range(torch_gpu_count() or 0):
        gpu = torch_gpu(i)
        major, minor = gpu.capability or (0, 0)
        gpus.append(
            {
                "index": i,
                "name": gpu.name,
                "capability": f"{major}.{minor}",
                "total_memory_gib": round(gpu.memory_bytes / GiB, 1),
                "bf16": (major, minor) >= (8, 0),
            }
        )
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        commit += " (with uncommitted changes)" if dirty else ""
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "versions": versions,
        "cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
        "gpu_count": len(gpus),
        "gpus": gpus,
        "driver": _driver() if gpus else None,
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / GiB, 1),
        "torch_threads": torch.get_num_threads(),
        "commit": commit,
    }


def throughput(steps: list[dict[str, Any]], grad_accum: int) -> dict[str, Any]:
    """Real tokens/s after warm-up (the first fifth, at least 2 step events), and real tokens per micro batch (log.every 1)."""
    warm = max(2, len(steps) // 5)
    timed = [e for e in steps[warm:] if e.get("tokens_per_s")] or [e for e in steps if e.get("tokens_per_s")]
    tokens = sum(e["tokens"] for e in timed)
    seconds = sum(e["tokens"] / e["tokens_per_s"] for e in timed)
    return {
        "timed_steps": len(timed),
        "tokens_per_s": tokens / seconds if seconds else None,
        "tokens_per_micro_batch": tokens / len(timed) / max(1, grad_accum) if timed else None,
    }


def call_site(frames: list[traceback.FrameSummary]) -> str:
    """Where a sync came from: the innermost frame, then the two innermost outside torch (path:line function)."""

    def short(f: traceback.FrameSummary) -> str:
        path = f.filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        return f"{path}:{f.lineno} {f.name}"

    frames = [f for f in frames if not f.filename.endswith("warnings.py")]
    if not frames:
        return "?"
    outside = [f for f in frames[:-1] if "/torch/" not in f.filename][-2:]
    return " ← ".join(short(f) for f in [frames[-1], *reversed(outside)])


def free_port() -> int:
    """A TCP port nobody listens on now (the default 29500 may be taken by another launch)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Dense (no 2:4 sparsity) bf16 tensor-core peaks from NVIDIA's datasheets, TFLOP/s; the first
# pattern that matches torch's device name wins (so "H100 PCIe" before "H100", "L40S" before "L4").
PEAK_TFLOPS: list[tuple[str, float]] = [
    (r"H200.*NVL", 835.0),
    (r"H200", 989.0),
    (r"H100.*NVL", 835.0),
    (r"H100.*PCIe", 756.0),
    (r"H100", 989.0),  # SXM
    (r"A100", 312.0),
    (r"L40S", 362.0),
    (r"\bL4\b", 121.0),
    # fp16/bf16 with fp32 accumulation (what PyTorch's matmuls use); 330 with fp16 accumulation
    (
        r"4090",
        165.2,
    ),
    (r"\bT4\b", 65.0),  # fp16: Turing has no bf16
]

FLOPS_FORMULA = (
    "model FLOPs per real (non-pad) token: full fine-tuning 6·N; LoRA/QLoRA 4·N + 2·N_trainable "
    "(forward 2·N, backward through the activations 2·N, weight gradients only for the trainable "
    "LoRA parameters; the frozen 4-bit weights get none). N = parameters in matmuls = total "
    "(4-bit weights at their logical count) − the input embedding table. Not counted: attention "
    "scores (s² terms), the forward recomputed by gradient checkpointing, dequantization. "
    "MFU = FLOPs per token × tokens/s ÷ the GPU's dense bf16 peak."
)


def peak_tflops(gpu_name: str | None) -> float | None:
    """Dense bf16 peak TFLOP/s of a GPU by its name (None when unknown)."""
    for pattern, tflops in PEAK_TFLOPS:
        if gpu_name and re.search(pattern, gpu_name):
            return tflops
    return None


def flops_per_token(total_params: int, trainable_params: int, embedding_params: int, adapter: str) -> float:
    """Model FLOPs per token under FLOPS_FORMULA."""
    n = total_params - embedding_params
    return 6.0 * n if adapter == "full" else 4.0 * n + 2.0 * trainable_params


def _gib(n: Any) -> str:
    """Bytes as GiB, – when unknown."""
    return f"{n / GiB:.2f} GiB" if isinstance(n, (int, float)) and n else "–"


def _num(x: Any, fmt: str = "{:.4g}") -> str:
    """A number formatted, – when unknown."""
    return fmt.format(x) if isinstance(x, (int, float)) else "–"


def _status(sec: dict[str, Any]) -> str:
    """The status, in bold when failed."""
    s = sec.get("status", "?")
    return f"**{s}**" if s == "failed" else s


def conditions_line(report: dict[str, Any]) -> str:
    """GPU, driver, CUDA, library versions, date and commit in one paragraph."""
    c = report.get("conditions", {})
    v = c.get("versions", {})
    gpus = c.get("gpus") or []
    if gpus:
        g = gpus[0]
        hw = (
            f"{len(gpus)} × {g['name']} (compute capability {g['capability']}, {g['total_memory_gib']} GiB), "
            f"driver {c.get('driver') or '?'}, CUDA {c.get('cuda') or '?'}"
        )
    else:
        hw = f"no GPU: {c.get('cpu', '?')}, {c.get('cpu_count', '?')} cores, {c.get('ram_gib', '?')} GiB RAM"
    libs = ", ".join(f"{k} {val}" for k, val in v.items() if val)
    return (
        f"{report.get('date', '?')}, mode {report.get('mode', '?')}: {hw}; {libs}; "
        f"commit {c.get('commit', '?')}; `{report.get('command', '')}`"
    )


def _smoke_rows(sec: dict[str, Any]) -> list[str]:
    """One table row per smoked preset."""
    rows = []
    for name, item in (sec.get("presets") or {}).items():
        if item.get("status") == "passed":
            run, res = item.get("run", {}), item.get("resume", {})
            text = (
                f"{run.get('device')}, {run.get('adapter')}, {run.get('step')} steps, final loss "
                f"{_num(run.get('final_loss'))}, resumed {res.get('from_step')}→{res.get('step')} "
                f"({'continued' if res.get('continued') else 'did NOT continue'}), {item.get('seconds', 0):.0f} s"
            )
        else:
            text = item.get("reason") or item.get("error") or ""
        rows.append(f"| smoke: {name} | {_status(item)} | {text} |")
    return rows


def _qlora_rows(sec: dict[str, Any]) -> list[str]:
    """The QLoRA table and its notes (formula, peak, what was measured)."""
    runs = sec.get("runs") or {}
    if not runs:
        return []
    mem_label = sec.get("memory_label", "peak memory")
    out = [
        "",
        f"### QLoRA at {sec.get('shape_name', '?')} shapes ({sec.get('params_b', '?')}B params, random init)",
        "",
        f"| batching | status | steps | real tokens / micro batch | tokens/s | TFLOP/s | MFU | {mem_label} | "
        "estimate (core.estimate) | measured / estimate |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in runs.items():
        mfu = r.get("mfu")
        sets = " ".join(r.get("overrides") or []) or "preset as shipped"
        out.append(
            f"| {label} (`{sets}`) | {_status(r)} | {r.get('step', '–')} | "
            f"{_num(r.get('tokens_per_micro_batch'), '{:.0f}')} | {_num(r.get('tokens_per_s'), '{:.0f}')} | "
            f"{_num(r.get('achieved_tflops'), '{:.3g}')} | {f'{mfu:.1%}' if isinstance(mfu, float) else 'n/a'} | "
            f"{_gib(r.get('measured_peak_bytes'))} | {_gib(r.get('estimate_bytes'))} "
            f"({r.get('estimate_shape', '?')}) | {_num(r.get('measured_over_estimate'), '{:.2f}')} |"
        )
    peak = (
        f"{sec['peak_tflops']} TFLOP/s dense bf16"
        if sec.get("peak_tflops")
        else "n/a (no GPU, or not in the table)"
    )
    out += [
        "",
        f"- {FLOPS_FORMULA}",
        f"- peak used for MFU: {peak}",
        f"- {sec.get('memory_note', '')}",
        f"- {sec.get('estimate_note', '')}",
    ]
    return out


def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: conditions, one row per section (or item), then the QLoRA table."""
    lines = ["## GPU check", "", conditions_line(report), "", "| check | status | result |", "|---|---|---|"]
    extra: list[str] = []
    for name, sec in report.get("sections", {}).items():
        if name == "smoke" and sec.get("presets"):
            lines += _smoke_rows(sec)
            continue
        if name == "qlora":
            extra += _qlora_rows(sec)
        summary = sec.get("summary") or sec.get("reason") or ""
        if sec.get("status") == "failed":
            summary = f"{sec.get('error')}" + (
                f" — {summary}" if summary and summary != sec.get("error") else ""
            )
        lines.append(f"| {name} | {_status(sec)} | {summary} ({sec.get('seconds', 0):.0f} s) |")
    syncs = report.get("sections", {}).get("syncs", {})
    if syncs.get("top_sites"):
        extra += ["", "### Host syncs in steady-state steps (most frequent call sites)", ""]
        extra += [f"- {n} × `{site}`" for site, n in syncs["top_sites"]]
        extra += ["", f"({syncs.get('note', '')})"]
    return "\n".join(lines + extra) + "\n"
