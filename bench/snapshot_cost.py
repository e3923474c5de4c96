"""Benchmark core.sysinfo.memory_snapshot: the cost of the `memory` dict of every step event.

Usage: .venv/bin/python bench/snapshot_cost.py [--calls 2000] [--device cpu]

Prints the mean and the best per-call time over --calls calls (after one warm-up call). The
target is well under 1 ms on CPU; tests assert only what a snapshot reads, not its speed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.sysinfo import memory_snapshot


def main() -> None:
    """Time the snapshots and print one line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--device", default="cpu")
    opts = parser.parse_args()
    memory_snapshot(opts.device)
    times = []
    for _ in range(opts.calls):
        t = time.perf_counter()
        memory_snapshot(opts.device)
        times.append(time.perf_counter() - t)
    mean = sum(times) / len(times)
    print(
        f"memory_snapshot({opts.device!r}): mean {mean * 1e6:.0f} µs, best {min(times) * 1e6:.0f} µs per call"
    )


if __name__ == "__main__":
    main()
