"""The TPU preset on a real XLA device (PJRT_DEVICE=CPU): run by `make test-xla` in a torch_xla environment.

Skipped in the main environment, which has no torch_xla (it needs torch 2.9 exactly).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch_xla", reason="needs the torch_xla environment: make test-xla")
ROOT = Path(__file__).resolve().parents[2]


def read(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines() if line.strip()]


def run_cli(tmp_path: Path, *args: str) -> list[dict]:
    env = dict(os.environ, PJRT_DEVICE="CPU", TUNER_RUNS_DIR=str(tmp_path / "runs"), TUNER_DATA_DIR=str(tmp_path / "data"),
               PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (run,) = (tmp_path / "runs").iterdir()
    return read(run)


def test_tpu_lora_smoke_on_the_xla_device(tmp_path):
    evs = run_cli(tmp_path, "-m", "core.cli", "run", "tpu-lora", "--smoke", "--set", "train.lr=2e-3")
    (started,) = [e for e in evs if e["type"] == "run_started"]
    assert started["device"] == "xla" and started["adapter"] == "lora" and started["batching"] == "pad_to_max"
    losses = [e["loss"] for e in evs if e["type"] == "step"]
    assert len(losses) == 10
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3, f"loss should fall on XLA: {losses}"
    assert evs[-1]["type"] == "finished"


def test_quantization_is_refused_on_xla(tmp_path):
    env = dict(os.environ, PJRT_DEVICE="CPU", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "core.cli", "run", "tpu-lora", "--smoke", "--set", "quant.bits=4"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "XLA" in proc.stderr and "Traceback" not in proc.stderr
