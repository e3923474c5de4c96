"""Cheap memory and utilisation snapshots for step events (well under 1 ms on CPU).

torch and pynvml are never imported here at module level; accelerator numbers are read only
when torch is already loaded (the trainer loads it), so a snapshot never pays an import.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import psutil

_PROC: psutil.Process | None = None
_MPS_PEAK = 0  # torch.mps has no peak counter: the largest value seen at a snapshot
_NVML: Any = None  # the pynvml module once initialised, False when unavailable
_NVML_HANDLES: dict[int, Any] = {}


def _process() -> psutil.Process:
    global _PROC
    if _PROC is None or _PROC.pid != os.getpid():  # re-create after fork
        _PROC = psutil.Process()
    return _PROC


def _accel_memory(device: str) -> tuple[int | None, int | None, int | None]:
    """(allocated, reserved, peak) bytes on the accelerator, Nones when unknown or CPU."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None, None, None
    kind = device.split(":", 1)[0]
    try:
        if kind == "cuda":
            if not torch.cuda.is_initialized():
                return None, None, None
            return (
                torch.cuda.memory_allocated(device),
                torch.cuda.memory_reserved(device),
                torch.cuda.max_memory_allocated(device),
            )
        if kind == "mps":
            global _MPS_PEAK
            allocated = torch.mps.current_allocated_memory()
            _MPS_PEAK = max(_MPS_PEAK, allocated)
            return allocated, torch.mps.driver_allocated_memory(), _MPS_PEAK
        if kind == "xla":
            return _xla_memory()
    except Exception:  # a monitoring read must never stop training
        return None, None, None
    return None, None, None


def note_accel_peak(device: str) -> None:
    """Sample MPS memory between log steps: MPS keeps no peak counter of its own, and a log-step read misses the backward's peak."""
    if device.startswith("mps"):
        _accel_memory(device)


def _xla_memory() -> tuple[int | None, int | None, int | None]:
    if "torch_xla" not in sys.modules:
        return None, None, None
    try:
        import torch_xla.core.xla_model as xm

        info = xm.get_memory_info(xm.xla_device())
    except Exception:
        return None, None, None
    if "bytes_used" in info:  # torch_xla >= 2.x
        return info.get("bytes_used"), None, info.get("peak_bytes_used")
    if "kb_total" in info:  # older releases report free/total in KiB
        return (info["kb_total"] - info["kb_free"]) * 1024, None, None
    return None, None, None


def _nvml() -> Any:
    """The initialised pynvml module, or None (tried once)."""
    global _NVML
    if _NVML is None:
        try:
            import pynvml

            pynvml.nvmlInit()
            _NVML = pynvml
        except Exception:
            _NVML = False
    return _NVML or None


def _nvml_handle(nvml: Any, index: int) -> Any:
    if index not in _NVML_HANDLES:
        # CUDA_VISIBLE_DEVICES renumbers GPUs for torch; NVML sees physical indices or UUIDs.
        visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
        target = visible[index] if index < len(visible) else str(index)
        if target.isdigit():
            _NVML_HANDLES[index] = nvml.nvmlDeviceGetHandleByIndex(int(target))
        else:
            _NVML_HANDLES[index] = nvml.nvmlDeviceGetHandleByUUID(target)
    return _NVML_HANDLES[index]


def gpu_utilization(index: int | None = None) -> float | None:
    """GPU busy percentage (0–100) of CUDA device `index` (default: current) via NVML; None if unavailable."""
    nvml = _nvml()
    if nvml is None:
        return None
    try:
        if index is None:
            torch = sys.modules.get("torch")
            index = torch.cuda.current_device() if torch is not None and torch.cuda.is_initialized() else 0
        return float(nvml.nvmlDeviceGetUtilizationRates(_nvml_handle(nvml, index)).gpu)
    except Exception:
        return None


def gpu_free_memory(index: int) -> int | None:
    """Free bytes on CUDA device `index` via NVML (torch numbering), or None when NVML is unavailable."""
    nvml = _nvml()
    if nvml is None:
        return None
    try:
        return int(nvml.nvmlDeviceGetMemoryInfo(_nvml_handle(nvml, index)).free)
    except Exception:  # a monitoring read must never fail its caller
        return None


def memory_snapshot(device: str) -> dict[str, Any]:
    """The `memory` dict of a step event for `device` ("cpu", "cuda:1", "mps", "xla"); keys: MEMORY_KEYS."""
    vm = psutil.virtual_memory()
    allocated, reserved, peak = _accel_memory(device)
    util = None
    if device.startswith("cuda"):
        _, _, idx = device.partition(":")
        util = gpu_utilization(int(idx) if idx.isdigit() else None)
    return {
        "rss_bytes": _process().memory_info().rss,
        "sys_used_bytes": vm.total - vm.available,  # what other programs cannot have
        "sys_total_bytes": vm.total,
        "accel_allocated_bytes": allocated,
        "accel_reserved_bytes": reserved,
        "accel_peak_bytes": peak,
        "gpu_util_pct": util,
    }
