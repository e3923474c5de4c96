"""Pick the device and dtype, and refuse what a device cannot do before anything is loaded."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import Any

from core.config.schema import Preset
from core.errors import TunerError
from core.gpus import cuda_capability


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

    _xla_compile_cache(xr)
    n = xr.global_runtime_device_count()
    if n > 1 and not xr.is_spmd():
        xr.use_spmd()  # before any tensor reaches the device
    return n


_XLA_CACHE: list[str] = []


def _xla_compile_cache(xr: Any) -> None:
    """torch_xla's persistent compile cache under tuner's cache, so a second Kaggle session does not recompile.

    Must run before the first computation; TUNER_XLA_CACHE overrides the folder (e.g. /kaggle/working,
    which outlives the session).
    """
    import os
    from pathlib import Path

    if _XLA_CACHE:
        return
    from core.models.embedded import cache_root

    folder = Path(os.environ.get("TUNER_XLA_CACHE") or cache_root() / "xla")
    folder.mkdir(parents=True, exist_ok=True)
    xr.initialize_cache(str(folder), readonly=False)
    _XLA_CACHE.append(str(folder))


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
        raise TunerError(
            'model.device = "cuda" but no CUDA GPU is visible',
            kind="device",
            hint="run on a GPU machine, or --set model.device=auto to use what is here",
        )
    if preference == "mps":
        if platform.system() != "Darwin":
            raise TunerError(
                'model.device = "mps" needs macOS on Apple silicon',
                kind="device",
                hint="--set model.device=auto to use what is here",
            )
        if not torch.backends.mps.is_available():
            raise TunerError(
                'model.device = "mps" but MPS is not available in this PyTorch build',
                kind="device",
                hint="install a PyTorch build with MPS, or --set model.device=cpu",
            )
    if preference == "xla" and not xla_available():
        raise TunerError(
            'model.device = "xla" but torch_xla is not installed or PJRT_DEVICE is unset',
            kind="device",
            hint="on a TPU VM: pip install torch_xla and export PJRT_DEVICE=TPU (see `make test-xla`)",
        )
    return preference


BF16_MIN_CAPABILITY = (8, 0)  # Ampere: bf16 tensor cores; T4 (7.5) and V100 (7.0) only emulate it


@dataclass(frozen=True)
class Precision:
    """How a run holds its weights and computes: `weights` is the load dtype, `autocast` the mixed precision."""

    weights: Any  # torch dtype of the loaded (frozen or master) weights
    autocast: Any = None  # torch dtype for the Trainer's bf16/fp16 autocast; None: none

    @property
    def compute(self) -> Any:
        """The dtype the matmuls run in (4-bit compute dtype, generation)."""
        return self.autocast or self.weights


def precision_policy(
    preference: str,
    device: str,
    *,
    capability: tuple[int, int] | None = None,
    full_finetune: bool = False,
    mps_bf16: bool = False,
) -> Precision:
    """Pure rule from (dtype preference, device, GPU compute capability, adapter) to a Precision.

    CUDA: bf16 only from compute capability 8.0 (`torch.cuda.is_bf16_supported()` also says yes on
    a T4, where bf16 is emulated: no tensor cores, no fused attention), fp16 below. Full fine-tuning
    in fp16 keeps fp32 master weights (GradScaler cannot unscale fp16 gradients). MPS trains fp32
    weights under autocast. XLA: bf16 weights and no `bf16=True` (accelerate would set the deprecated
    XLA_USE_BF16, which also stores LoRA weights and Adam states in bf16).
    """
    import torch

    table = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if device == "cuda":
        bf16_ok = capability is None or tuple(capability) >= BF16_MIN_CAPABILITY
        if preference == "auto":
            half = torch.bfloat16 if bf16_ok else torch.float16
        elif preference == "bfloat16" and not bf16_ok:
            major, minor = capability or (0, 0)
            raise TunerError(
                f'model.dtype = "bfloat16" but this GPU (compute capability {major}.{minor}) only emulates '
                "bf16",
                kind="device",
                hint="--set model.dtype=auto (fp16 here) or float16",
            )
        else:
            half = table[preference]
        if half == torch.float32:
            return Precision(torch.float32)
        if half == torch.float16 and full_finetune:
            return Precision(torch.float32, torch.float16)
        return Precision(half, half)
    if device == "mps":
        if preference in ("auto", "float16", "bfloat16"):
            half = (
                torch.bfloat16
                if (preference == "bfloat16" or (preference == "auto" and mps_bf16))
                else torch.float16
            )
            return Precision(torch.float32, half)
        return Precision(torch.float32)
    if device == "xla":
        return Precision(torch.bfloat16 if preference == "auto" else table[preference])
    return Precision(torch.float32 if preference == "auto" else table[preference])


def mps_bf16_available() -> bool:
    """bf16 autocast on MPS: PyTorch ≥ 2.6 (accelerate's check) on macOS ≥ 14."""
    import torch

    mps = getattr(torch.backends, "mps", None)
    newer = getattr(mps, "is_macos_or_newer", None)
    version = tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2])
    if mps is None or newer is None or not mps.is_available() or version < (2, 6):
        return False
    try:
        return bool(newer(14, 0))
    except RuntimeError:  # builds without the MPS backend cannot ask
        return False


