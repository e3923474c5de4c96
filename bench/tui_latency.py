"""Benchmark tuner-tui in a real terminal: first paint, and key latency while a run is training hard.

Usage: .venv/bin/python bench/tui_latency.py [--rate 500] [--keys 60] [--size 100x30] [--mode tmux|pilot]
       .venv/bin/python bench/tui_latency.py --real-run quickstart   (keys while a real run trains;
       TUNER_TRAINER_NICE=0 to launch it un-niced)

tmux mode (default when tmux is installed) starts `tuner-tui` in a detached tmux session, the
way a user over SSH sees it, and reads the screen with `tmux capture-pane`:

- first paint: process start → the pane bar is on screen, --starts launches each of `tuner-tui`
  and of `tuner-tui --data DIR` (which opens on the Data pane and loads a 100K-row table);
- key latency: `tmux send-keys` → the TUI has written the frame that shows the result, for pane
  switches (1–5) and for paging a 100K-row table, while a fake trainer appends --rate events/s
  (plus as many log lines) to a run the monitor is following, or a real run trains (--real-run).
  --observe output (default) reads the TUI's output as tmux receives it (`pipe-pane` into a
  FIFO: nothing polls) and stamps the last byte of the burst after which `capture-pane` shows
  the result; --observe poll runs `capture-pane` every --poll-ms instead (each poll forks a
  tmux client, which competes with the TUI for the CPU). Both include tmux's own delivery of
  the key and of the output, so they are upper bounds on the TUI's time.
- --trace also reports the TUI's own share: key read by the TUI → frame handed to the terminal.
- --load N adds N busy processes at the launcher's niceness (each a 1-thread torch matmul loop,
  what a CPU trainer does), to measure on a busy CPU without waiting for a real run to load.

pilot mode measures first paint only (process start → first refresh, headless).
Prints a markdown table; nothing is left running.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
TUI = [PY, "-m", "tuner_tui.app"]

# A fake trainer: its own pid in run_started (so the run is "running"), then steps as fast as asked.
WRITER = r"""
import json, os, sys, time
run, rate = sys.argv[1], float(sys.argv[2])
os.makedirs(run, exist_ok=True)
open(os.path.join(run, "preset.toml"), "w").write('name = "bench"\n')
ev = open(os.path.join(run, "events.jsonl"), "a", buffering=1)
log = open(os.path.join(run, "train.log"), "a", buffering=1)
def emit(rec):
    ev.write(json.dumps({"v": 1, "time": time.time(), **rec}) + "\n")
emit({"type": "run_started", "run": os.path.basename(run), "run_dir": run, "preset": "bench", "model": "m",
      "device": "cpu", "dtype": "float32", "adapter": "lora", "trainable_params": 1, "total_params": 2,
      "train_rows": 1, "val_rows": 1, "dropped_too_long": 0, "max_steps": 10**9, "epochs": 1.0,
      "micro_batch_size": 8, "grad_accum": 1, "max_seq_len": 256, "batching": "length_grouped", "pid": os.getpid()})
step, t0 = 0, time.time()
while True:
    step += 1
    emit({"type": "step", "step": step, "max_steps": 10**9, "epoch": 0.0, "loss": 2 + 1 / step ** 0.5,
          "lr": 1e-3, "tokens": 1000, "tokens_per_s": 180.0 + step % 7, "samples_per_s": 3.0,
          "elapsed_s": time.time() - t0, "eta_s": 1e6, "nonfinite_skipped": 0,
          "memory": {"rss_bytes": 2e9 + step, "sys_used_bytes": 3e9, "sys_total_bytes": 2.5e10}})
    log.write(f"step {step} loss {2 + 1 / step ** 0.5:.4f}\n")
    if step % 100 == 0:
        emit({"type": "eval", "step": step, "val_loss": 2.3, "perplexity": 10.0})
        emit({"type": "sample", "step": step, "samples": [{"prompt": "list files", "output": "ls -la",
              "command": "ls -la", "dangerous": None}]})
    time.sleep(max(0.0, t0 + step / rate - time.time()))
