"""Where this process stands on a cluster: SLURM job or login node, launcher, GPUs, shared folders.

The "cluster" section of `tuner doctor`. Everything is a pure function of an environment mapping
and the text of /proc/mounts, so each case is testable without SLURM; `doctor_checks()` feeds
them this machine's state. Outside any cluster or launch the section is one line.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from core.doctor.report import Check
from core.gpus import torch_gpu_count
from core.train.distributed import slurm_launch_env

# Filesystems every node of a cluster mounts the same way, and ones that live on one machine only.
SHARED_FS = frozenset(
    {
        "nfs",
        "nfs4",
        "lustre",
        "gpfs",
        "beegfs",
        "cephfs",
        "ceph",
        "panfs",
        "wekafs",
        "cifs",
        "smb3",
        "orangefs",
        "pvfs2",
        "glusterfs",
    }
)
LOCAL_FS = frozenset(
    {"ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "tmpfs", "overlay", "ramfs", "f2fs", "vfat"}
)
SLURM_TOOLS = ("sbatch", "sinfo", "scontrol")
OUTSIDE = "not in a SLURM job; no multi-process launch"
SIGNAL_ADVICE = (
    "`#SBATCH --signal=USR1@120` (no `B:`, which signals only the batch shell, never the srun tasks) "
    "and `#SBATCH --requeue`"
)
TORCHRUN_SIGNALS = "--signals-to-handle SIGTERM,SIGINT,SIGHUP,SIGQUIT,SIGUSR1 --shutdown-timeout 110"


# ------------------------------------------------------------------------------------ pure helpers


def fs_kind(fstype: str) -> str:
    """ "shared", "local" or "unknown" for a filesystem type as /proc/mounts names it."""
    # fuse.*: sshfs, gcsfuse, juicefs, s3fs… are network mounts
    if fstype in SHARED_FS or fstype.startswith("fuse."):
        return "shared"
    return "local" if fstype in LOCAL_FS else "unknown"


def parse_mounts(text: str) -> list[tuple[str, str]]:
    """(mount point, filesystem type) for each line of /proc/mounts, in mount order."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            # the kernel writes a space in a mount point as \040 (octal)
            out.append((re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), parts[1]), parts[2]))
    return out


