"""Which GPUs this machine has: what the NVIDIA driver lists (no torch) and what torch sees.

Two views on purpose. `driver_gpus()` answers without importing torch (the memory estimate and
the TUI use it); `torch_gpu_count()` / `torch_gpu()` are what a run will get. Doctor reports
both, because a driver that torch cannot use (a CPU-only wheel, CUDA_VISIBLE_DEVICES) is a real
problem. Live readings (utilisation, free memory) are core.sysinfo's job, not this module's.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.units import MiB

NVIDIA_PROC = Path("/proc/driver/nvidia/version")


@dataclass(frozen=True)
class Gpu:
    """One GPU as its source numbers it: name, total memory, compute capability when known."""

    index: int
    name: str
    memory_bytes: int
    capability: tuple[int, int] | None = None


def driver_present() -> bool:
    """True when an NVIDIA driver is installed (/proc/driver/nvidia, or nvidia-smi on PATH)."""
    return NVIDIA_PROC.exists() or shutil.which("nvidia-smi") is not None


@lru_cache(maxsize=1)
def driver_gpus() -> tuple[Gpu, ...]:
    """The GPUs nvidia-smi lists (name, memory); empty without nvidia-smi or when it fails (2 s timeout)."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return ()
    try:
        out = subprocess.run(
            [exe, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=2.0,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return parse_nvidia_smi(out)


def parse_nvidia_smi(text: str) -> tuple[Gpu, ...]:
    """Gpus from `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits` output."""
    gpus: list[Gpu] = []
    for line in text.strip().splitlines():
        if "," not in line:
            continue
        name, mib = line.rsplit(",", 1)
        try:
            gpus.append(Gpu(len(gpus), name.strip(), int(float(mib)) * MiB))
        except ValueError:
            return ()  # an answer we cannot read: as if there were none (the old behaviour)
    return tuple(gpus)


def torch_gpu_count(*, import_torch: bool = True) -> int | None:
    """CUDA GPUs torch sees; None when torch is missing or broken, or not imported yet and `import_torch` is False."""
    torch = sys.modules.get("torch")
    if torch is None and import_torch:
        try:
            import torch
        except Exception:  # a missing or broken torch is the caller's report
            return None
    if torch is None:
        return None
    try:
        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # a broken driver: the doctor's torch section says so
        return None


def torch_gpu(index: int) -> Gpu:
    """What torch reports for CUDA device `index` (raises when it cannot read the device)."""
    import torch

    prop = torch.cuda.get_device_properties(index)
    return Gpu(index, prop.name, int(prop.total_memory), (prop.major, prop.minor))


def cuda_capability(index: int = 0) -> tuple[int, int] | None:
    """The compute capability of CUDA device `index` as torch reports it, or None without CUDA."""
    import torch

    return tuple(torch.cuda.get_device_capability(index)) if torch.cuda.is_available() else None  # type: ignore[return-value]
