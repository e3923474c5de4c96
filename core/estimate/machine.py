"""This machine's training device and memory, found without torch (nvidia-smi via core.gpus, psutil)."""

from __future__ import annotations

import os
import platform
from functools import lru_cache
from pathlib import Path

from core.gpus import driver_gpus, driver_present


def _apple_silicon() -> bool:
    return platform.system() == "Darwin" and platform.machine() == "arm64"


def guess_device(preference: str = "auto") -> str:
    """The device tuner would pick, guessed without torch: cuda with an NVIDIA driver, mps on Apple silicon."""
    if preference != "auto":
        return preference
    if driver_present():
        return "cuda"
    if _apple_silicon():
        return "mps"
    if os.environ.get("PJRT_DEVICE"):
        return "xla"
    return "cpu"


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo), or what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


@lru_cache(maxsize=1)
def detected_kind() -> str:
    """cuda | mps | cpu: which memory detected_memory() reports."""
    if driver_gpus():
        return "cuda"
    if _apple_silicon():
        return "mps"
    return "cpu"


def detected_memory() -> tuple[str, int]:
    """(device name, bytes) of this machine's training memory: GPU 0 via nvidia-smi, else total RAM."""
    gpus = driver_gpus()
    if gpus:
        suffix = f" (GPU 0 of {len(gpus)})" if len(gpus) > 1 else ""
        return gpus[0].name + suffix, gpus[0].memory_bytes
    import psutil

    total = psutil.virtual_memory().total
    if detected_kind() == "mps":
        return f"Apple {platform.machine()} (unified memory)", total
    return f"{cpu_name()} (RAM)", total
