"""Detached launches: own session, no stdin, log file; stop by SIGTERM; resume; the real trainer (slow)."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from core.runs import run_info
from tuner_tui import launcher
from tuner_tui.watch import RunWatch

# A stand-in trainer: creates a run dir, keeps train.log open, writes events, stops on SIGTERM
# with an 'interrupted' final event (what the real trainer does after checkpointing).
FAKE_TRAINER = r"""
import json, os, signal, sys, time
root = sys.argv[1]
run = os.path.join(root, "fake-20261121-000000")
os.makedirs(run, exist_ok=True)
open(os.path.join(run, "preset.toml"), "w").write('name = "fake"\n')
log = open(os.path.join(run, "train.log"), "a", buffering=1)
ev = open(os.path.join(run, "events.jsonl"), "a", buffering=1)
def emit(rec):
    rec = {"v": 1, "time": time.time(), **rec}
    ev.write(json.dumps(rec) + "\n")
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
emit({"type": "run_started", "run": os.path.basename(run), "run_dir": run, "preset": "fake", "model": "m",
      "device": "cpu", "dtype": "float32", "adapter": "lora", "trainable_params": 1, "total_params": 2,
      "train_rows": 1, "val_rows": 1, "dropped_too_long": 0, "max_steps": 400, "epochs": 1.0,
      "micro_batch_size": 1, "grad_accum": 1, "max_seq_len": 8, "batching": "pad_to_max", "pid": os.getpid()})
step = 0
while not stop and step < 400:
    step += 1
    emit({"type": "step", "step": step, "max_steps": 400, "epoch": 0.0, "loss": 1.0 / step, "lr": 1e-3})
    log.write(f"step {step}\n")
    time.sleep(0.05)
emit({"type": "finished", "status": "interrupted" if stop else "finished", "step": step, "adapter_dir": "",
      "best_checkpoint": None, "best_val_loss": None, "elapsed_s": 1.0, "reason": "signal" if stop else "max_steps"})