"""

# A CPU-bound stand-in for a trainer: one thread of fp32 matmuls, forever.
LOAD = r"""
import torch
torch.set_num_threads(1)
a = torch.randn(512, 512)
while True:
    a = torch.tanh(a @ a)
"""

MARKERS = {
    "1": "or a data file path",
    "2": "LoRA targets",
    "3": "tokens/s",
    "4": "nothing generated is ever executed",
    "5": "best val",
}


SOCKET = f"tuner-bench-{os.getpid()}"  # a private tmux server: other sessions are never touched


def tmux(*args: str, check: bool = True) -> str:
    for _attempt in range(3):
        out = subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True)
        if out.returncode == 0 or "server exited unexpectedly" not in out.stderr:
            break
        time.sleep(0.2)  # the previous session's server was still shutting down
    if check and out.returncode != 0:
        raise RuntimeError(f"tmux {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def capture(session: str) -> str:
    return tmux("capture-pane", "-t", session, "-p", check=False)


def wait_screen(session: str, predicate, timeout: float = 10.0, every: float = 0.002) -> float | None:
    """Seconds until predicate(screen) holds (None on timeout)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if predicate(capture(session)):
            return time.perf_counter() - t0
        time.sleep(every)
    return None


class OutputWatch:
    """The TUI's output as tmux receives it (`pipe-pane` into a FIFO): key → frame, without polling."""

    GAP = 0.008  # a burst ends after this long without output (Textual writes a frame in one go)

    def __init__(self, session: str, work: Path) -> None:
        self.session = session
        fifo = Path(tempfile.mktemp(prefix="pane-output-", suffix=".fifo", dir=work))
        os.mkfifo(fifo)
        self.fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open first: tmux's `cat` then never blocks
        tmux("pipe-pane", "-t", session, f"cat > {fifo}")
        self.drain()

    def drain(self) -> None:
        """Forget output written so far (the previous key's trailing redraws)."""
        while select.select([self.fd], [], [], 0.0)[0]:
            try:
                if not os.read(self.fd, 1 << 16):
                    return
            except BlockingIOError:
                return

    def key(self, key: str, predicate, timeout: float = 5.0) -> float | None:
        """Send key; seconds until the end of the output burst after which predicate(screen) holds."""
        return self.until(lambda: tmux("send-keys", "-t", self.session, key), predicate, timeout, key)

    def until(self, trigger, predicate, timeout: float = 5.0, what: str = "") -> float | None:
        """Call trigger(); seconds until the end of the output burst after which predicate(screen) holds."""
        self.drain()
        t0 = time.perf_counter()
        trigger()
        last, pending = 0.0, False
        bursts: list[list[float]] = []  # [start, end, bytes] of each burst of output (for BENCH_DEBUG)
        while time.perf_counter() - t0 < timeout:
            if select.select([self.fd], [], [], self.GAP)[0]:
                try:
                    chunk = os.read(self.fd, 1 << 16)
                except BlockingIOError:
                    continue
                if chunk:
                    if not pending:
                        bursts.append([time.perf_counter() - t0, 0.0, 0])
                    last, pending = time.perf_counter(), True
                    bursts[-1][1:] = [last - t0, bursts[-1][2] + len(chunk)]
                continue
            if pending:  # a burst just ended: is the result on screen now?
                pending = False
                if predicate(capture(self.session)):
                    if os.environ.get("BENCH_DEBUG"):
                        print(
                            f"  {what}: "
                            + ", ".join(f"{a * 1000:.0f}–{b * 1000:.0f} ms {n} B" for a, b, n in bursts)
                        )
                    return last - t0
        return None

    def close(self) -> None:
        tmux("pipe-pane", "-t", self.session, check=False)  # no command: stop piping
        os.close(self.fd)