def device_precision(preference: str, device: str, *, full_finetune: bool = False) -> Precision:
    """precision_policy for the device this process runs on ("cuda:N": that GPU's capability)."""
    device, _, index = device.partition(":")
    cap = cuda_capability(int(index) if index else torch_cuda_index()) if device == "cuda" else None
    mps_bf16 = device == "mps" and mps_bf16_available()
    return precision_policy(
        preference, device, capability=cap, full_finetune=full_finetune, mps_bf16=mps_bf16
    )


def torch_cuda_index() -> int:
    """This process's GPU: its local rank under a multi-GPU launch (modulo the GPUs it can see)."""
    import os

    import torch

    return int(os.environ.get("LOCAL_RANK", 0)) % max(1, torch.cuda.device_count())


def resolve_dtype(preference: str, device: str):
    """The dtype to load weights in for inference and estimates (see precision_policy)."""
    return device_precision(preference, device).compute


def fsdp_requested() -> bool:
    """True when the launcher asked for FSDP (`accelerate launch` with an FSDP config sets ACCELERATE_USE_FSDP)."""
    import os

    return os.environ.get("ACCELERATE_USE_FSDP", "false").lower() in ("1", "true", "yes")


def check_preset_for_device(preset: Preset, device: str, world_size: int = 1) -> None:
    """Refuse, before loading anything, a preset asking for something this device cannot do."""
    # bf16 on a T4, …
    device_precision(preset.model.dtype, device, full_finetune=preset.train.adapter == "full")
    if fsdp_requested() and preset.quant.bits:
        # QLoRA under FSDP needs the 4-bit storage dtype to match every other parameter, no device
        # map, and collective saves of quantized shards; none of it has run on GPUs here yet.
        raise TunerError(
            f"FSDP with a {preset.quant.bits}-bit base (QLoRA) is not supported",
            kind="config",
            hint="use DDP (accelerate launch --multi_gpu, or torchrun): each GPU holds its own 4-bit copy "
            "(a 7B fits in 24 GB), or --set quant.bits=0 for LoRA under FSDP",
        )
    # FSDP2 runs over gloo too: that is how it is tested
    if fsdp_requested() and device not in ("cuda", "cpu"):
        raise TunerError(
            f"FSDP through accelerate runs on CUDA GPUs, not {device}",
            kind="config",
            hint="drop the FSDP config (on a TPU, tpu-lora shards over the cores through SPMD)",
        )
    if preset.quant.bits and device in ("xla", "mps"):
        raise TunerError(
            f"quant.bits = {preset.quant.bits} (bitsandbytes) does not run on {device}",
            kind="device",
            hint="--set quant.bits=0 (train LoRA on the unquantized model)",
        )
    if preset.train.optimizer in ("adamw_bnb_8bit", "paged_adamw_8bit") and device in ("xla", "mps"):
        raise TunerError(
            f"train.optimizer = {preset.train.optimizer!r} (bitsandbytes) does not run on {device}",
            kind="device",
            hint="--set train.optimizer=adamw_torch",
        )
    if device == "xla":
        cores = xla_spmd_cores(device)
        if cores > 1 and (preset.data.task == "text" or preset.train.batching != "pad_to_max"):
            raise TunerError(
                f'{cores} XLA cores (SPMD) need instruction data with train.batching = "pad_to_max"',
                kind="config",
                hint="--set train.batching=pad_to_max, or use one core (TPU_NUM_DEVICES=1)",
            )
    if preset.quant.bits or preset.train.optimizer in ("adamw_bnb_8bit", "paged_adamw_8bit"):
        import importlib.util

        if importlib.util.find_spec("bitsandbytes") is None:
            raise TunerError(
                "this preset needs bitsandbytes (4-bit/8-bit)",
                kind="dependency",
                hint="pip install bitsandbytes",
            )