"""


def wait_for(predicate, timeout=20.0, every=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out")


def test_argv_and_overrides(tmp_path):
    argv = launcher.build_argv("quickstart", overrides=["train.lr=0.0005"], max_steps=3, root=tmp_path)
    assert argv[1:5] == ["-m", "core.cli", "run", "quickstart"]
    assert argv[argv.index("--set") + 1] == "train.lr=0.0005"
    assert argv[argv.index("--max-steps") + 1] == "3"
    assert argv[-2:] == ["--runs-dir", str(tmp_path)]
    resume = launcher.build_argv(resume="/r/x", root=tmp_path)
    assert resume[4:6] == ["--resume", "/r/x"]
    assert launcher.overrides_from(
        {
            "train.lr": 5e-4,
            "lora.target_modules": ["q_proj", "v_proj"],
            "train.adapter": "lora",
            "data.sources": [{"kind": "file", "path": "d.jsonl", "name": None}],
            "train.max_steps": 7,
        }
    ) == [
        "train.lr=0.0005",
        'lora.target_modules=["q_proj", "v_proj"]',
        'train.adapter="lora"',
        'data.sources=[{kind = "file", path = "d.jsonl"}]',
        "train.max_steps=7",
    ]


def test_override_values_parse_back_like_the_cli():
    from core.config.loader import parse_override

    for key, value in [
        ("train.lr", 1e-4),
        ("lora.target_modules", ["a", "b"]),
        ("model.id", "Qwen/x y"),
        ("data.sources", [{"kind": "hub", "id": "o/n"}]),
        ("quant.bits", 4),
    ]:
        item = launcher.overrides_from({key: value})[0]
        assert parse_override(item) == (key.split("."), value)


def test_launch_argv_parses_with_the_cli(tmp_path):
    """What the TUI launches is a command line `tuner run` accepts: the smoke flag, overrides, the runs folder."""
    from core.cli import build_parser

    argv = launcher.build_argv("quickstart", overrides=["train.lr=0.0005"], smoke=True, root=tmp_path)
    assert argv[1:4] == ["-m", "core.cli", "run"]
    args = build_parser().parse_args(argv[3:])
    assert args.smoke is True and args.runs_dir == str(tmp_path)
    assert "--max-steps" not in argv  # a smoke test is the CLI's own --smoke, not a step count
    plain = build_parser().parse_args(launcher.build_argv("quickstart", root=tmp_path)[3:])
    assert plain.smoke is False


def test_detached_launch_is_its_own_session_and_stops_on_sigterm(tmp_path):
    root = tmp_path / "runs"
    launch = launcher.launch(argv=[sys.executable, "-c", FAKE_TRAINER, str(root)], root=root, target="fake")
    try:
        assert os.getsid(launch.pid) == launch.pid != os.getsid(0)  # new session: no SIGHUP from our terminal
        assert os.readlink(f"/proc/{launch.pid}/fd/0") == "/dev/null"
        run_dir = wait_for(lambda: launcher.find_run_dir(launch))
        assert run_dir == root / "fake-20261121-000000"
        # niced, so a CPU-bound run leaves the TUI its keystrokes; `nice` execs, the pid is the trainer's
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, launch.pid) == min(19, ours + launcher.TRAINER_NICE)
        watch = RunWatch(run_dir, launch)
        wait_for(
            lambda: (watch.poll() or True) and watch.state.summary.step and watch.state.summary.step >= 3
        )
        assert run_info(run_dir).status == "running"
        pid = launcher.stop_run(run_dir)
        assert pid == launch.pid
        wait_for(lambda: launch.poll() is not None)
        assert run_info(run_dir).status == "interrupted"
        assert launch.log_path.read_text().startswith("$ ")
        with pytest.raises(launcher.StopError):
            launcher.stop_run(run_dir)
    finally:
        if launch.poll() is None:
            os.kill(launch.pid, signal.SIGKILL)
            launch.popen.wait()


def test_resume_refuses_running_and_finished_runs(runs_dir, live_run):
    with pytest.raises(launcher.StopError, match="finished"):
        launcher.resume(runs_dir / "quickstart-20261121-101335", root=runs_dir)
    with pytest.raises(launcher.StopError, match="running"):
        launcher.resume(live_run, root=live_run.parent)


def test_a_launch_that_fails_before_creating_a_run_dir_shows_why(tmp_path):
    root = tmp_path / "runs"
    launch = launcher.launch("no-such-preset-xyz", root=root)
    watch = RunWatch(None, launch)
    wait_for(lambda: launch.poll() is not None, timeout=60)
    update = watch.poll()
    assert update.view.status == "failed"
    text = "\n".join(update.log_lines)
    assert "no preset named" in text and "exited with code 2" in text


@pytest.mark.slow
def wait_while_progressing(predicate, progress, stall=300.0, every=0.5):
    """Wait for `predicate`; fail only when `progress()` has not changed for `stall` seconds.

    A niced trainer on a busy 2-core machine can be slow without being stuck: no deadline on the whole.
    """
    last, since = progress(), time.monotonic()
    while not predicate():
        now_progress = progress()
        if now_progress != last:
            last, since = now_progress, time.monotonic()
        elif time.monotonic() - since > stall:
            raise AssertionError(f"no progress for {stall:.0f} s")
        time.sleep(every)


@pytest.mark.timeout(3600)  # the stall rule below is the real limit
def test_real_trainer_three_steps(tmp_path):
    """`tuner run quickstart --max-steps 3`, detached, followed to the end through the run directory."""
    root = tmp_path / "runs"
    launch = launcher.launch(
        "quickstart",
        max_steps=3,
        root=root,
        overrides=[
            "eval.every=3",
            "eval.sample_every=3",
            "eval.max_val_rows=8",
            "eval.exact_match_rows=0",
            "log.every=1",
        ],
    )
    try:
        watch = RunWatch(None, launch)

        def done():
            watch.poll()
            return watch.state.summary.final is not None or (launch.poll() not in (None, 0))

        def output_size():
            return launch.log_path.stat().st_size if launch.log_path.exists() else 0

        wait_while_progressing(done, output_size)
        assert watch.state.summary.final_status == "finished", launch.log_path.read_text()[-2000:]
        assert [s for s, _ in watch.state.train_loss] == [1, 2, 3]
        assert watch.run_dir is not None and Path(watch.run_dir).parent == root
    finally:
        if launch.poll() is None:
            os.kill(launch.pid, signal.SIGKILL)
            launch.popen.wait()


def test_a_run_being_resumed_elsewhere_shows_running_and_is_not_resumed_again(runs_dir, tmp_path):
    """Its last event is an old `interrupted`, but a trainer (here: this process) holds its lock."""
    import shutil

    from core.run_lock import acquire
    from core.runs import run_info

    run = tmp_path / "quickstart-20261121-101335"
    shutil.copytree(runs_dir / "quickstart-20261121-101335", run)
    with open(run / "events.jsonl", "a") as f:  # make it an interrupted run that could be resumed
        f.write(
            '{"v": 1, "type": "finished", "time": 1.0, "status": "interrupted", "step": 5, "adapter_dir": "", '
            '"reason": "signal", "elapsed_s": 1.0}\n'
        )
    assert run_info(run).status == "interrupted"
    lock = acquire(run)
    try:
        assert run_info(run).status == "running" and run_info(run).pid == os.getpid()
        with pytest.raises(launcher.StopError, match="running"):
            launcher.resume(run, root=tmp_path)
    finally:
        lock.release()
    assert run_info(run).status == "interrupted"
