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


def run_cli(tmp_path: Path, *args: str, cores: int = 1) -> tuple[Path, list[dict], str]:
    # PT_XLA_DEBUG_LEVEL=2: torch_xla explains every graph execution, with the Python frames behind it
    env = dict(
        os.environ,
        PJRT_DEVICE="CPU",
        CPU_NUM_DEVICES=str(cores),
        TUNER_RUNS_DIR=str(tmp_path / "runs"),
        TUNER_DATA_DIR=str(tmp_path / "data"),
        PYTHONPATH=str(ROOT),
        PT_XLA_DEBUG_LEVEL="2",
        TUNER_XLA_CACHE=str(tmp_path / "xla-cache"),
    )
    proc = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (run,) = (tmp_path / "runs").iterdir()
    return run, read(run), proc.stdout + proc.stderr


def host_reads(debug_output: str) -> list[list[str]]:
    """The Python frames of every execution torch_xla attributes to reading a tensor's value on the host."""
    reads = []
    for block in debug_output.split("Execution Analysis: " + "=" * 80):
        if "Execution Cause" in block and "access tensor value" in block:
            reads.append(
                [
                    ln.split("Execution Analysis:", 1)[1].strip()
                    for ln in block.splitlines()
                    if "Execution Analysis:   " in ln and "(" in ln
                ]
            )
    return reads


@pytest.mark.parametrize("cores", [1, 2])
def test_tpu_lora_smoke_on_xla_cores(tmp_path, cores):
    """One core, and two driven by SPMD (FSDPv2) as a v3-8's eight are: the loss falls, the adapter loads."""
    run, evs, debug = run_cli(
        tmp_path, "-m", "core.cli", "run", "tpu-lora", "--smoke", "--set", "train.lr=2e-3", cores=cores
    )
    (started,) = [e for e in evs if e["type"] == "run_started"]
    assert started["device"] == "xla" and started["adapter"] == "lora" and started["batching"] == "pad_to_max"
    assert started["xla_cores"] == cores
    losses = [e["loss"] for e in evs if e["type"] == "step"]
    assert len(losses) == 10
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3, f"loss should fall on XLA: {losses}"
    assert evs[-1]["type"] == "finished"
    # No host sync inside a forward (SDPA's mask checks did one per micro-batch): values are read
    # only where the Trainer logs, evaluates or saves.
    reads = host_reads(debug)
    assert reads, "PT_XLA_DEBUG_LEVEL output missing: the check below would be vacuous"
    in_model = [r for r in reads if any("masking_utils" in f or "modeling_" in f for f in r)]
    assert not in_model, in_model[0]

    # The adapter is a PEFT adapter of the base model (not the SPMD wrapper's state dict): loaded on
    # the CPU, its trained lora_B weights are the saved ones (a key mismatch would leave zeros).
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    saved = load_file(run / "adapter" / "adapter_model.safetensors")
    key = next(k for k in saved if "lora_B" in k)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(started["model"]), run / "adapter")
    loaded = dict(model.named_parameters())[key.replace(".weight", ".default.weight")]
    assert saved[key].abs().sum() > 0 and torch.equal(loaded.detach().to(saved[key].dtype), saved[key])
    # bf16 weights, but no bf16=True flag (accelerate would set XLA_USE_BF16): what trains stays fp32
    assert {v.dtype for v in saved.values()} == {torch.float32}
    (ck,) = sorted((run / "checkpoints").glob("checkpoint-*"))[-1:]
    states = torch.load(ck / "optimizer.pt", map_location="cpu", weights_only=False)["state"]
    assert {t.dtype for st in states.values() for k, t in st.items() if k in ("exp_avg", "exp_avg_sq")} == {
        torch.float32
    }
    # the persistent compile cache: a second session on the same machine does not compile again
    assert any((tmp_path / "xla-cache").iterdir())


def test_quantization_is_refused_on_xla(tmp_path):
    env = dict(os.environ, PJRT_DEVICE="CPU", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "run", "tpu-lora", "--smoke", "--set", "quant.bits=4"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2 and "XLA" in proc.stderr and "Traceback" not in proc.stderr