def in_tui_latencies(trace_file: Path) -> list[float]:
    """From a bench/tui_traced.py trace: for each pane switch, the key's arrival → the next frame written."""
    out: list[float] = []
    key_t: float | None = None
    switching = False
    for line in trace_file.read_text().splitlines():
        t, what, *_ = line.split()
        if what == "key":
            key_t, switching = float(t), False
        elif what == "pane" and key_t is not None:
            switching = True
        elif what == "frame" and switching and key_t is not None:
            out.append(float(t) - key_t)
            key_t, switching = None, False
    return out[1:]  # the first switch is the bench's own "3" before measuring


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def synthetic_data_dir(root: Path, n: int) -> Path:
    """A built data directory with n train rows (what `tuner data build` writes)."""
    d = root / f"synthetic-{n}"
    d.mkdir(parents=True)
    with open(d / "train.jsonl", "w") as f:
        for i in range(n):
            f.write(
                json.dumps(
                    {
                        "instruction": f"list the files of project {i} sorted by size",
                        "command": f"ls -lS /srv/project{i}",
                        "source": "synthetic",
                        "row_id": f"s:{i}",
                        "category": "files",
                    }
                )
                + "\n"
            )
    for split in ("val", "test"):
        (d / f"{split}.jsonl").write_text("")
    (d / "rejected.jsonl").write_text("")
    (d / "report.json").write_text(
        json.dumps(
            {"sources": {"synthetic": {"loaded": n, "train": n}}, "steps_removed": {}, "splits": {"train": n}}
        )
    )
    (d / "manifest.json").write_text(
        json.dumps(
            {
                "data_hash": "x",
                "input_key": "x",
                "preset": "synthetic",
                "counts": {"train": n, "val": 0, "test": 0, "rejected": 0},
            }
        )
    )
    return d


