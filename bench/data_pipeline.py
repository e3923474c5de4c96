"""Benchmark the data pipeline on NL2Bash: full build (load → clean → split → ×4 augment) and an unchanged rebuild.

Usage: .venv/bin/python bench/data_pipeline.py [--data ../shared/data/nl2bash/nl2bash.jsonl]
Prints a markdown table for docs/benchmarks.md. The corpus is read in place, never copied.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nl2bash" / "nl2bash.jsonl"
    ap.add_argument("--data", default=str(default))
    ap.add_argument("--multiplier", type=float, default=4.0)
    args = ap.parse_args()
    os.environ["TUNER_DATA_DIR"] = tempfile.mkdtemp(prefix="tuner-bench-data-")

    from core.config.schema import Preset
    from core.data.build import build_data

    preset = Preset.model_validate(
        {
            "name": "nl2bash-bench",
            "data": {
                "sources": [{"kind": "file", "path": args.data, "augment": True}],
                "augment": {"multiplier": args.multiplier},
            },
        }
    )
    t = time.perf_counter()
    first = build_data(preset)
    full = time.perf_counter() - t
    t = time.perf_counter()
    again = build_data(preset)
    rebuild = time.perf_counter() - t
    assert again.cached
    report = first.report()
    print(f"| full build (load+validate+filter+dedupe+x{args.multiplier:g} augment+split) | {full:.2f} s |")
    print(f"| unchanged rebuild | {rebuild:.3f} s |")
    print("\n| step | rows removed |\n|---|---|")
    for step, n in report["steps_removed"].items():
        print(f"| {step} | {n} |")
    aug = report["augmentation"]
    print(f"| augmentation added | +{aug['added']} (from {aug['originals']} train originals) |")
    print(f"\nsplits: {report['splits']}; step seconds: {report['seconds']}")
    print(f"data hash: {first.data_hash}")


if __name__ == "__main__":
    main()
