"""Several processes, one run: who each process is (torchrun, accelerate, srun), the process group, stopping together.

The launchers own the processes: torchrun/accelerate set RANK/LOCAL_RANK/WORLD_SIZE; `srun`
starts one task per rank and sets only its own SLURM_* variables, which are translated here into
the ones torch reads. accelerate's PartialState creates the process group (NCCL on CUDA, gloo on
the CPU) and pins each process to its local GPU; nothing here starts a process.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, MutableMapping

# Why the run stopped, in the order ranks agree on it: the highest code any rank raised wins.
STOP_CODES = {None: 0, "time_budget": 1, "preempted": 2, "signal": 3, "nonfinite": 4}
STOP_REASONS = {code: reason for reason, code in STOP_CODES.items()}


def first_host(nodelist: str) -> str:
    """The first host of a SLURM node list: "gpu[07-09,12],cpu3" → "gpu07"."""
    head = re.split(r",(?![^\[]*\])", nodelist.strip(), maxsplit=1)[0]
    # each bracket group contributes its first entry, keeping its zero padding
    return re.sub(r"\[([^\]]*)\]", lambda m: re.split(r"[-,]", m.group(1))[0], head)


def slurm_launch_env(env: Mapping[str, str]) -> dict[str, str]:
    """The torch.distributed variables for a process started by `srun` ({} when not an srun task of several).

    Only a job step's tasks count (SLURM_STEP_NUM_TASKS is set by srun, not in the batch script,
    where SLURM_NTASKS and SLURM_PROCID=0 are set too and would make a lone process wait for
    ranks that never come). A launcher that already set RANK (torchrun inside srun) wins.
    """
    if "RANK" in env or "SLURM_PROCID" not in env:
        return {}
    world = int(env.get("SLURM_STEP_NUM_TASKS", "1") or 1)
    if world < 2:
        return {}
    nodes = env.get("SLURM_STEP_NODELIST") or env.get("SLURM_JOB_NODELIST") or "127.0.0.1"
    job = env.get("SLURM_JOB_ID", "0")
    local = int(env.get("SLURM_LOCALID", "0") or 0)
    visible = [d for d in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    if visible and local >= len(visible):
        # `--gpus-per-task=1`: each task sees only its own GPU, cuda:0; LOCAL_RANK indexes visible GPUs
        local %= len(visible)
    return {
        "RANK": env["SLURM_PROCID"],
        "LOCAL_RANK": str(local),
        "WORLD_SIZE": str(world),
        "LOCAL_WORLD_SIZE": str(tasks_on_this_node(env, world)),
        "MASTER_ADDR": env.get("MASTER_ADDR") or first_host(nodes),
        # one port per job, so two jobs sharing a node do not collide
        "MASTER_PORT": env.get("MASTER_PORT") or str(10000 + int(job) % 20000 if job.isdigit() else 29500),
    }


def tasks_on_this_node(env: Mapping[str, str], world: int) -> int:
    """This node's task count from SLURM_STEP_TASKS_PER_NODE ("4(x2)", "3,1"); an even split when absent."""
    counts: list[int] = []
    for part in filter(None, env.get("SLURM_STEP_TASKS_PER_NODE", "").split(",")):
        m = re.fullmatch(r"(\d+)(?:\(x(\d+)\))?", part.strip())
        if not m:
            counts = []
            break
        counts += [int(m.group(1))] * int(m.group(2) or 1)
    node = int(env.get("SLURM_NODEID", "0") or 0)
    if node < len(counts):
        return counts[node]
    return max(1, world // max(1, int(env.get("SLURM_STEP_NUM_NODES", "1") or 1)))


def adopt_launcher_env(env: MutableMapping[str, str] = os.environ) -> None:
    """Translate srun's variables into torch's, in place (a no-op under torchrun/accelerate or alone)."""
    env.update(slurm_launch_env(env))


def dist_info(env: Mapping[str, str] = os.environ) -> tuple[int, int, int]:
    """(rank, local_rank, world_size) from the launcher's environment; XLA cores are one process."""
    return int(env.get("RANK", 0)), int(env.get("LOCAL_RANK", 0)), int(env.get("WORLD_SIZE", 1))


def init_distributed(device: str) -> None:
    """Join the process group through accelerate (NCCL + this rank's GPU on CUDA, gloo on the CPU)."""
    from datetime import timedelta

    from accelerate import PartialState

    # The Trainer's own PartialState later finds this one and reuses it. cpu=True is what makes
    # accelerate pick gloo for CPU ranks; on CUDA it calls torch.cuda.set_device(local_rank)
    # before any collective, so no two ranks share cuda:0.
    PartialState(cpu=device == "cpu", timeout=timedelta(minutes=30))


def broadcast_from_main(value: str | None) -> str:
    """Rank 0's string, on every rank (the run directory's path)."""
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return str(box[0])


def agree_stop(reason: str | None) -> str | None:
    """Every rank's stop reason → the one they all act on (one all-reduce of one integer)."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return reason
    # NCCL reduces only device tensors; gloo only host ones.
    device = (
        torch.device("cuda", torch.cuda.current_device())
        if dist.get_backend() == "nccl"
        else torch.device("cpu")
    )
    flag = torch.tensor([STOP_CODES.get(reason, 0)], dtype=torch.int32, device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return STOP_REASONS[int(flag.item())]
