"""Fixtures for the TUI tests: recorded run directories, a fixed clock, isolated config folders.

Snapshot tests need text that does not move: the run fixtures are copied to a fixed folder
(their paths are shown), event files get a fixed mtime, the app gets a fixed clock, and the
timezone is UTC.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
# 2026-11-21 10:20:00 UTC: five minutes after the recorded quickstart run finished.
FIXED_NOW = 1795256400.0
FIXED_ROOT = Path(tempfile.gettempdir()) / "tuner-tui-tests"
FINISHED_RUN = "quickstart-20261121-101335"
FAILED_RUN = "qwen-qlora-20261120-221500"
DATA_DIR_NAME = "tiny-b7243d7d2832"


def fixed_clock() -> float:
    return FIXED_NOW


@pytest.fixture
def anyio_backend():
    """Async tests (marked anyio) run on asyncio, Textual's loop."""
    return "asyncio"


@pytest.fixture(autouse=True)
def tui_env(tmp_path, monkeypatch):
    """Presets, history and built data go to temporary folders; times print in UTC."""
    monkeypatch.setenv("TUNER_PRESETS_DIR", str(tmp_path / "user-presets"))
    monkeypatch.setenv("TUNER_HISTORY_FILE", str(tmp_path / "history.jsonl"))
    monkeypatch.setenv("TUNER_DATA_DIR", str(tmp_path / "data-cache"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def runs_dir(monkeypatch) -> Path:
    """The recorded run directories, copied to a fixed path with fixed mtimes."""
    root = FIXED_ROOT / "runs"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(FIXTURES / "run_dirs", root)
    for run in root.iterdir():
        events = run / "events.jsonl"
        if events.is_file():
            last = json.loads(events.read_text().splitlines()[-1])["time"]
            os.utime(events, (last, last))
    monkeypatch.setenv("TUNER_RUNS_DIR", str(root))
    return root


@pytest.fixture
def data_dir(monkeypatch) -> Path:
    """A small built data directory (real pipeline output: augmentation and rejected rows)."""
    root = FIXED_ROOT / "data"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(FIXTURES / "data", root)
    monkeypatch.setenv("TUNER_DATA_DIR", str(root))
    return root / DATA_DIR_NAME


@pytest.fixture
def empty_runs(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("TUNER_RUNS_DIR", str(root))
    return root


def write_events(path: Path, records: list[dict]) -> None:
    """Append event records as JSON lines (flushed, like the trainer)."""
    with open(path, "a", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec) + "\n")
        f.flush()


def run_started(run_dir: Path, pid: int, max_steps: int = 100, t: float = FIXED_NOW - 60) -> dict:
    return {
        "v": 1, "type": "run_started", "time": t, "run": run_dir.name, "run_dir": str(run_dir),
        "preset": "quickstart", "model": "embedded:smollm2-135m-instruct", "device": "cpu", "dtype": "float32",
        "adapter": "lora", "trainable_params": 4884480, "total_params": 139399488, "train_rows": 467,
        "val_rows": 38, "dropped_too_long": 0, "max_steps": max_steps, "epochs": 1.0, "micro_batch_size": 8,
        "grad_accum": 1, "max_seq_len": 256, "batching": "length_grouped", "pid": pid, "resumed_from": None,
        "world_size": 1,
    }


def step_event(step: int, max_steps: int = 100, t: float | None = None, loss: float | None = None) -> dict:
    return {
        "v": 1, "type": "step", "time": t if t is not None else FIXED_NOW - 60 + step, "step": step,
        "max_steps": max_steps, "epoch": step / max_steps, "loss": loss if loss is not None else 3.0 / (1 + step / 10),
        "lr": 1e-3 * (1 - step / max_steps), "grad_norm": 1.0, "tokens": 1000, "tokens_per_s": 180.0,
        "samples_per_s": 3.0, "elapsed_s": float(step), "eta_s": float(max_steps - step), "nonfinite_skipped": 0,
        "memory": {"rss_bytes": 2.0e9 + step * 1e6, "sys_used_bytes": 3e9, "sys_total_bytes": 2.5e10,
                   "accel_allocated_bytes": None, "accel_reserved_bytes": None, "accel_peak_bytes": None,
                   "gpu_util_pct": None},
    }


@pytest.fixture
def live_run(tmp_path) -> Path:
    """A run directory whose trainer pid is this test process (so its status is 'running')."""
    root = tmp_path / "live-runs"
    run = root / "quickstart-20261121-102000"
    run.mkdir(parents=True)
    (run / "preset.toml").write_text('name = "quickstart"\n')
    # Real time: a pid is only "running" if the process existed when the run started.
    write_events(run / "events.jsonl", [run_started(run, os.getpid(), t=time.time())])
    return run


PY = sys.executable
