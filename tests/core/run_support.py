"""Writing run directories for the tests of core.runs: a run_started event, a run with given events, a dead pid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core import runs
from core.config.schema import Preset
from core.events import EventWriter, RunStarted


def started(run_dir: Path, pid: int, **kw) -> RunStarted:
    fields = dict(
        run=run_dir.name,
        run_dir=str(run_dir),
        preset="p",
        model="m",
        device="cpu",
        dtype="float32",
        adapter="lora",
        trainable_params=1,
        total_params=2,
        train_rows=3,
        val_rows=1,
        dropped_too_long=0,
        max_steps=10,
        epochs=1.0,
        micro_batch_size=1,
        grad_accum=1,
        max_seq_len=32,
        batching="padding_free",
        pid=pid,
    )
    fields.update(kw)
    return RunStarted(**fields)


def make_run(root: Path, name: str, events: list, preset: Preset | None = None) -> Path:
    run_dir = runs.create_run_dir(preset or Preset(name="p"), root=root, name=name)
    with EventWriter(run_dir / runs.EVENTS_FILE) as w:
        for e in events(run_dir) if callable(events) else events:
            w.write(e)
    return run_dir


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the pid no longer exists
    return proc.pid
