"""Constants and event builders shared by the TUI tests (a module of its own: `conftest` names collide)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
# 2026-11-21 10:20:00 UTC: five minutes after the recorded quickstart run finished.
FIXED_NOW = 1795256400.0
FIXED_ROOT = Path(tempfile.gettempdir()) / "tuner-tui-tests"
FINISHED_RUN = "quickstart-20261121-101335"
FAILED_RUN = "qwen-qlora-20261120-221500"
DATA_DIR_NAME = "tiny-b7243d7d2832"


def fixed_clock() -> float:
    return FIXED_NOW


def write_events(path: Path, records: list[dict]) -> None:
    """Append event records as JSON lines (flushed, like the trainer)."""
    with open(path, "a", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec) + "\n")
        f.flush()


def run_started(run_dir: Path, pid: int, max_steps: int = 100, t: float = FIXED_NOW - 60) -> dict:
    return {
        "v": 1,
        "type": "run_started",
        "time": t,
        "run": run_dir.name,
        "run_dir": str(run_dir),
        "preset": "quickstart",
        "model": "embedded:smollm2-135m-instruct",
        "device": "cpu",
        "dtype": "float32",
        "adapter": "lora",
        "trainable_params": 4884480,
        "total_params": 139399488,
        "train_rows": 467,
        "val_rows": 38,
        "dropped_too_long": 0,
        "max_steps": max_steps,
        "epochs": 1.0,
        "micro_batch_size": 8,
        "grad_accum": 1,
        "max_seq_len": 256,
        "batching": "length_grouped",
        "pid": pid,
        "resumed_from": None,
        "world_size": 1,
    }


def step_event(step: int, max_steps: int = 100, t: float | None = None, loss: float | None = None) -> dict:
    return {
        "v": 1,
        "type": "step",
        "time": t if t is not None else FIXED_NOW - 60 + step,
        "step": step,
        "max_steps": max_steps,
        "epoch": step / max_steps,
        "loss": loss if loss is not None else 3.0 / (1 + step / 10),
        "lr": 1e-3 * (1 - step / max_steps),
        "grad_norm": 1.0,
        "tokens": 1000,
        "tokens_per_s": 180.0,
        "samples_per_s": 3.0,
        "elapsed_s": float(step),
        "eta_s": float(max_steps - step),
        "nonfinite_skipped": 0,
        "memory": {
            "rss_bytes": 2.0e9 + step * 1e6,
            "sys_used_bytes": 3e9,
            "sys_total_bytes": 2.5e10,
            "accel_allocated_bytes": None,
            "accel_reserved_bytes": None,
            "accel_peak_bytes": None,
            "gpu_util_pct": None,
        },
    }
