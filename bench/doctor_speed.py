"""Benchmark `tuner doctor`: wall-clock of the quick check (and optionally --full), as a user runs it.

Usage: .venv/bin/python bench/doctor_speed.py [--repeat 3] [--full] [--offline] [PRESET ...]

Each run is a fresh `tuner doctor --json` subprocess (Python start-up and torch's import
included); prints the median and worst wall-clock time, the doctor's own elapsed_s and the
summary. --offline sets HF_HUB_OFFLINE=1 so the Hub probe (up to its timeout) is left out.
The target for the quick check is a few seconds on a laptop; this is where that is measured
(tests only assert that quick mode loads no model library).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(args: list[str], env: dict[str, str]) -> tuple[float, dict]:
    """(wall-clock seconds, the JSON report) of one `tuner doctor --json` subprocess."""
    cmd = [sys.executable, "-m", "core.cli", "doctor", "--json", *args]
    started = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    took = time.perf_counter() - started
    if out.returncode not in (0, 1):
        raise SystemExit(f"doctor failed ({out.returncode}): {out.stderr[-2000:]}")
    return took, json.loads(out.stdout)


def main() -> None:
    """Run the benchmark and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="also time --full")
    parser.add_argument("--offline", action="store_true", help="HF_HUB_OFFLINE=1: no Hub probe")
    parser.add_argument("presets", nargs="*")
    opts = parser.parse_args()
    env = dict(os.environ, **({"HF_HUB_OFFLINE": "1"} if opts.offline else {}))
    modes = [["--quick"]] + ([["--full"]] if opts.full else [])
    print("| mode | wall-clock median (s) | worst (s) | doctor elapsed_s median | summary |")
    print("|---|---|---|---|---|")
    for mode in modes:
        runs = [one_run([*mode, *opts.presets], env) for _ in range(opts.repeat)]
        walls = [w for w, _ in runs]
        inner = [r["elapsed_s"] for _, r in runs]
        summary = runs[-1][1]["summary"]
        print(
            f"| {mode[0]} | {statistics.median(walls):.2f} | {max(walls):.2f} | "
            f"{statistics.median(inner):.2f} | {summary} |"
        )


if __name__ == "__main__":
    main()
