"""Recall and false-positive rate of the dangerous-command filter on the hand-written corpus.

Usage: .venv/bin/python bench/safety_recall.py [-v]

Reads tests/fixtures/safety/destructive.txt and benign.txt (one command per line, `#` comments,
"⏎" for a newline inside a command), runs core.data.safety.dangerous_reason on each, and prints
the figures for docs/data.md and docs/benchmarks.md, then every miss and false positive
(-v: every verdict). tests/core/data/test_safety.py asserts the same thresholds.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data.safety import dangerous_reason, is_unverified  # noqa: E402 - after the sys.path line

CORPUS = ROOT / "tests" / "fixtures" / "safety"


def load(name: str) -> list[str]:
    """Commands of one corpus file: comments and blank lines skipped, "⏎" turned into a newline."""
    lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
    return [ln.replace("⏎", "\n") for ln in lines if ln.strip() and not ln.startswith("#")]


def main() -> None:
    verbose = "-v" in sys.argv[1:]
    bad, good = load("destructive.txt"), load("benign.txt")
    t = time.perf_counter()
    bad_verdicts = [(c, dangerous_reason(c)) for c in bad]
    good_verdicts = [(c, dangerous_reason(c)) for c in good]
    per_cmd = (time.perf_counter() - t) / (len(bad) + len(good)) * 1e6
    caught = sum(r is not None for _, r in bad_verdicts)
    unverified = sum(is_unverified(r) for _, r in bad_verdicts)
    flagged = sum(r is not None for _, r in good_verdicts)
    print(f"recall: {caught}/{len(bad)} = {caught / len(bad):.1%} ({unverified} of them as 'cannot verify')")
    print(f"false positives: {flagged}/{len(good)} = {flagged / len(good):.1%}")
    print(f"time: {per_cmd:.0f} us per command")
    for c, r in bad_verdicts:
        if r is None or verbose:
            print(f"  {'MISS' if r is None else 'ok  '} {c!r}" + (f" -> {r}" if r else ""))
    for c, r in good_verdicts:
        if r is not None or verbose:
            print(f"  {'FP  ' if r else 'ok  '} {c!r}" + (f" -> {r}" if r else ""))


if __name__ == "__main__":
    main()
