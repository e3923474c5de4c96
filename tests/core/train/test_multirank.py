"""Several ranks on the CPU over gloo: stopping together, SLURM's srun tasks, pre-emption and requeue.

Each test starts real processes the way the launcher would (torchrun, or the variables srun
sets) and reads the run directory back.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from core.errors import EXIT_INTERRUPTED
from core.events import read_events
from core.runs import complete_checkpoints

ROOT = Path(__file__).resolve().parents[3]
TUNER = str(Path(sys.executable).parent / "tuner")
LONG = (
    "[train]\nmax_steps = 300\nsave_every = 100\nsave_limit = 3\n[eval]\nevery = 100\nsample_every = 1000\n"
)


def free_port() -> int:
    """A port nobody listens on (every launch gets its own: the default 29500 may be taken)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(**extra: str) -> dict[str, str]:
    """The test's environment without any launcher's variables."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLURM_", "RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_"))
    }
    return dict(env, PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1", **extra)


def wait_for_step(root: Path, step: int, procs: list[subprocess.Popen], timeout: float = 240) -> Path:
    """The run directory once some step ≥ `step` is reported."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for run in root.glob("*/events.jsonl"):
            if any(e["type"] == "step" and e["step"] >= step for e in read_events(run)):
                return run.parent
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(
                    f"a rank exited early: {p.stderr.read().decode()[-3000:] if p.stderr else ''}"
                )
        time.sleep(0.1)
    raise AssertionError(f"no step {step} within {timeout} s")


def rank_process(launcher: subprocess.Popen, local_rank: int) -> psutil.Process:
    """The worker process of `local_rank` under torchrun."""
    for child in psutil.Process(launcher.pid).children(recursive=True):
        try:
            if child.environ().get("LOCAL_RANK") == str(local_rank) and "torchrun" not in " ".join(
                child.cmdline()
            ):
                return child
        except psutil.Error:
            continue
    raise AssertionError(f"no rank {local_rank} process")


def final(run: Path) -> dict:
    """The last finished/failed event."""
    ends = [e for e in read_events(run / "events.jsonl") if e["type"] in ("finished", "failed")]
    assert ends, "the run has no final event"
    return ends[-1]