def bench_tmux(args: argparse.Namespace) -> None:
    w, h = args.size.split("x")
    work = Path(tempfile.mkdtemp(prefix="tuner-tui-bench-"))
    runs = work / "runs"
    run = runs / "bench-20261121-000000"
    env = {
        "TUNER_RUNS_DIR": str(runs),
        "TUNER_PRESETS_DIR": str(work / "presets"),
        "TUNER_HISTORY_FILE": str(work / "history.jsonl"),
        "TUNER_DATA_DIR": str(work / "data"),
    }
    env_prefix = " ".join(f"{k}={v}" for k, v in env.items())
    data = synthetic_data_dir(work / "data", args.rows)
    if args.real_run:
        # A real run, started exactly as the Presets pane starts one (detached, niced).
        from tuner_tui import launcher

        launch = launcher.launch(args.real_run, root=runs)
        writer = launch.popen
        run = _wait_for_training(launch, launcher)
    else:
        writer = subprocess.Popen([PY, "-c", WRITER, str(run), str(args.rate)], stdin=subprocess.DEVNULL)
    loads = [
        subprocess.Popen(["nice", "-n", str(_nice()), PY, "-c", LOAD], stdin=subprocess.DEVNULL)
        for _ in range(args.load)
    ]
    session = f"tuner-bench-{os.getpid()}"
    trace_file = work / "trace.txt"
    results: dict[str, list[float]] = {}
    try:
        time.sleep(1.0)
        # ---- first paint
        # Each launch waits on a FIFO until the pane's output is piped to us: the clock starts when
        # the shell is released to exec the TUI, and nothing polls the screen meanwhile.
        go = work / "go.fifo"
        os.mkfifo(go)
        for extra, label in (
            ("", "`tuner-tui`"),
            (f" --data {data}", "`tuner-tui --data` (a 100K-row table)"),
        ):
            paints = []
            for _ in range(args.starts):
                tmux("kill-session", "-t", session, check=False)
                tui = [PY, str(ROOT / "bench" / "tui_traced.py"), str(trace_file)] if args.trace else TUI
                tmux(
                    "new-session",
                    "-d",
                    "-s",
                    session,
                    "-x",
                    w,
                    "-y",
                    h,
                    f"read _ < {go}; cd {ROOT} && exec env {env_prefix} {' '.join(tui)}{extra}",
                )
                # tmux holds an Escape for `escape-time` (500 ms) to pair it with the next key (Alt+key)
                tmux("set-option", "-s", "escape-time", "0")
                starting = OutputWatch(session, work)
                took = starting.until(
                    lambda: go.write_text("go\n"),
                    lambda s: "1 Data" in s and "5 Runs" in s,
                    timeout=30,
                    what="start",
                )
                starting.close()
                if took is not None:
                    paints.append(took)
                time.sleep(0.5)
            results[f"first paint: {label}, process start → pane bar"] = paints
        # ---- key latency, while the fake run writes events
        wait_screen(session, lambda s: "synthetic" in s and "rows" in s, timeout=30)
        time.sleep(2.0)
        watch = OutputWatch(session, work) if args.observe == "output" else None

        def press(key: str, predicate) -> float | None:
            if watch is not None:
                return watch.key(key, predicate)
            tmux("send-keys", "-t", session, key)
            return wait_screen(session, predicate, timeout=5, every=args.poll_ms / 1000)

        switches: list[float] = []
        per_pane: dict[str, list[float]] = {}
        sequence = "3" + "".join("12345"[i % 5] for i in range(args.keys))
        current = "1"
        for key in sequence:
            if key == current:
                continue
            marker = MARKERS[key]
            if current == "4":  # the playground's prompt has the focus: Escape first, as a user would
                tmux("send-keys", "-t", session, "Escape")
                time.sleep(0.3)  # Textual pairs an Escape with a key that follows within ESCDELAY (100 ms)
            took = press(key, lambda s, marker=marker: marker in s)
            if took is None and os.environ.get("BENCH_DEBUG"):
                print(f"--- no {marker!r} after key {key!r}:\n{capture(session)}")
            switches.append(took if took is not None else 5.0)
            per_pane.setdefault(key, []).append(switches[-1])
            current = key
            time.sleep(args.gap)
        results["pane switch (1–5)"] = switches
        for key, values in sorted(per_pane.items()):
            results[f"  → {key} {['Data', 'Presets', 'Monitor', 'Playground', 'Runs'][int(key) - 1]}"] = (
                values
            )
        # paging the 100K-row table
        tmux("send-keys", "-t", session, "1")
        wait_screen(session, lambda s: MARKERS["1"] in s)
        time.sleep(0.3)
        pages: list[float] = []
        for _ in range(args.keys):
            before = capture(session)
            took = press("PageDown", lambda s, before=before: s != before and "project" in s)
            pages.append(took if took is not None else 5.0)
            time.sleep(args.gap)
        results[f"page down in a {args.rows:,}-row table"] = pages
        if watch is not None:
            watch.close()
        if args.trace:  # next to the pane switch rows
            rows = list(results.items())
            at = 1 + max(i for i, (name, _) in enumerate(rows) if name.startswith(("pane switch", "  →")))
            rows.insert(at, ("  in the TUI: key read → frame written", in_tui_latencies(trace_file)))
            if os.environ.get("BENCH_DEBUG"):
                shutil.copy(trace_file, "/tmp/tui-trace.txt")
            results = dict(rows)
        # is the monitor still following? (the step shown keeps moving)
        tmux("send-keys", "-t", session, "3")
        time.sleep(1.0)
        s1 = capture(session)
        time.sleep(1.5)
        s2 = capture(session)
        following = s1 != s2
        with open(run / "events.jsonl", "rb") as f:
            events = sum(1 for _ in f)
    finally:
        tmux("kill-server", check=False)  # our private server only (-L)
        for proc in (writer, *loads):
            proc.terminate()
            proc.wait(timeout=120)
        shutil.rmtree(work, ignore_errors=True)
    what = (
        f"a real `{args.real_run}` run training (launched as the TUI launches, nice {_nice()})"
        if args.real_run
        else f"fake run writing {args.rate:g} events/s (+{args.rate:g} log lines/s)"
    )
    if args.load:
        what += f", {args.load} busy torch process{'es' if args.load > 1 else ''} at nice {_nice()}"
    how = (
        "key → frame read from the pane's output (pipe-pane)"
        if args.observe == "output"
        else f"key → screen, capture-pane every {args.poll_ms:g} ms"
    )
    print(f"\ntuner-tui latency — tmux {args.size}, {what}, {os.cpu_count()} CPUs; {how}\n")
    print("| measure | n | p50 | p95 | max |\n|---|---|---|---|---|")
    for name, values in results.items():
        if values:
            print(
                f"| {name} | {len(values)} | {statistics.median(values) * 1000:.0f} ms | "
                f"{pct(values, 95) * 1000:.0f} ms | {max(values) * 1000:.0f} ms |"
            )
    print(f"\nmonitor kept following the run: {'yes' if following else 'NO'} ({events:,} events written)")
    print("(each key sample includes tmux delivering the key and the TUI's output)")


