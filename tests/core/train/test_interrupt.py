"""Interruption: SIGKILL between checkpoints then resume gives the same losses; SIGTERM checkpoints and exits."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.cli import main
from core.errors import EXIT_INTERRUPTED, EXIT_KILLED
from core.events import read_events
from core.runs import complete_checkpoints

ROOT = Path(__file__).resolve().parents[3]


def start_run(preset: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli", "run", str(preset), *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def wait_for(run_root: Path, cond, timeout: float = 120) -> Path:
    deadline = time.time() + timeout
    while time.time() < deadline:
        runs = [p for p in run_root.glob("*") if (p / "events.jsonl").is_file()]
        if runs and cond(read_events(runs[0] / "events.jsonl")):
            return runs[0]
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def step_losses(events: list[dict]) -> dict[int, float]:
    """The loss of each step, the last report winning (a resumed run repeats steps)."""
    return {e["step"]: e["loss"] for e in events if e["type"] == "step"}


SLOW = "[train]\nmax_steps = 12\nsave_every = 4\nsave_limit = 5\n[eval]\nevery = 100\nsample_every = 100\n"


def test_sigkill_then_resume_matches_an_uninterrupted_run(tiny_preset, tmp_path, monkeypatch):
    reference_root = tmp_path / "ref"
    monkeypatch.setenv("TUNER_RUNS_DIR", str(reference_root))
    assert main(["run", str(tiny_preset(SLOW, name="ref"))]) == 0
    (ref_run,) = reference_root.iterdir()
    expected = step_losses(read_events(ref_run / "events.jsonl"))
    assert sorted(expected) == list(range(1, 13))

    killed_root = tmp_path / "killed"
    monkeypatch.setenv("TUNER_RUNS_DIR", str(killed_root))
    proc = start_run(tiny_preset(SLOW, name="killed"))
    run = wait_for(killed_root, lambda evs: any(e["type"] == "step" and e["step"] >= 6 for e in evs))
    os.killpg(proc.pid, signal.SIGKILL)  # between checkpoint 4 and checkpoint 8
    proc.wait(30)
    assert [p.name for p in complete_checkpoints(run)] == ["checkpoint-4"]
    assert read_events(run / "events.jsonl")[-1]["type"] == "step", "no final event: the process was killed"

    assert main(["run", "--resume", str(run)]) == 0
    evs = read_events(run / "events.jsonl")
    resumed = evs[[i for i, e in enumerate(evs) if e["type"] == "run_started"][-1] :]
    assert resumed[0]["resumed_from"].endswith("checkpoint-4")
    got = step_losses(resumed)
    assert sorted(got) == list(range(5, 13))
    for step in range(5, 13):
        assert got[step] == pytest.approx(expected[step], rel=1e-5, abs=1e-6), step
    assert evs[-1]["type"] == "finished"


def test_sigterm_finishes_the_step_checkpoints_and_exits_interrupted(tiny_preset, tmp_path):
    proc = start_run(tiny_preset(SLOW.replace("max_steps = 12", "max_steps = 400")))
    run = wait_for(tmp_path / "runs", lambda evs: any(e["type"] == "step" and e["step"] >= 2 for e in evs))
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(120) == EXIT_INTERRUPTED, proc.stderr.read().decode()
    last = read_events(run / "events.jsonl")[-1]
    assert last["type"] == "finished" and last["status"] == "interrupted" and last["reason"] == "signal"
    assert complete_checkpoints(run)[-1].name == f"checkpoint-{last['step']}"
    assert (run / "adapter" / "adapter_model.safetensors").is_file()


def test_resume_skips_an_incomplete_checkpoint(tiny_preset, tmp_path, capsys):
    assert main(["run", str(tiny_preset(SLOW.replace("max_steps = 12", "max_steps = 8")))]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    broken = run / "checkpoints" / "checkpoint-8"
    (broken / "COMPLETE").unlink()  # as if killed mid-save
    assert main(["run", "--resume", run.name, "--max-steps", "8"]) == 0
    evs = read_events(run / "events.jsonl")
    warnings = [e for e in evs if e["type"] == "warning" and "incomplete" in e["message"]]
    assert warnings and [e for e in evs if e["type"] == "run_started"][-1]["resumed_from"].endswith(
        "checkpoint-4"
    )


def test_a_second_trainer_on_the_same_run_is_refused_naming_the_first(tiny_preset, tmp_path):
    """`tuner run --resume` typed in a second SSH session while the run trains: refused, nothing written."""
    from core.runs import list_runs

    first = start_run(tiny_preset(SLOW.replace("max_steps = 12", "max_steps = 400")))
    try:
        run = wait_for(
            tmp_path / "runs", lambda evs: any(e["type"] == "step" and e["step"] >= 2 for e in evs)
        )
        before = (run / "events.jsonl").read_bytes()
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        second = subprocess.run(
            [sys.executable, "-m", "core.cli", "run", "--resume", str(run)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 2
        lines = [ln for ln in second.stderr.splitlines() if ln.strip()]
        assert len(lines) <= 2 and f"already being trained by pid {first.pid}" in second.stderr, second.stderr
        assert "Traceback" not in second.stderr
        assert (run / "events.jsonl").read_bytes().startswith(before)
        assert [e["type"] for e in read_events(run / "events.jsonl")].count("run_started") == 1
        assert list_runs(tmp_path / "runs")[0].status == "running"
    finally:
        os.killpg(first.pid, signal.SIGTERM)
        assert first.wait(120) == EXIT_INTERRUPTED, first.stderr.read().decode()
    # the lock died with its holder: the run resumes now
    assert (
        main(
            [
                "run",
                "--resume",
                str(run),
                "--max-steps",
                str(read_events(run / "events.jsonl")[-1]["step"] + 1),
            ]
        )
        == 0
    )
    assert read_events(run / "events.jsonl")[-1]["status"] == "finished"


# A step-0 evaluation that takes a while on the tiny model: many val rows, long greedy generations.
LONG_EVAL = (
    "[train]\nmax_steps = 400\nsave_every = 1000\n[eval]\nevery = 1000\nmax_val_rows = 64\n"
    "exact_match_rows = 64\nmax_new_tokens = 256\nsample_every = 1000\n"
)


def test_sigterm_during_evaluation_abandons_it_checkpoints_and_exits_interrupted(tiny_preset, tmp_path):
    proc = start_run(tiny_preset(LONG_EVAL))
    run = wait_for(tmp_path / "runs", lambda evs: any(e["type"] == "run_started" for e in evs))
    time.sleep(1.0)  # inside the step-0 evaluation (val loss, then 64 generations of 256 tokens)
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(300) == EXIT_INTERRUPTED, proc.stderr.read().decode()[-3000:]
    evs = read_events(run / "events.jsonl")
    stopping = [e for e in evs if e["type"] == "warning" and e["kind"] == "stopping"]
    assert len(stopping) == 1 and "SIGTERM" in stopping[0]["message"]
    # the signal lands in the validation loss or in the 64 generations after it: either is abandoned
    assert not [e for e in evs if e["type"] == "sample"]
    assert all(e["exact_match"] is None for e in evs if e["type"] == "eval"), "generation was cut short"
    last = evs[-1]
    assert last["type"] == "finished" and last["status"] == "interrupted" and last["reason"] == "signal"
    assert [p.name for p in complete_checkpoints(run)] == [f"checkpoint-{last['step']}"] and last["step"] <= 2


def test_a_second_sigterm_ends_at_once_and_still_says_so(tiny_preset, tmp_path):
    proc = start_run(tiny_preset(LONG_EVAL))
    run = wait_for(tmp_path / "runs", lambda evs: any(e["type"] == "run_started" for e in evs))
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGTERM)
    wait_for(tmp_path / "runs", lambda evs: any(e.get("kind") == "stopping" for e in evs))
    # Kaggle/systemd: SIGTERM, then again (or SIGKILL) after a grace period
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(300) == EXIT_KILLED, proc.stderr.read().decode()[-3000:]
    last = read_events(run / "events.jsonl")[-1]
    assert last["type"] == "finished" and last["status"] == "interrupted"
    assert not list((run / "checkpoints").glob("checkpoint-*")) if (run / "checkpoints").exists() else True


def resumed_part(run: Path) -> list[dict]:
    """The events of the run's last (resumed) process."""
    evs = read_events(run / "events.jsonl")
    return evs[[i for i, e in enumerate(evs) if e["type"] == "run_started"][-1] :]


