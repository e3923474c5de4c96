"""The machine's fp32 matmul peak (GFLOP/s) with torch's default threads: the MFU denominator.

Usage: .venv/bin/python bench/matmul_peak.py [--n 2048] [--reps 20]
"""

from __future__ import annotations

import argparse
import json
import time

import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    a, b = torch.randn(args.n, args.n), torch.randn(args.n, args.n)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(args.reps):
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * args.n**3 / (time.perf_counter() - t) / 1e9)
    print(json.dumps({"n": args.n, "threads": torch.get_num_threads(), "peak_gflops": round(best, 1)}))


if __name__ == "__main__":
    main()
