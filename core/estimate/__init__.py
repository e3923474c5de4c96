"""Training-memory estimate for a preset: pure arithmetic on the model's published shape.

No torch, transformers or peft import anywhere in this package (the TUI imports it to show an
estimate next to a preset); the machine's memory comes from nvidia-smi (core.gpus) or psutil.

Modules: shapes (Arch, the published table, from-scratch sizes, config.json), components (one
formula per component), memory (Estimate, estimate_or_reason), machine (this machine's device
and memory), fit (fit_verdict: the one fits/tight/does-not-fit rule), render (render_estimate).
"""

from __future__ import annotations

from core.estimate.components import (
    LOGIT_BYTES,
    NF4_CONST_BYTES,
    NF4_CONST_BYTES_DQ,
    layer_activation_bytes,
    lora_params,
    lora_targets,
)
from core.estimate.fit import FITS_SHARE, fit_here, fit_verdict
from core.estimate.machine import cpu_name, detected_kind, detected_memory, guess_device
from core.estimate.memory import Component, Estimate, estimate, estimate_or_reason
from core.estimate.render import render_estimate
from core.estimate.shapes import (
    EMBEDDED_MODEL,
    KNOWN,
    Arch,
    Linear,
    arch_from_config,
    resolve_arch,
    scratch_arch,
)
from core.units import GiB

_cpu_name = cpu_name  # the name bench/gpu_check_lib.py imports

__all__ = [
    "EMBEDDED_MODEL",
    "FITS_SHARE",
    "KNOWN",
    "LOGIT_BYTES",
    "NF4_CONST_BYTES",
    "NF4_CONST_BYTES_DQ",
    "Arch",
    "Component",
    "Estimate",
    "GiB",
    "Linear",
    "arch_from_config",
    "cpu_name",
    "detected_kind",
    "detected_memory",
    "estimate",
    "estimate_or_reason",
    "fit_here",
    "fit_verdict",
    "guess_device",
    "layer_activation_bytes",
    "lora_params",
    "lora_targets",
    "render_estimate",
    "resolve_arch",
    "scratch_arch",
]