def test_a_run_killed_after_its_last_checkpoint_resumes_to_its_end_without_a_step_more(tiny_preset, tmp_path):
    from safetensors.torch import load_file

    assert main(["run", str(tiny_preset(SLOW.replace("max_steps = 12", "max_steps = 6")))]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    # as if SIGKILLed between the final checkpoint and the adapter save: no adapter/, no final event
    shutil.rmtree(run / "adapter")
    lines = (run / "events.jsonl").read_text().splitlines()
    (run / "events.jsonl").write_text("".join(ln + "\n" for ln in lines if '"finished"' not in ln))
    assert main(["run", "--resume", str(run)]) == 0
    resumed = resumed_part(run)
    assert resumed[0]["resumed_from"].endswith("checkpoint-6")
    # the Trainer checks max_steps after a step: it would have trained step 7 of 6
    assert not [e for e in resumed if e["type"] == "step"]
    assert not [e for e in resumed if e["type"] == "eval"], "the final evaluation was done before the kill"
    last = resumed[-1]
    assert (last["type"], last["status"], last["step"], last["reason"]) == (
        "finished",
        "finished",
        6,
        "max_steps",
    )
    saved = load_file(run / "adapter" / "adapter_model.safetensors")
    checkpoint = load_file(run / "checkpoints" / "checkpoint-6" / "adapter_model.safetensors")
    assert saved.keys() == checkpoint.keys() and all((saved[k] == checkpoint[k]).all() for k in saved)


def test_sigterm_during_the_final_evaluation_then_resume_ends_at_max_steps_with_a_val_loss(
    tiny_preset, tmp_path
):
    # no step-0 evaluation: the long one is the final evaluation, at step 2
    proc = start_run(
        tiny_preset(LONG_EVAL.replace("max_steps = 400", "max_steps = 2") + "before_training = false\n")
    )
    run = wait_for(tmp_path / "runs", lambda evs: any(e["type"] == "step" and e["step"] == 2 for e in evs))
    os.killpg(proc.pid, signal.SIGTERM)  # in step 2's final evaluation (val loss, then 64 long generations)
    assert proc.wait(300) == EXIT_INTERRUPTED, proc.stderr.read().decode()[-3000:]
    assert [p.name for p in complete_checkpoints(run)] == ["checkpoint-2"]
    assert read_events(run / "events.jsonl")[-1]["status"] == "interrupted"
    short = ["--set", "eval.exact_match_rows=4", "--set", "eval.max_new_tokens=8"]  # a quicker evaluation
    assert main(["run", "--resume", str(run), *short]) == 0
    evs = read_events(run / "events.jsonl")
    assert max(e["step"] for e in evs if e["type"] == "step") == 2
    # the val loss at step 2: measured before the signal, or (abandoned) by the resume
    assert [e["val_loss"] is not None for e in evs if e["type"] == "eval" and e["step"] == 2][-1:] == [True]
    assert (evs[-1]["type"], evs[-1]["status"], evs[-1]["step"]) == ("finished", "finished", 2)
    assert (run / "adapter" / "adapter_model.safetensors").is_file()