def _nice() -> int:
    from tuner_tui.launcher import TRAINER_NICE

    return TRAINER_NICE


def _wait_for_training(launch, launcher, timeout: float = 600.0) -> Path:
    """The launched run's directory, once its first optimizer step is logged."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        run = launcher.find_run_dir(launch)
        if (
            run is not None
            and (run / "events.jsonl").is_file()
            and '"type": "step"' in (run / "events.jsonl").read_text()
        ):
            return run
        if launch.poll() is not None:
            raise SystemExit(f"the run ended before training: see {launch.log_path}")
        time.sleep(1.0)
    raise SystemExit(f"no training step after {timeout:.0f} s: see {launch.log_path}")


CHILD = r"""
import time, psutil, os
start = psutil.Process().create_time()
from tuner_tui.app import TunerApp
class Bench(TunerApp):
    painted = False
    def _display(self, screen, renderable):  # every screen update goes through here to the driver
        super()._display(screen, renderable)
        if not self.painted and renderable is not None:
            self.painted = True
            print(f"FIRST_PAINT {time.time() - start:.4f}", flush=True)
            self.set_timer(0.5, self.exit)
import asyncio
async def main():
    async with Bench().run_test(size=(100, 30)) as pilot:
        await pilot.pause(2)
asyncio.run(main())
"""


def bench_pilot(args: argparse.Namespace) -> None:
    values = []
    for _ in range(args.starts):
        out = subprocess.run([PY, "-c", CHILD], capture_output=True, text=True, cwd=ROOT, timeout=120)
        for line in out.stdout.splitlines():
            if line.startswith("FIRST_PAINT"):
                values.append(float(line.split()[1]))
    print("| measure | n | p50 | max |\n|---|---|---|---|")
    print(
        f"| first paint, headless (process start → first screen update) | {len(values)} | "
        f"{statistics.median(values) * 1000:.0f} ms | {max(values) * 1000:.0f} ms |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["tmux", "pilot"], default="tmux" if shutil.which("tmux") else "pilot")
    ap.add_argument("--rate", type=float, default=500.0, help="events per second written by the fake run")
    ap.add_argument("--keys", type=int, default=40, help="key presses per measure")
    ap.add_argument("--starts", type=int, default=5, help="launches for the first-paint median")
    ap.add_argument("--rows", type=int, default=100_000, help="rows in the data pane's table")
    ap.add_argument("--size", default="100x30", help="terminal size, WxH")
    ap.add_argument(
        "--poll-ms",
        type=float,
        default=2.0,
        help="screen polling interval (each poll forks a tmux client: on a busy CPU it competes with the TUI)",
    )
    ap.add_argument(
        "--gap",
        type=float,
        default=0.05,
        help="seconds between a key's result and the next key (0.05: keys as fast as the screen allows)",
    )
    ap.add_argument(
        "--trace",
        action="store_true",
        help="run the TUI through bench/tui_traced.py and also report its own key → frame time",
    )
    ap.add_argument(
        "--observe",
        choices=["output", "poll"],
        default="output",
        help="how a key's result is seen: the pane's output through a FIFO, or capture-pane polling",
    )
    ap.add_argument(
        "--load",
        type=int,
        default=0,
        metavar="N",
        help="N busy 1-thread torch processes at the launcher's niceness, for the whole measurement",
    )
    ap.add_argument(
        "--real-run",
        metavar="PRESET",
        help="measure while this preset really trains (e.g. quickstart), instead of the fake run",
    )
    args = ap.parse_args()
    (bench_tmux if args.mode == "tmux" else bench_pilot)(args)


if __name__ == "__main__":
    main()
