"""The torch build and the devices it can use: CUDA GPUs (against the driver), MPS, XLA, and what "auto" picks."""

from __future__ import annotations

import importlib.util
import os
import platform
from dataclasses import dataclass
from typing import Any

from core.doctor.packages import package, pip_command
from core.doctor.report import Check, first_line
from core.gpus import driver_present, torch_gpu, torch_gpu_count
from core.units import fmt_bytes


@dataclass
class DeviceInfo:
    """What the torch checks found; the preset checks reuse it."""

    torch_ok: bool = False
    cuda: bool = False
    mps: bool = False
    xla: bool = False
    auto: str | None = None


def check_torch() -> tuple[list[Check], DeviceInfo]:
    """torch build, CUDA GPUs, MPS, XLA and the device `auto` picks."""
    info = DeviceInfo()
    try:
        import torch
    except Exception as e:  # missing or broken torch
        return [
            Check(
                "torch build",
                "fail",
                f"torch does not import: {first_line(e)}",
                pip_command(package("torch")),
            )
        ], info
    info.torch_ok = True
    out = [_check_build(torch), *_check_cuda(torch, info), _check_mps(torch, info), _check_xla(info)]
    try:
        from core.device import select_device

        info.auto = select_device("auto")
        note = " (no accelerator: training runs on the CPU, slowly)" if info.auto == "cpu" else ""
        out.append(Check("device auto", "pass", f'model.device = "auto" picks {info.auto}{note}'))
    except Exception as e:  # any failure to pick is the line's content
        out.append(Check("device auto", "fail", f"cannot pick a device: {first_line(e)}"))
    return out, info


def _check_build(torch: Any) -> Check:
    cuda_v = getattr(torch.version, "cuda", None)
    hip_v = getattr(torch.version, "hip", None)
    if cuda_v:
        build = f"CUDA {cuda_v} build"
    elif hip_v:
        build = f"ROCm {hip_v} build"
    else:
        build = "CPU-only build"
    version = torch.__version__
    if not cuda_v and not hip_v and driver_present():  # the driver sees a GPU this wheel cannot use
        return Check(
            "torch build",
            "warn",
            f"torch {version}, {build}, but an NVIDIA driver is present",
            "install the CUDA build of torch for your driver (https://pytorch.org/get-started/locally/)",
        )
    threads = f"; {torch.get_num_threads()} CPU threads of {os.cpu_count()} cores"
    return Check("torch build", "pass", f"torch {version}, {build}{threads}")


def _check_cuda(torch: Any, info: DeviceInfo) -> list[Check]:
    from core.sysinfo import gpu_free_memory

    count = torch_gpu_count()
    info.cuda = bool(count)
    if count:
        out = []
        for i in range(count):
            try:
                gpu = torch_gpu(i)
            except Exception as e:  # one unreadable GPU is a warning on its own line
                out.append(Check(f"CUDA GPU {i}", "warn", f"cannot read its properties: {first_line(e)}"))
                continue
            free = gpu_free_memory(i)
            mem = fmt_bytes(gpu.memory_bytes) + (f" ({fmt_bytes(free)} free)" if free is not None else "")
            major, minor = gpu.capability or (0, 0)
            bf16 = "bf16" if major >= 8 else "no bf16 (fp16)"
            out.append(Check(f"CUDA GPU {i}", "pass", f"{gpu.name}, {mem}, compute {major}.{minor}, {bf16}"))
        return out
    cuda_v = getattr(torch.version, "cuda", None)
    if cuda_v and driver_present():  # the driver is there but torch sees nothing
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        return [
            Check(
                "CUDA",
                "warn",
                "a CUDA build and an NVIDIA driver, but torch sees no GPU"
                + (f" (CUDA_VISIBLE_DEVICES={visible!r})" if visible is not None else ""),
                f"check `nvidia-smi`, that the driver supports CUDA {cuda_v}, and CUDA_VISIBLE_DEVICES",
            )
        ]
    return [Check("CUDA", "skip", "no CUDA GPU visible")]


def _check_mps(torch: Any, info: DeviceInfo) -> Check:
    if platform.system() != "Darwin":
        return Check("MPS", "skip", "Apple silicon only (this is " + platform.system() + ")")
    mps = getattr(torch.backends, "mps", None)
    info.mps = bool(mps and mps.is_available())
    if info.mps:
        return Check("MPS", "pass", "available")
    built = bool(mps and mps.is_built())
    return Check(
        "MPS",
        "warn",
        "not available"
        + (
            " (torch built with MPS; macOS 12.3+ on Apple silicon needed)"
            if built
            else " in this torch build"
        ),
        "install a torch build with MPS support on Apple silicon",
    )


def _check_xla(info: DeviceInfo) -> Check:
    pjrt = os.environ.get("PJRT_DEVICE")
    has_xla = importlib.util.find_spec("torch_xla") is not None
    info.xla = has_xla and bool(pjrt)
    if info.xla:
        return Check("XLA", "pass", f"torch_xla installed, PJRT_DEVICE={pjrt}")
    if has_xla:
        return Check(
            "XLA",
            "warn",
            "torch_xla installed but PJRT_DEVICE is unset",
            "export PJRT_DEVICE=TPU (or CPU/CUDA)",
        )
    if pjrt:
        return Check(
            "XLA",
            "warn",
            f"PJRT_DEVICE={pjrt} but torch_xla is not installed",
            pip_command(package("torch_xla")),
        )
    return Check("XLA", "skip", "torch_xla not installed, PJRT_DEVICE unset")
