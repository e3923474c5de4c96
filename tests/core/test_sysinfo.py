"""Memory snapshots: every field of a step event's `memory`, sane on CPU, and cheap."""

from __future__ import annotations

import time

import psutil

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


def test_snapshot_is_cheap():
    sysinfo.memory_snapshot("cpu")
    n = 200
    start = time.perf_counter()
    for _ in range(n):
        sysinfo.memory_snapshot("cpu")
    per_call = (time.perf_counter() - start) / n
    assert per_call < 0.002, f"{per_call * 1e3:.2f} ms per snapshot"  # target < 1 ms; slack for busy CI