def test_sigterm_to_one_rank_stops_every_rank_at_the_same_step(tiny_preset, tmp_path):
    preset = tiny_preset(LONG)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(free_port()),
        TUNER,
        "run",
        str(preset),
    ]
    launcher = subprocess.Popen(
        cmd,
        env=base_env(TUNER_RUNS_DIR=str(tmp_path / "runs"), TUNER_DATA_DIR=str(tmp_path / "data")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        run = wait_for_step(tmp_path / "runs", 2, [launcher])
        rank_process(launcher, 1).send_signal(signal.SIGTERM)  # rank 1 only: rank 0 never sees a signal
        # every rank exits 3 (interrupted, resumable); torchrun reports a non-zero child as its own failure
        assert launcher.wait(240) != 0
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
    end = final(run)
    assert end["type"] == "finished" and end["status"] == "interrupted" and end["reason"] == "signal"
    assert 2 <= end["step"] < 300
    # one complete checkpoint at the step where both ranks stopped, holding both ranks' RNG states
    (ck,) = complete_checkpoints(run)
    assert ck.name == f"checkpoint-{end['step']}"
    assert sorted(p.name for p in ck.glob("rng_state_*.pth")) == ["rng_state_0.pth", "rng_state_1.pth"]
    assert not list((run / "checkpoints").glob(".tmp-*")), "staging left behind"


def slurm_task_env(rank: int, tmp_path: Path, port: int, job: str = "4242", **extra: str) -> dict[str, str]:
    """What `srun --ntasks=2` sets for task `rank` on one node (and nothing torch reads)."""
    return base_env(
        SLURM_JOB_ID=job,
        SLURM_PROCID=str(rank),
        SLURM_LOCALID=str(rank),
        SLURM_NODEID="0",
        SLURM_NTASKS="2",
        SLURM_STEP_NUM_TASKS="2",
        SLURM_STEP_NUM_NODES="1",
        SLURM_STEP_NODELIST="localhost",
        SLURM_JOB_NODELIST="localhost",
        MASTER_PORT=str(port),
        TUNER_RUNS_DIR=str(tmp_path / "runs"),
        TUNER_DATA_DIR=str(tmp_path / "data"),
        PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        **extra,
    )


def srun(preset: Path, tmp_path: Path, *args: str) -> list[subprocess.Popen]:
    """Two tasks started the way srun starts them: the same command, told apart only by SLURM_* variables."""
    port = free_port()
    return [
        subprocess.Popen(
            [TUNER, "run", str(preset), *args],
            env=slurm_task_env(r, tmp_path, port),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        for r in (0, 1)
    ]


def test_srun_tasks_train_one_run_then_preemption_checkpoints_requeues_and_resumes(tiny_preset, tmp_path):
    # a stand-in for SLURM's scontrol: records what tuner asked of it
    (tmp_path / "bin").mkdir()
    scontrol = tmp_path / "bin" / "scontrol"
    scontrol.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "scontrol.log"}\n')
    scontrol.chmod(0o755)
    preset = tiny_preset(LONG)
    tasks = srun(preset, tmp_path)
    try:
        run = wait_for_step(tmp_path / "runs", 3, tasks)
        for t in tasks:  # sbatch --signal=USR1@120 warns every task of the job step
            t.send_signal(signal.SIGUSR1)
        outs = [t.communicate(timeout=240) for t in tasks]
    finally:
        for t in tasks:
            if t.poll() is None:
                os.killpg(t.pid, signal.SIGKILL)
    assert [t.returncode for t in tasks] == [EXIT_INTERRUPTED] * 2, [o[1].decode()[-2000:] for o in outs]
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [run.name], "one run directory for both tasks"
    evs = read_events(run / "events.jsonl")
    assert evs[0]["type"] == "run_started" and evs[0]["world_size"] == 2
    steps = [e["step"] for e in evs if e["type"] == "step"]
    assert steps == sorted(set(steps)), "each step reported once (rank 0 writes)"
    end = final(run)
    assert end["status"] == "interrupted" and end["reason"] == "preempted"
    assert complete_checkpoints(run)[-1].name == f"checkpoint-{end['step']}"
    assert (tmp_path / "scontrol.log").read_text().split() == ["requeue", "4242"]
    assert outs[0][0].decode().count("run directory:") == 1 and b"run directory:" not in outs[1][0]

    # SLURM restarts the requeued job: the same command, the same job id → the same run continues
    stopped_at = end["step"]
    tasks = srun(preset, tmp_path, "--max-steps", str(stopped_at + 2))
    outs = [t.communicate(timeout=300) for t in tasks]
    assert [t.returncode for t in tasks] == [0, 0], [o[1].decode()[-2000:] for o in outs]
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [run.name]
    evs = read_events(run / "events.jsonl")
    resumed = evs[[i for i, e in enumerate(evs) if e["type"] == "run_started"][-1] :]
    assert resumed[0]["resumed_from"].endswith(f"checkpoint-{stopped_at}") and resumed[0]["world_size"] == 2
    assert next(e["step"] for e in resumed if e["type"] == "step") == stopped_at + 1
    assert final(run)["status"] == "finished" and final(run)["step"] == stopped_at + 2


FSDP = [
    "--use_fsdp",
    "--fsdp_version",
    "2",
    "--fsdp_auto_wrap_policy",
    "TRANSFORMER_BASED_WRAP",
    "--fsdp_state_dict_type",
    "SHARDED_STATE_DICT",
]


def accelerate_launch(
    preset_or_resume: list[str], tmp_path: Path, *extra: str
) -> subprocess.CompletedProcess:
    """README's FSDP command on 2 CPU processes: `accelerate launch --use_fsdp … -m core.cli run …`."""
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        *FSDP,
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(free_port()),
        "-m",
        "core.cli",
        "run",
        *preset_or_resume,
        *extra,
    ]
    env = base_env(TUNER_RUNS_DIR=str(tmp_path / "runs"), TUNER_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def test_fsdp_lora_saves_collectively_and_resumes(tiny_preset, tmp_path):
    from safetensors.torch import load_file

    preset = tiny_preset(
        "[train]\nmax_steps = 4\nsave_every = 2\nlr = 1e-2\n[eval]\nevery = 2\nsample_every = 100\n"
    )
    proc = accelerate_launch([str(preset)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = (tmp_path / "runs").iterdir()
    kinds = [e["type"] for e in read_events(run / "events.jsonl")]
    assert kinds.count("finished") == 1 and "sample" not in kinds, (
        "samples are off under FSDP (rank 0 alone would hang)"
    )
    # the final adapter holds every LoRA weight, gathered from both ranks' shards, and they trained
    weights = load_file(run / "adapter" / "adapter_model.safetensors")
    assert sorted({k.rsplit(".", 2)[-2] for k in weights}) == ["lora_A", "lora_B"] and len(weights) == 8
    assert all(weights[k].abs().sum() > 0 for k in weights if "lora_B" in k)
    proc = accelerate_launch(["--resume", "latest"], tmp_path, "--max-steps", "6")
    assert proc.returncode == 0, proc.stderr[-3000:]
    evs = read_events(run / "events.jsonl")
    resumed = evs[[i for i, e in enumerate(evs) if e["type"] == "run_started"][-1] :]
    assert resumed[0]["resumed_from"].endswith("checkpoint-4")
    assert [e["step"] for e in resumed if e["type"] == "step"] == [5, 6] and final(run)[
        "status"
    ] == "finished"
    # resumed again at its end: both ranks load the sharded checkpoint-6, train no step 7, save together
    proc = accelerate_launch(["--resume", "latest"], tmp_path, "--max-steps", "6")
    assert proc.returncode == 0, proc.stderr[-3000:]
    evs = read_events(run / "events.jsonl")
    again = evs[[i for i, e in enumerate(evs) if e["type"] == "run_started"][-1] :]
    assert again[0]["resumed_from"].endswith("checkpoint-6") and not [e for e in again if e["type"] == "step"]
    assert (final(run)["status"], final(run)["step"]) == ("finished", 6)
    assert load_file(run / "adapter" / "adapter_model.safetensors").keys() == weights.keys()


def test_fsdp_with_a_4bit_base_is_refused_before_anything_loads(tiny_preset, tmp_path):
    proc = accelerate_launch([str(tiny_preset('[quant]\nbits = 4\ncompute_dtype = "float32"\n'))], tmp_path)
    assert proc.returncode != 0  # each rank exits 2; the launcher reports that as its own failure
    out = proc.stdout + proc.stderr
    assert "FSDP with a 4-bit base (QLoRA) is not supported" in out and "use DDP" in out
    assert "core/models" not in out and not (tmp_path / "runs").exists(), (
        "refused before loading, no run directory"
    )
