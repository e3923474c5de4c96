"""Pick the device and dtype, and refuse what a device cannot do before anything is loaded."""

from __future__ import annotations

import platform

from core.config.schema import Preset
from core.errors import TunerError


def xla_available() -> bool:
    """True when torch_xla is importable and a PJRT device is configured."""
    import importlib.util
    import os

    return importlib.util.find_spec("torch_xla") is not None and bool(os.environ.get("PJRT_DEVICE"))


def xla_spmd_cores(device: str) -> int:
    """XLA cores this process drives; with more than one, torch_xla is switched to SPMD first.

    SPMD is torch_xla's supported multi-core path for transformers (FSDPv2): one process, the
    batch sharded over the cores and the compiler placing the collectives. The per-core
    replicas of xmp.spawn also run on a TPU, but their collectives never run on XLA:CPU
    (pytorch/xla#5005), so that path could not be proven anywhere but on a TPU.
    """
    if device != "xla":
        return 1
    import torch_xla.runtime as xr

    n = xr.global_runtime_device_count()
    if n > 1 and not xr.is_spmd():
        xr.use_spmd()  # before any tensor reaches the device
    return n


def select_device(preference: str = "auto") -> str:
    """cuda > mps > xla > cpu for "auto"; an explicit choice is checked, not silently replaced."""
    import torch

    if preference == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        if xla_available():
            return "xla"
        return "cpu"
    if preference == "cuda" and not torch.cuda.is_available():
        raise TunerError("model.device = \"cuda\" but no CUDA GPU is visible", kind="device",
                         hint="run on a GPU machine, or --set model.device=auto to use what is here")
    if preference == "mps":
        if platform.system() != "Darwin":
            raise TunerError("model.device = \"mps\" needs macOS on Apple silicon", kind="device",
                             hint="--set model.device=auto to use what is here")
        if not torch.backends.mps.is_available():
            raise TunerError("model.device = \"mps\" but MPS is not available in this PyTorch build", kind="device",
                             hint="install a PyTorch build with MPS, or --set model.device=cpu")
    if preference == "xla" and not xla_available():
        raise TunerError("model.device = \"xla\" but torch_xla is not installed or PJRT_DEVICE is unset", kind="device",
                         hint="on a TPU VM: pip install torch_xla and export PJRT_DEVICE=TPU (see `make test-xla`)")
    return preference


def resolve_dtype(preference: str, device: str):
    """bf16 where the device supports it, fp32 on CPU unless asked; fp16 on GPUs without bf16."""
    import torch

    table = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if preference != "auto":
        dtype = table[preference]
        if device == "cuda" and dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
            raise TunerError("model.dtype = \"bfloat16\" but this GPU has no bf16 support (pre-Ampere)", kind="device",
                             hint="--set model.dtype=float16 (or auto)")
        return dtype
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "xla":
        return torch.bfloat16
    return torch.float32


def check_preset_for_device(preset: Preset, device: str) -> None:
    """Refuse, before loading anything, a preset asking for something this device cannot do."""
    if preset.quant.bits and device in ("xla", "mps"):
        raise TunerError(f"quant.bits = {preset.quant.bits} (bitsandbytes) does not run on {device}", kind="device",
                         hint="--set quant.bits=0 (train LoRA on the unquantized model)")
    if preset.train.optimizer in ("adamw_bnb_8bit", "paged_adamw_8bit") and device in ("xla", "mps"):
        raise TunerError(f"train.optimizer = {preset.train.optimizer!r} (bitsandbytes) does not run on {device}",
                         kind="device", hint="--set train.optimizer=adamw_torch")
    if device == "xla":
        cores = xla_spmd_cores(device)
        if cores > 1 and (preset.data.task == "text" or preset.train.batching != "pad_to_max"):
            raise TunerError(f"{cores} XLA cores (SPMD) need instruction data with train.batching = \"pad_to_max\"",
                             kind="config", hint="--set train.batching=pad_to_max, or use one core (TPU_NUM_DEVICES=1)")
    if preset.quant.bits or preset.train.optimizer in ("adamw_bnb_8bit", "paged_adamw_8bit"):
        import importlib.util

        if importlib.util.find_spec("bitsandbytes") is None:
            raise TunerError("this preset needs bitsandbytes (4-bit/8-bit)", kind="dependency",
                             hint="pip install bitsandbytes")
