"""Who a process is under each launcher, and ranks agreeing on why they stop."""

from __future__ import annotations

import socket

import pytest
import torch.multiprocessing as mp

from core.train.distributed import agree_stop, dist_info, first_host, slurm_launch_env


@pytest.mark.parametrize(
    "nodelist, host",
    [
        ("gnode[10,20,25,37]", "gnode10"),
        ("node[01-04,07]", "node01"),
        ("gpu7,gpu8", "gpu7"),
        ("rack[1-2]-n[03-04],login", "rack1-n03"),
        ("localhost", "localhost"),
    ],
)
def test_first_host_of_a_slurm_node_list(nodelist, host):
    assert first_host(nodelist) == host


SRUN_TASK = {
    "SLURM_JOB_ID": "81234",
    "SLURM_PROCID": "5",
    "SLURM_LOCALID": "1",
    "SLURM_NTASKS": "8",
    "SLURM_STEP_NUM_TASKS": "8",
    "SLURM_STEP_NUM_NODES": "2",
    "SLURM_STEP_NODELIST": "gpu[07-08]",
}


def test_an_srun_task_becomes_a_rank():
    env = slurm_launch_env(SRUN_TASK)
    assert env == {
        "RANK": "5",
        "LOCAL_RANK": "1",
        "WORLD_SIZE": "8",
        "LOCAL_WORLD_SIZE": "4",
        "MASTER_ADDR": "gpu07",
        "MASTER_PORT": str(10000 + 81234 % 20000),
    }
    assert dist_info({**SRUN_TASK, **env}) == (5, 1, 8)


def test_uneven_tasks_per_node_and_one_gpu_per_task():
    uneven = {
        **SRUN_TASK,
        "SLURM_STEP_TASKS_PER_NODE": "3,1",
        "SLURM_NODEID": "1",
        "SLURM_PROCID": "3",
        "SLURM_LOCALID": "0",
    }
    assert slurm_launch_env(uneven)["LOCAL_WORLD_SIZE"] == "1"
    assert slurm_launch_env({**SRUN_TASK, "SLURM_STEP_TASKS_PER_NODE": "4(x2)"})["LOCAL_WORLD_SIZE"] == "4"
    # srun --gpus-per-task=1: task 1 of the node sees one GPU, which is its cuda:0
    assert slurm_launch_env({**SRUN_TASK, "CUDA_VISIBLE_DEVICES": "5"})["LOCAL_RANK"] == "0"
    assert slurm_launch_env({**SRUN_TASK, "CUDA_VISIBLE_DEVICES": "0,1,2,3"})["LOCAL_RANK"] == "1"


def test_the_batch_script_itself_and_other_launchers_are_left_alone():
    batch = {k: v for k, v in SRUN_TASK.items() if not k.startswith("SLURM_STEP")} | {"SLURM_PROCID": "0"}
    assert slurm_launch_env(batch) == {}, "sbatch's own shell: one process, not rank 0 of 8"
    assert slurm_launch_env({**SRUN_TASK, "RANK": "3"}) == {}, "torchrun inside srun already said who it is"
    assert slurm_launch_env({**SRUN_TASK, "SLURM_STEP_NUM_TASKS": "1"}) == {}
    assert (
        slurm_launch_env({**SRUN_TASK, "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "23456"})["MASTER_ADDR"]
        == "10.0.0.1"
    )


def _agree(rank: int, port: int, reasons: list, out) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        out.put((rank, [agree_stop(r) for r in reasons[rank]]))
    finally:
        dist.destroy_process_group()


def test_ranks_agree_on_the_strongest_stop_reason():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    reasons = [
        [None, None, "time_budget", None, "nonfinite"],
        [None, "signal", None, "preempted", "time_budget"],
    ]
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_agree, args=(r, port, reasons, out)) for r in (0, 1)]
    for p in procs:
        p.start()
    got = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(60)
    assert got[0] == got[1] == [None, "signal", "time_budget", "preempted", "nonfinite"]
    assert agree_stop("signal") == "signal", "one process: its own reason"
