"""Benchmark reading run directories as they grow: listing runs and opening one in the Monitor.

Usage: .venv/bin/python bench/runs_scale.py [--sizes 10,10000,300000,1000000] [--small 1000]
       [--repeat 3] [--dir DIR] [--src TREE]

Generates one run directory per size (run_started, N step events like the trainer writes them,
an eval every 100 steps, a checkpoint every 1,000, a `finished` event) and --small run
directories of ten events each, then measures, each in a fresh subprocess (median time of
--repeat, peak RSS from /proc/self/status VmHWM):

- `tuner runs`: core.runs.list_runs over a root holding that one run;
- TUI runs list: the first RunsScanner.scan() (one summary-only RunWatch per run);
- Monitor first paint: the first RunWatch.poll() (everything the Monitor needs to paint);
- Monitor history: the polls until the skipped middle of a long file has been read (the
  Monitor polls every 0.5 s, so this is spread over that many polls, after the first paint).

--dir keeps the generated runs there (reused when present); --src runs the measurements against
another source tree (e.g. `git archive HEAD | tar -x -C /tmp/before`) for a before/after table.
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_790_000_000.0

# One step line as EventWriter writes it (key order, separators), values filled per step.
STEP = (
    '{"v": 1, "type": "step", "time": %.6f, "step": %d, "max_steps": %d, "epoch": %.4f, "loss": %.16f, '
    '"lr": %.16f, "grad_norm": %.16f, "tokens": %d, "tokens_per_s": %.14f, "samples_per_s": %.16f, '
    '"elapsed_s": %.14f, "eta_s": %.14f, "nonfinite_skipped": 0, "memory": {"rss_bytes": %d, '
    '"sys_used_bytes": 9876543210, "sys_total_bytes": 25276502016, "accel_allocated_bytes": 3456789012, '
    '"accel_reserved_bytes": 4567890123, "accel_peak_bytes": 5678901234, "gpu_util_pct": 97.0}}\n'
)
EVAL = (
    '{"v": 1, "type": "eval", "time": %.6f, "step": %d, "val_loss": %.16f, "perplexity": %.16f, '
    '"exact_match": null, "exact_match_rows": 0, "syntax_valid": null}\n'
)
CKPT = (
    '{"v": 1, "type": "checkpoint", "time": %.6f, "step": %d, "path": "checkpoints/checkpoint-%d", '
    '"is_best": false, "val_loss": null}\n'
)


def started_line(run_dir: Path, max_steps: int) -> str:
    return (
        json.dumps(
            {
                "v": 1,
                "type": "run_started",
                "time": T0,
                "run": run_dir.name,
                "run_dir": str(run_dir),
                "preset": "bench",
                "model": "org/model-7b",
                "device": "cuda",
                "dtype": "bfloat16",
                "adapter": "lora",
                "trainable_params": 4884480,
                "total_params": 7000000000,
                "train_rows": 10_000_000,
                "val_rows": 5000,
                "dropped_too_long": 0,
                "max_steps": max_steps,
                "epochs": 1.0,
                "micro_batch_size": 8,
                "grad_accum": 4,
                "max_seq_len": 2048,
                "batching": "length_grouped",
                "pid": 4194301,
                "resumed_from": None,
                "world_size": 1,
                "xla_cores": 1,
            }
        )
        + "\n"
    )


def write_run(run_dir: Path, steps: int) -> None:
    """A finished run with `steps` step events (~600 bytes each), written in large batches."""
    run_dir.mkdir(parents=True)
    (run_dir / "preset.toml").write_text('name = "bench"\n[model]\nid = "org/model-7b"\n')
    n = max(steps, 1)
    with open(run_dir / "events.jsonl", "w", encoding="utf-8") as f:
        f.write(started_line(run_dir, n))
        batch = []
        for s in range(1, steps + 1):
            t = T0 + s * 0.9
            loss = 2.0 / (1 + s / 5000) + 0.05 * ((s * 7919) % 101) / 101
            batch.append(
                STEP
                % (
                    t,
                    s,
                    n,
                    s / n,
                    loss,
                    2e-4 * (1 - s / n),
                    0.5 + (s % 13) / 10,
                    65536,
                    72817.123456789,
                    35.5512345678,
                    s * 0.9,
                    (n - s) * 0.9,
                    20_000_000_000 + s,
                )
            )
            if s % 100 == 0:
                val = 2.1 / (1 + s / 5000)
                batch.append(EVAL % (t, s, val, 2.718281828 ** min(val, 50)))
            if s % 1000 == 0:
                batch.append(CKPT % (t, s, s))
            if len(batch) >= 20000:
                f.write("".join(batch))
                batch.clear()
        f.write("".join(batch))
        f.write(
            json.dumps(
                {
                    "v": 1,
                    "type": "finished",
                    "time": T0 + n,
                    "status": "finished",
                    "step": steps,
                    "adapter_dir": str(run_dir / "adapter"),
                    "best_checkpoint": None,
                    "best_val_loss": 2.1 / (1 + steps / 5000) if steps >= 100 else None,
                    "elapsed_s": n * 0.9,
                    "reason": "max_steps",
                }
            )
            + "\n"
        )


def check_format(path: Path) -> None:
    """The generated step line is what EventWriter writes: same keys, parses as an event."""
    sys.path.insert(0, str(ROOT))
    from core.events import Step, parse_line, to_record

    with open(path, "rb") as f:
        f.readline()
        rec = parse_line(f.readline())
    assert rec is not None and list(rec) == list(
        to_record(Step(step=1, max_steps=1, epoch=0, loss=0, lr=0))
    ), rec


# Peak RSS is VmHWM, the high-water mark of this process's own memory: getrusage's ru_maxrss
# keeps the parent's across fork and exec, so a child of a big parent reads as big.
CHILD = r"""
import json, sys, time
from pathlib import Path
def hwm():
    with open("/proc/self/status") as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:"))
