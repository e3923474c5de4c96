"""The precision rule over real GPUs' compute capabilities, and refusals before loading."""

from __future__ import annotations

import pytest
import torch

from core.device import precision_policy
from core.errors import TunerError

GPUS = {  # name: compute capability
    "T4": (7, 5),
    "V100": (7, 0),
    "A10": (8, 6),
    "A100": (8, 0),
    "L4": (8, 9),
    "RTX 4090": (8, 9),
    "H100": (9, 0),
}


@pytest.mark.parametrize("gpu", GPUS)
def test_cuda_auto_uses_bf16_only_from_ampere(gpu):
    p = precision_policy("auto", "cuda", capability=GPUS[gpu])
    half = torch.bfloat16 if GPUS[gpu] >= (8, 0) else torch.float16
    assert (p.weights, p.autocast, p.compute) == (half, half, half)


@pytest.mark.parametrize("gpu", ["T4", "V100"])
def test_bf16_asked_on_a_gpu_that_emulates_it_is_refused_in_one_line(gpu):
    with pytest.raises(TunerError) as e:
        precision_policy("bfloat16", "cuda", capability=GPUS[gpu])
    assert "emulates" in e.value.message and "float16" in e.value.hint


def test_full_finetuning_in_fp16_keeps_fp32_master_weights():
    p = precision_policy("auto", "cuda", capability=GPUS["T4"], full_finetune=True)
    assert (p.weights, p.autocast) == (torch.float32, torch.float16)
    p = precision_policy("auto", "cuda", capability=GPUS["A100"], full_finetune=True)
    assert (p.weights, p.autocast) == (torch.bfloat16, torch.bfloat16)


def test_other_devices():
    assert precision_policy("auto", "cpu") == precision_policy("float32", "cpu")
    assert precision_policy("auto", "cpu").autocast is None
    xla = precision_policy("auto", "xla")
    # no autocast flag on XLA: accelerate would set XLA_USE_BF16 and store LoRA/Adam states in bf16
    assert (xla.weights, xla.autocast) == (torch.bfloat16, None)
    mps = precision_policy("auto", "mps")
    assert (mps.weights, mps.autocast) == (torch.float32, torch.float16), (
        "MPS trains fp32 weights under autocast"
    )
    assert precision_policy("auto", "mps", mps_bf16=True).autocast == torch.bfloat16
    assert precision_policy("float32", "mps").autocast is None


def test_4bit_compute_dtype_follows_the_run(tmp_path):
    from core.config.loader import load_preset
    from core.models.build import quantization_config

    preset, _ = load_preset("qwen-qlora", [])
    assert preset.quant.compute_dtype == "auto"
    for gpu in ("T4", "H100"):
        dtype = precision_policy(preset.model.dtype, "cuda", capability=GPUS[gpu]).compute
        assert quantization_config(preset, dtype).bnb_4bit_compute_dtype == dtype
    preset.quant.compute_dtype = "float32"
    assert quantization_config(preset, torch.float16).bnb_4bit_compute_dtype == torch.float32


def test_a_launchers_mixed_precision_does_not_override_the_rule(tmp_path, monkeypatch):
    """`accelerate launch --mixed_precision bf16` exports ACCELERATE_MIXED_PRECISION; the rule decides."""
    from core.config.loader import load_preset
    from core.train.args import training_arguments

    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    preset, _ = load_preset("quickstart", [])
    args = training_arguments(preset, tmp_path, "cpu", None, 3, has_eval=False)
    assert (args.bf16, args.fp16, args.mixed_precision) == (False, False, "no")