def mount_for(path: str, mounts: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    """The (mount point, type) holding absolute `path`: the deepest mount point above it, the last one if stacked."""
    best: tuple[str, str] | None = None
    for point, fstype in mounts:
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        # ">=": a later mount on the same point hides the earlier one (autofs, then the NFS mount under it)
        if inside and (best is None or len(point) >= len(best[0])):
            best = (point, fstype)
    return best


def _int(value: str | None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _under(path: str, folder: str | None) -> bool:
    return (
        folder is not None and folder != "" and (path == folder or path.startswith(folder.rstrip("/") + "/"))
    )


def _show(path: str, env: Mapping[str, str]) -> str:
    home = env.get("HOME", "")
    return "~" + path[len(home) :] if home and home != "/" and _under(path, home) else path


def job_nodes(env: Mapping[str, str]) -> int:
    """Nodes the job (or the torchrun launch) spans; the filesystem checks matter most above 1."""
    for var in ("SLURM_STEP_NUM_NODES", "SLURM_JOB_NUM_NODES", "SLURM_NNODES"):
        if _int(env.get(var)):
            return int(env[var])
    world, local = _int(env.get("WORLD_SIZE")), _int(env.get("LOCAL_WORLD_SIZE"))
    return -(-world // local) if world and local else 1


def tasks_per_node(env: Mapping[str, str]) -> int | None:
    """Ranks started on each node: the launcher's, the srun step's, or what sbatch was asked for."""
    if _int(env.get("LOCAL_WORLD_SIZE")):
        return int(env["LOCAL_WORLD_SIZE"])
    step, nodes = _int(env.get("SLURM_STEP_NUM_TASKS")), _int(env.get("SLURM_STEP_NUM_NODES")) or 1
    if step:
        return max(1, step // nodes)
    if _int(env.get("SLURM_NTASKS_PER_NODE")):
        return int(env["SLURM_NTASKS_PER_NODE"])
    # "4(x2)" or "2,1": this node's share comes first
    first = re.match(r"\d+", env.get("SLURM_TASKS_PER_NODE", ""))
    return int(first.group()) if first else None


def visible_gpus(env: Mapping[str, str]) -> int | None:
    """GPUs CUDA_VISIBLE_DEVICES lets this process see (None when it is unset: all of them)."""
    value = env.get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return None
    return len([d for d in value.split(",") if d.strip() and d.strip() != "-1"])


def launcher_name(env: Mapping[str, str]) -> str:
    """Which launcher set RANK: accelerate, torchrun, or some other."""
    if any(k.startswith("ACCELERATE_") for k in env):
        return "accelerate launch"
    return "torchrun" if "TORCHELASTIC_RUN_ID" in env else "a launcher"


def default_paths(env: Mapping[str, str], cwd: str) -> dict[str, str]:
    """Absolute runs folder and HF_HOME as tuner and the Hugging Face libraries compute them from `env`."""
    home = env.get("HOME", "/")

    def absolute(p: str) -> str:
        p = home + p[1:] if p == "~" or p.startswith("~/") else p
        return os.path.normpath(p if os.path.isabs(p) else os.path.join(cwd, p))

    hf = env.get("HF_HOME") or os.path.join(
        env.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "huggingface"
    )
    return {"runs folder": absolute(env.get("TUNER_RUNS_DIR") or "runs"), "HF cache": absolute(hf)}


# ------------------------------------------------------------------------------------ the checks


def check_slurm_job(env: Mapping[str, str]) -> Check:
    """Job id, nodes, tasks, and whether this process is an srun task or the job's own shell."""
    nodes = env.get("SLURM_JOB_NUM_NODES") or env.get("SLURM_NNODES") or "?"
    nodelist = env.get("SLURM_JOB_NODELIST", "")
    tasks = env.get("SLURM_NTASKS")
    text = f"job {env['SLURM_JOB_ID']}"
    if env.get("SLURM_JOB_NAME"):
        text += f" ({env['SLURM_JOB_NAME']})"
    text += f" on {nodes} node{'' if nodes == '1' else 's'}" + (f" {nodelist}" if nodelist else "")
    if tasks:
        text += (
            f", {tasks} task{'' if tasks == '1' else 's'} ({env.get('SLURM_TASKS_PER_NODE', '?')} per node)"
        )
    if "SLURM_STEP_NUM_TASKS" in env:
        text += (
            f"; this process is srun task {env.get('SLURM_PROCID', '?')} of {env['SLURM_STEP_NUM_TASKS']}"
            + (f" on {env['SLURMD_NODENAME']}" if env.get("SLURMD_NODENAME") else "")
        )
    else:
        # the batch script or an salloc shell: one process, whatever SLURM_NTASKS says
        text += "; this is the job's shell, not an srun task: start the ranks with `srun tuner run PRESET`"
    restarts = _int(env.get("SLURM_RESTART_COUNT"))
    if restarts:
        text += f"; requeued {restarts}× (`srun tuner run PRESET` resumes the run this job started)"
    return Check("SLURM job", "pass", text)


def check_login(env: Mapping[str, str]) -> Check:
    """A machine that can submit jobs but is not inside one."""
    return Check(
        "SLURM",
        "pass",
        "login node (sbatch on PATH, not inside a job): submit with "
        "`sbatch docs/slurm/tuner.sbatch PRESET`; download models here first (`hf download MODEL`)",
    )


def check_launch(env: Mapping[str, str]) -> Check | None:
    """This process's rank under torchrun/accelerate, or the rank tuner will give an srun task."""
    if "RANK" in env:
        text = (
            f"{launcher_name(env)}: rank {env['RANK']} of {env.get('WORLD_SIZE', '?')} "
            f"(local rank {env.get('LOCAL_RANK', '?')}), "
            f"rendezvous {env.get('MASTER_ADDR', '?')}:{env.get('MASTER_PORT', '?')}"
        )
        if env.get("ACCELERATE_USE_FSDP", "").lower() in ("1", "true", "yes"):
            text += "; FSDP: 4-bit (QLoRA) presets are refused, use DDP for them"
        return Check("launch", "pass", text)
    derived = slurm_launch_env(env)
    if not derived:
        return None
    return Check(
        "launch",
        "pass",
        f"srun task: tuner runs it as rank {derived['RANK']} of {derived['WORLD_SIZE']} "
        f"(local rank {derived['LOCAL_RANK']}), rendezvous {derived['MASTER_ADDR']}:{derived['MASTER_PORT']}",
    )


def check_gpus(env: Mapping[str, str], gpus: int | None) -> Check:
    """GPUs per node against ranks per node: one rank per GPU, none idle, none shared."""
    seen = gpus if gpus is not None else visible_gpus(env)
    # SLURM_GPUS_ON_NODE counts the node's allocated GPUs even when this task sees only its own
    per_node = _int(env.get("SLURM_GPUS_ON_NODE"))
    per_node = seen if per_node is None else per_node
    tasks = tasks_per_node(env)
    visible = f"this process sees {'?' if seen is None else seen}"
    if env.get("CUDA_VISIBLE_DEVICES") is not None:
        visible += f" (CUDA_VISIBLE_DEVICES={env['CUDA_VISIBLE_DEVICES']})"
    if not per_node:
        if "SLURM_JOB_ID" in env:
            return Check(
                "GPUs",
                "warn",
                f"no GPU allocated to this job ({visible}): it would train on the CPU",
                "#SBATCH --gres=gpu:N with --ntasks-per-node=N (one rank per GPU)",
            )
        return Check("GPUs", "pass", f"none ({visible}): the ranks train on the CPU over gloo")
    if tasks and tasks < per_node:
        fix = f"#SBATCH --ntasks-per-node={per_node} with `srun tuner run PRESET`"
        if "RANK" not in env and "SLURM_STEP_NUM_TASKS" not in env:
            fix += f" (or one task per node running `torchrun --nproc_per_node {per_node}`)"
        return Check(
            "GPUs",
            "warn",
            f"{per_node} per node but {tasks} rank{'' if tasks == 1 else 's'} per node: "
            f"{per_node - tasks} would sit idle; {visible}",
            fix,
        )
    if tasks and tasks > per_node:
        return Check(
            "GPUs",
            "warn",
            f"{tasks} ranks per node share {per_node} GPU{'' if per_node == 1 else 's'}; {visible}",
            f"one rank per GPU: --ntasks-per-node={per_node} (or torchrun --nproc_per_node {per_node})",
        )
    return Check(
        "GPUs", "pass", f"{per_node} per node" + (", one per rank" if tasks else "") + f"; {visible}"
    )


def check_shared(
    label: str, path: str, mounts: list[tuple[str, str]], env: Mapping[str, str], *, login: bool
) -> Check:
    """Is the runs folder / HF cache on a filesystem every node sees? (type of the mount that holds it)."""
    var = "TUNER_RUNS_DIR" if label == "runs folder" else "HF_HOME"
    shown = _show(path, env) + ("" if var in env else " (default)")
    found = mount_for(path, mounts)
    if found is None:
        return Check(label, "skip", f"{shown}: cannot tell its filesystem (no /proc/mounts here)")
    point, fstype = found
    kind = fs_kind(fstype)
    if kind == "shared":
        return Check(label, "pass", f"{shown}: {fstype} ({point}), shared")
    base = "$SCRATCH" if env.get("SCRATCH") else "<a folder every node sees>"
    fix = (
        f"export TUNER_RUNS_DIR={base}/tuner-runs"
        if var == "TUNER_RUNS_DIR"
        else f"export HF_HOME={base}/hf, then `hf download MODEL` on the login node"
    )
    if kind == "unknown":
        return Check(
            label,
            "warn",
            f"{shown}: {fstype} ({point}), not known to tuner as shared or local",
            f"check that every node sees {path} (`df -T` on a compute node), or {fix}",
        )
    if login:
        why = "jobs on the compute nodes will not see it"
    elif var == "TUNER_RUNS_DIR":
        # rank 0 creates the run; every rank writes its own files (RNG state, FSDP shards) into it,
        # and a requeued job on another node must find it to resume
        why = "ranks on other nodes cannot write into the run rank 0 creates, nor a requeued job find it"
    else:
        why = "other nodes will not find the model (compute nodes are often offline)"
    return Check(
        label,
        "warn",
        f"{shown}: {fstype} ({point}), local to this {'login ' if login else ''}node: {why}",
        fix,
    )


def check_home_quota(env: Mapping[str, str], paths: Mapping[str, str]) -> Check:
    """With $SCRATCH there, runs and models in $HOME fill its small quota."""
    scratch, home = env["SCRATCH"], env.get("HOME")
    inside = [label for label, p in paths.items() if _under(p, home) and not _under(p, scratch)]
    if not inside:
        return Check("home quota", "pass", f"runs folder and HF cache are outside $HOME (SCRATCH={scratch})")
    fix = " ".join(
        f"{var}={val}"
        for label, var, val in (
            ("runs folder", "TUNER_RUNS_DIR", "$SCRATCH/tuner-runs"),
            ("HF cache", "HF_HOME", "$SCRATCH/hf"),
        )
        if label in inside
    )
    return Check(
        "home quota",
        "warn",
        f"{' and '.join(inside)} in $HOME while $SCRATCH={scratch} exists: home quotas are "
        "small (a 7B base model is 15 GB, every checkpoint adds to it)",
        f"export {fix}",
    )


def check_preemption(env: Mapping[str, str], on_path: Iterable[str]) -> Check:
    """The pre-emption warning must reach the ranks (no `B:`), and the job must be able to requeue itself."""
    signal_option = env.get("SBATCH_SIGNAL", "")
    if signal_option.upper().startswith("B:"):
        return Check(
            "pre-emption",
            "warn",
            f"SBATCH_SIGNAL={signal_option}: `B:` signals only the batch shell, never "
            "the srun tasks that train: they would be killed at the time limit without a checkpoint",
            "--signal=USR1@120 (no `B:`) and --requeue",
        )
    forwarded = env.get("TORCHELASTIC_SIGNALS_TO_HANDLE")
    if "SLURM_JOB_ID" in env and forwarded is not None and "SIGUSR1" not in forwarded:
        return Check(
            "pre-emption",
            "warn",
            "torchrun does not forward SIGUSR1 to its ranks "
            f"(it handles {forwarded}): SLURM's warning would end torchrun, not checkpoint the run",
            f"torchrun {TORCHRUN_SIGNALS} … (docs/slurm/tuner-torchrun.sbatch)",
        )
    if "SLURM_JOB_ID" in env and "scontrol" not in set(on_path):
        return Check(
            "pre-emption",
            "warn",
            "scontrol is not on PATH: after its pre-emption checkpoint the job cannot requeue itself",
            "resubmit by hand: `sbatch docs/slurm/tuner.sbatch --resume RUN`",
        )
    return Check(
        "pre-emption",
        "pass",
        "on SIGUSR1 every rank stops at the same step, one checkpoint is written, the job "
        f"requeues itself and resumes the run: {SIGNAL_ADVICE}",
    )


def cluster_checks(
    env: Mapping[str, str],
    mounts_text: str | None,
    *,
    on_path: Iterable[str] = (),
    gpus: int | None = None,
    cwd: str = "/",
    resolve: Callable[[str], str] = os.path.normpath,
) -> list[Check]:
    """The doctor's "cluster" lines for `env` and a /proc/mounts text (one skip line outside any cluster)."""
    tools = set(on_path)
    slurm = "SLURM_JOB_ID" in env
    login = not slurm and bool({"sbatch", "sinfo"} & tools)
    launched = "RANK" in env or bool(slurm_launch_env(env))
    if not (slurm or login or launched):
        return [Check("cluster", "skip", OUTSIDE)]
    out: list[Check] = []
    if slurm:
        out.append(check_slurm_job(env))
    if login:
        out.append(check_login(env))
    launch = check_launch(env)
    if launch is not None:
        out.append(launch)
    if slurm or launched:
        out.append(check_gpus(env, gpus))
    paths = {label: resolve(p) for label, p in default_paths(env, cwd).items()}
    # a one-node torchrun on a workstation shares its disk; anything SLURM runs may land on another node
    if slurm or login or job_nodes(env) > 1:
        mounts = parse_mounts(mounts_text or "")
        out += [check_shared(label, p, mounts, env, login=login) for label, p in paths.items()]
    if env.get("SCRATCH"):
        scratch_env = dict(env, SCRATCH=resolve(env["SCRATCH"]), HOME=resolve(env.get("HOME", "/")))
        out.append(check_home_quota(scratch_env, paths))
    if slurm or login:
        out.append(check_preemption(env, tools))
    return out


def doctor_checks() -> list[Check]:
    """cluster_checks for this process: os.environ, /proc/mounts, the SLURM tools on PATH, torch's GPUs."""
    env = dict(os.environ)
    if env.get("SCRATCH") and not os.path.isdir(env["SCRATCH"]):
        env.pop("SCRATCH")  # a stale variable from another machine's profile: no quota advice about it
    try:
        mounts = Path("/proc/mounts").read_text(encoding="utf-8", errors="replace")
    except OSError:
        mounts = None  # macOS: no /proc; the filesystem lines say they cannot tell
    tools = [t for t in SLURM_TOOLS if shutil.which(t)]
    return cluster_checks(
        env,
        mounts,
        on_path=tools,
        gpus=torch_gpu_count(import_torch=False),
        cwd=os.getcwd(),
        resolve=os.path.realpath,
    )