what, path = sys.argv[1], Path(sys.argv[2])
if what == "list":
    from core.runs import list_runs
elif what == "scan":
    from tuner_tui.watch import RunsScanner
else:
    from tuner_tui.watch import RunWatch
base = hwm()
t = time.perf_counter()
if what == "list":
    n = len(list_runs(path))
elif what == "scan":
    n = len(RunsScanner(path).scan())
else:
    watch = RunWatch(path)
    view = watch.poll().view
    n = len(view.train_loss)
    if what == "history":
        polls = 0
        while getattr(watch.view(), "partial", False):
            watch.poll()
            polls += 1
        n = polls
dt = time.perf_counter() - t
peak = hwm()
print(json.dumps({"s": dt, "peak_kib": peak, "base_kib": base, "n": n}))
"""


def measure(what: str, path: Path, src: Path, repeat: int) -> dict:
    """Median time and largest peak RSS of `repeat` fresh processes."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, what, str(path)],
            capture_output=True,
            text=True,
            env=env,
            cwd=str(src),
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        "s": statistics.median(r["s"] for r in runs),
        "peak_mib": max(r["peak_kib"] for r in runs) / 1024,
        "base_mib": min(r["base_kib"] for r in runs) / 1024,
        "n": runs[0]["n"],
    }


def cell(m: dict) -> str:
    return f"{m['s']:.3f} s, {m['peak_mib']:.0f} MiB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10,10000,300000,1000000")
    ap.add_argument(
        "--small", type=int, default=1000, help="run directories of 10 events for the listing row"
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--dir", type=Path, help="where the runs are generated (kept, reused); default a temp dir"
    )
    ap.add_argument("--src", type=Path, default=ROOT, help="source tree to measure (default this one)")
    args = ap.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="runs-scale-"))
    sizes = [int(s) for s in args.sizes.split(",") if s]
    rows = []
    try:
        for n in sizes:
            root = base / f"n{n}"
            run = root / f"bench-{n}-20260101-000000"
            if not (run / "events.jsonl").is_file():
                shutil.rmtree(root, ignore_errors=True)
                t = time.perf_counter()
                write_run(run, n)
                print(f"wrote {n:,} steps in {time.perf_counter() - t:.1f} s", file=sys.stderr)
            check_format(run / "events.jsonl")
            size = (run / "events.jsonl").stat().st_size
            row = {
                w: measure(w, root if w in ("list", "scan") else run, args.src, args.repeat)
                for w in ("list", "scan", "poll", "history")
            }
            rows.append((f"{n:,}", f"{size / 2**20:,.1f} MiB", row))
        small = base / f"small{args.small}"
        if args.small and not small.is_dir():
            for i in range(args.small):
                write_run(small / f"r{i:04d}-20260101-000000", 8)
        if args.small:
            rows.append(
                (
                    f"{args.small:,} runs × 10",
                    "",
                    {
                        "list": measure("list", small, args.src, args.repeat),
                        "scan": measure("scan", small, args.src, args.repeat),
                    },
                )
            )
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)
    bare = min(m["base_mib"] for _, _, row in rows for m in row.values())
    print(
        f"\nsource: {args.src}; time: median of {args.repeat} fresh processes; peak RSS: VmHWM "
        f"(a bare process after its imports: {bare:.0f} MiB)\n"
    )
    print(
        "| step events | events.jsonl | `tuner runs` (list_runs) | TUI runs list (first scan) "
        "| Monitor first paint (first RunWatch poll) "
        "| Monitor history (first poll + the polls that read the middle) |"
    )
    print("|---|---|---|---|---|---|")
    for name, size, row in rows:
        hist = row.get("history")
        polls = f"{hist['n']} poll{'s' if hist and hist['n'] != 1 else ''}" if hist else ""
        hist_s = "–" if hist is None else (f"{cell(hist)} in {polls}" if hist["n"] else "nothing skipped")
        poll = row.get("poll")
        print(
            f"| {name} | {size} | {cell(row['list'])} | {cell(row['scan'])} | "
            f"{cell(poll) if poll else '–'} | {hist_s} |"
        )


if __name__ == "__main__":
    main()
