"""The same `tuner run` under `accelerate launch`: 2 CPU processes over gloo, events and checkpoints written once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from core.events import read_events
from core.runs import complete_checkpoints

ROOT = Path(__file__).resolve().parents[3]


def test_two_processes_over_gloo(tiny_preset, tmp_path):
    preset = tiny_preset("[train]\nmax_steps = 4\nsave_every = 2\n[eval]\nevery = 2\nsample_every = 100\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="")
    with socket.socket() as s:  # a free port: the default 29500 may be taken by another launch
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(port),
        "-m",
        "core.cli",
        "run",
        str(preset),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = (tmp_path / "runs").iterdir()  # one run directory, not one per process
    evs = read_events(run / "events.jsonl")
    assert evs[0]["type"] == "run_started" and evs[0]["world_size"] == 2
    assert [e["step"] for e in evs if e["type"] == "step"] == [1, 2, 3, 4], "each step reported once"
    assert [e["type"] for e in evs].count("finished") == 1
    assert [p.name for p in complete_checkpoints(run)] == ["checkpoint-2", "checkpoint-4"]
    assert (run / "adapter" / "adapter_model.safetensors").is_file()
    assert proc.stdout.count("run directory:") == 1
