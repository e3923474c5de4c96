"""Sandbox cost: per command (bubblewrap start, fixture copy, limits, tree listing and tar back), and the
time to score the shipped set's references against themselves with 2 workers.

  .venv/bin/python bench/sandbox_overhead.py [--reps 30]

Prints the median and 90th percentile of `true` run on each fixture (the overhead: the command does
nothing), then the wall time of judging every row's reference as a prediction (each row: the reference
and the "prediction" run once each — a cache would hide the second, so the prediction gets a
leading `: ;` to make it a different string), the 1-minute load average beside each figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from core.exec_eval.exec_set import load_exec_set
from core.exec_eval.fixtures import fixture_names
from core.exec_eval.scorer import ExecScorer


def main(argv: list[str] | None = None) -> int:
    """Measure and print."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=30)
    args = ap.parse_args(argv)
    with ExecScorer(workers=1) as scorer:
        for name in fixture_names():
            scorer.fixture(name)  # built once, outside the timing
        times = []
        for name in fixture_names():
            for i in range(args.reps):
                t = time.perf_counter()
                out = scorer.run(f"true {i}", name)  # a distinct string per call: no cache hit
                times.append(time.perf_counter() - t)
                assert out.ok, out.stderr
    times.sort()
    p90 = times[int(0.9 * (len(times) - 1))]
    print(
        f"per command (`true`, {len(times)} runs over {len(fixture_names())} fixtures): "
        f"median {1000 * statistics.median(times):.0f} ms, p90 {1000 * p90:.0f} ms "
        f"(load {os.getloadavg()[0]:.1f})"
    )
    rows = load_exec_set()
    preds = [
        {"reference": r.reference, "command": ": ; " + r.reference, "fixture": r.fixture, "alternatives": []}
        for r in rows
    ]
    t = time.perf_counter()
    with ExecScorer(workers=2) as scorer:
        verdicts = scorer.judge_all(preds)
    wall = time.perf_counter() - t
    right = sum(bool(v.get("right")) for v in verdicts)
    print(
        f"scoring {len(rows)} rows (reference + prediction each, fixtures built included), 2 workers: "
        f"{wall:.1f} s wall, {right}/{len(rows)} judged right (load {os.getloadavg()[0]:.1f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
