"""Memory snapshots: every field of a step event's `memory`, sane on CPU, and cheap."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

import psutil
import pytest

from core import sysinfo
from core.events import MEMORY_KEYS


def test_cpu_snapshot_fields_and_values():
    snap = sysinfo.memory_snapshot("cpu")
    assert tuple(snap) == MEMORY_KEYS
    total = psutil.virtual_memory().total
    assert 10 * 2**20 < snap["rss_bytes"] < total  # this python process holds at least 10 MiB
    assert 0 < snap["sys_used_bytes"] <= snap["sys_total_bytes"] == total
    for key in ("accel_allocated_bytes", "accel_reserved_bytes", "accel_peak_bytes", "gpu_util_pct"):
        assert snap[key] is None, key


def test_accelerator_devices_never_raise():
    for device in ("cuda", "cuda:0", "mps", "xla"):
        snap = sysinfo.memory_snapshot(device)
        assert tuple(snap) == MEMORY_KEYS
        for key in ("accel_allocated_bytes", "accel_reserved_bytes", "accel_peak_bytes"):
            assert snap[key] is None or snap[key] >= 0
        assert snap["gpu_util_pct"] is None or 0 <= snap["gpu_util_pct"] <= 100


def test_gpu_utilization_is_none_or_a_percentage():
    util = sysinfo.gpu_utilization()
    assert util is None or 0 <= util <= 100
    assert sysinfo._NVML is not None  # NVML init was tried once: later calls do not retry it


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="psutil reads /proc on Linux only")
def test_snapshot_reads_only_proc_and_imports_nothing():
    """Taken at every logged step: only /proc is read, nothing is imported, NVML is not touched on CPU.

    (Its cost per call is measured by bench/snapshot_cost.py, not asserted on a shared machine.)"""
    code = textwrap.dedent(
        """
        import sys
        from core import sysinfo
        sysinfo.memory_snapshot("cpu")  # the first call may set psutil up
        before = set(sys.modules)
        opened = []
        sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
        for _ in range(20):
            sysinfo.memory_snapshot("cpu")
        print(sorted(set(opened)))
        print(sorted(set(sys.modules) - before), "torch" in sys.modules, "pynvml" in sys.modules)
        print(sysinfo._NVML)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    opened, imports, nvml = out.stdout.strip().splitlines()
    paths = ast.literal_eval(opened)
    assert paths and all(p.startswith("/proc/") for p in paths), paths
    assert imports == "[] False False"
    assert nvml == "None"
