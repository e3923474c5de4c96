"""The machine itself: the Python interpreter, free memory, and free disk where tuner writes."""

from __future__ import annotations

import platform
import shutil
import sys
from pathlib import Path

from core.doctor.hub_cache import hf_home
from core.doctor.report import Check, first_line, tilde
from core.units import GiB, fmt_bytes

DISK_WARN_BYTES = 20 * GiB
DISK_FAIL_BYTES = 2 * GiB
RAM_WARN_AVAILABLE = 2 * GiB


def check_python() -> Check:
    """The interpreter's version (3.10 or newer) and path."""
    v = sys.version_info
    text = f"{platform.python_version()} ({sys.executable})"
    if v < (3, 10):
        return Check(
            "Python", "fail", text + ": tuner needs Python 3.10 or newer", "create the venv with python3.11"
        )
    return Check("Python", "pass", text)


def check_memory() -> Check:
    """RAM available of total; a warning under 2 GiB available."""
    try:
        import psutil

        vm = psutil.virtual_memory()
    except Exception as e:  # psutil missing: the packages section fails it
        return Check("memory", "skip", f"cannot read: {first_line(e)}")
    text = f"{fmt_bytes(vm.available)} available of {fmt_bytes(vm.total)} RAM"
    if vm.available < RAM_WARN_AVAILABLE:
        return Check("memory", "warn", text, "close other programs, or pick a smaller preset/model")
    return Check("memory", "pass", text)


def _existing_parent(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p.parent != p:
        p = p.parent
    return p


def check_disk(label: str, path: Path) -> Check:
    """Free space where `path` lives (or would be created): warn under 20 GiB, fail under 2 GiB."""
    where = _existing_parent(path)
    shown = tilde(path.absolute()) + ("" if path.exists() else " (not created yet)")
    try:
        usage = shutil.disk_usage(where)
    except OSError as e:
        return Check(f"disk: {label}", "warn", f"{shown}: cannot read free space ({e.strerror})")
    text = f"{fmt_bytes(usage.free)} free of {fmt_bytes(usage.total)} at {shown}"
    env = {"runs": "TUNER_RUNS_DIR", "tuner cache": "TUNER_CACHE", "HF cache": "HF_HOME"}.get(label, "")
    move = f"free space, or point {env} at a bigger disk" if env else "free space"
    if usage.free < DISK_FAIL_BYTES:
        return Check(f"disk: {label}", "fail", text + " (under 2 GiB)", move)
    if usage.free < DISK_WARN_BYTES:
        return Check(
            f"disk: {label}", "warn", text + " (under 20 GiB: checkpoints and models need room)", move
        )
    return Check(f"disk: {label}", "pass", text)


def check_disks() -> list[Check]:
    """Free space for the runs folder, the tuner cache and the Hugging Face cache."""
    from core.models.embedded import cache_root
    from core.runs import runs_root

    return [
        check_disk("runs", runs_root()),
        check_disk("tuner cache", cache_root()),
        check_disk("HF cache", hf_home()),
    ]
