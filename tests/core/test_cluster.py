"""The SLURM templates in docs/slurm and the doctor's "cluster" section.

The templates are run by bash with stand-ins for srun/scontrol that record their arguments; the
cluster checks are pure functions fed fake environments and a fake /proc/mounts text.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from core import doctor
from core.cluster import (
    OUTSIDE,
    cluster_checks,
    default_paths,
    doctor_checks,
    fs_kind,
    mount_for,
    parse_mounts,
    tasks_per_node,
)

ROOT = Path(__file__).resolve().parents[2]
SBATCH = ROOT / "docs" / "slurm" / "tuner.sbatch"
TORCHRUN_SBATCH = ROOT / "docs" / "slurm" / "tuner-torchrun.sbatch"
MULTIRANK = ROOT / "tests" / "core" / "train" / "test_multirank.py"

MOUNTS = r"""/dev/sda1 / ext4 rw,relatime 0 0
tmpfs /tmp tmpfs rw,nosuid 0 0
home:/export/home /home nfs4 rw,vers=4.2 0 0
10.0.0.1@o2ib:/scratch /scratch lustre rw,flock 0 0
/dev/nvme0n1 /local\040disk xfs rw 0 0
sshfs#me@host: /mnt/remote fuse.sshfs rw 0 0
systemd-1 /data autofs rw 0 0
nas:/data /data nfs rw 0 0
/dev/sdb1 /opt/odd zfs_like rw 0 0
"""
HOME = {"HOME": "/home/u", "PATH": "/usr/bin"}
SCRATCH = {**HOME, "SCRATCH": "/scratch/u"}
ON_SCRATCH = {**SCRATCH, "TUNER_RUNS_DIR": "/scratch/u/tuner-runs", "HF_HOME": "/scratch/u/hf"}
# what `srun` sets for task 5 of a 2-node, 8-task job step (as in tests/core/train/test_distributed_env.py)
SRUN_TASK = {
    "SLURM_JOB_ID": "81234",
    "SLURM_JOB_NAME": "tuner",
    "SLURM_PROCID": "5",
    "SLURM_LOCALID": "1",
    "SLURM_NTASKS": "8",
    "SLURM_TASKS_PER_NODE": "4(x2)",
    "SLURM_JOB_NUM_NODES": "2",
    "SLURM_JOB_NODELIST": "gpu[07-08]",
    "SLURM_STEP_NUM_TASKS": "8",
    "SLURM_STEP_NUM_NODES": "2",
    "SLURM_STEP_NODELIST": "gpu[07-08]",
    "SLURMD_NODENAME": "gpu08",
    "SLURM_GPUS_ON_NODE": "4",
}
# the batch script of that job: no SLURM_STEP_* (srun sets those), SLURM_PROCID=0
BATCH = {k: v for k, v in SRUN_TASK.items() if not k.startswith("SLURM_STEP")} | {"SLURM_PROCID": "0"}
SLURM_TOOLS = ("sbatch", "sinfo", "scontrol", "srun")


def by_name(checks, name):
    (found,) = [c for c in checks if c.name == name]
    return found


# ------------------------------------------------------------------------------------ the templates


def sbatch_options(path: Path) -> dict[str, str]:
    """The #SBATCH directives sbatch reads: before the first command, an unquoted # ends the value."""
    opts = {}
    for line in path.read_text().splitlines():
        if line.startswith("#SBATCH"):
            for word in line[len("#SBATCH") :].split("#")[0].split():
                key, _, value = word.partition("=")
                opts[key] = value
        elif line.strip() and not line.startswith("#"):
            break
    return opts


@pytest.mark.parametrize("template", [SBATCH, TORCHRUN_SBATCH], ids=["srun", "torchrun"])
def test_the_templates_parse_and_ask_for_the_preemption_warning_that_reaches_the_ranks(template):
    assert subprocess.run(["bash", "-n", str(template)], capture_output=True).returncode == 0
    opts = sbatch_options(template)
    assert opts["--signal"] == "USR1@120", (
        "no B: (that signals only the batch shell), SIGUSR1 is tuner's pre-emption signal"
    )
    assert "--requeue" in opts and opts["--open-mode"] == "append"
    assert opts["--gres"].startswith("gpu:") and "--cpus-per-task" in opts and "--time" in opts
    if template == SBATCH:
        assert opts["--ntasks-per-node"] == opts["--gres"].split(":")[-1], "one task per GPU"
    else:
        assert opts["--ntasks-per-node"] == "1", "one torchrun per node"


def fake_tools(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """srun/scontrol/tuner stand-ins on PATH (srun records its argv, one word a line) and a venv to source."""
    bin_dir, log = tmp_path / "bin", tmp_path / "srun.log"
    bin_dir.mkdir()
    scripts = {
        "srun": f'printf "%s\\n" "$@" > {log}\nenv > {tmp_path / "srun.env"}\n',
        "scontrol": "echo gpu07; echo gpu08\n",
        "tuner": "exit 0\n",
    }
    for name, body in scripts.items():
        (bin_dir / name).write_text("#!/bin/sh\n" + body)
        (bin_dir / name).chmod(0o755)
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "activate").write_text("")
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SLURM_SUBMIT_DIR": str(tmp_path),
        "SCRATCH": str(tmp_path / "scratch"),
        "SLURM_JOB_ID": "81234",
        "SLURM_NNODES": "2",
        "SLURM_JOB_NODELIST": "gpu[07-08]",
        "SLURM_CPUS_PER_TASK": "8",
    }
    return env, log


def srun_words(log: Path) -> list[str]:
    """The command srun was given, its own options dropped."""
    words = log.read_text().splitlines()
    while words and words[0].startswith("-"):
        words.pop(0)
    return words


def test_the_template_runs_the_command_the_multirank_test_runs(tmp_path):
    env, log = fake_tools(tmp_path)
    # the srun tasks in tests/core/train/test_multirank.py run exactly `tuner run PRESET [args]`
    assert '[TUNER, "run", str(preset), *args]' in MULTIRANK.read_text()
    subprocess.run(["bash", str(SBATCH), "pythia", "--set", "train.lr=1e-4"], env=env, check=True, timeout=30)
    assert srun_words(log) == ["tuner", "run", "pythia", "--set", "train.lr=1e-4"]
    exported = dict(
        line.split("=", 1) for line in (tmp_path / "srun.env").read_text().splitlines() if "=" in line
    )
    assert (
        exported["TUNER_RUNS_DIR"] == f"{env['SCRATCH']}/tuner-runs"
        and exported["HF_HOME"] == f"{env['SCRATCH']}/hf"
    )
    assert exported["HF_HUB_OFFLINE"] == "1" and exported["SRUN_CPUS_PER_TASK"] == "8"
    subprocess.run(["bash", str(SBATCH)], env=env, check=True, timeout=30)
    assert srun_words(log) == ["tuner", "run", "qwen-qlora"], "qwen-qlora by default"
    subprocess.run(
        ["bash", str(SBATCH), "--resume", "qwen-qlora-20250101-120000"], env=env, check=True, timeout=30
    )
    assert srun_words(log) == ["tuner", "run", "--resume", "qwen-qlora-20250101-120000"]


def test_the_template_refuses_to_guess_a_shared_folder(tmp_path):
    env, log = fake_tools(tmp_path)
    del env["SCRATCH"]
    proc = subprocess.run(["bash", str(SBATCH)], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0 and "shared folder" in proc.stderr and not log.exists()


def test_the_torchrun_template_forwards_sigusr1_and_meets_at_the_first_node(tmp_path):
    env, log = fake_tools(tmp_path)
    subprocess.run(["bash", str(TORCHRUN_SBATCH), "pythia"], env=env, check=True, timeout=30)
    words = srun_words(log)
    assert words[0] == "torchrun" and words[-3:] == [str(tmp_path / "bin" / "tuner"), "run", "pythia"]
    flags = " ".join(words)
    assert f"--rdzv_endpoint gpu07:{10000 + 81234 % 20000}" in flags and "--nnodes 2" in flags
    assert re.search(r"--signals-to-handle \S*SIGUSR1", flags) and "--shutdown-timeout" in flags


# ------------------------------------------------------------------------------------ mounts


def test_mount_table_parsing_and_filesystem_kinds():
    mounts = parse_mounts(MOUNTS)
    assert ("/local disk", "xfs") in mounts, "\\040 is a space"
    assert mount_for("/scratch/u/runs", mounts) == ("/scratch", "lustre")
    assert mount_for("/home/u/.cache/huggingface", mounts) == ("/home", "nfs4")
    assert mount_for("/homework", mounts) == ("/", "ext4"), "a prefix of the name is not a parent folder"
    assert mount_for("/data/x", mounts) == ("/data", "nfs"), "the NFS mount over autofs wins"
    assert mount_for("/local disk/r", mounts) == ("/local disk", "xfs")
    assert [
        fs_kind(t)
        for t in (
            "nfs4",
            "lustre",
            "gpfs",
            "beegfs",
            "cephfs",
            "fuse.sshfs",
            "ext4",
            "xfs",
            "tmpfs",
            "overlay",
            "zfs_like",
        )
    ] == ["shared"] * 6 + ["local"] * 4 + ["unknown"]


def test_default_paths_follow_tuner_and_huggingface():
    assert default_paths(HOME, "/work") == {
        "runs folder": "/work/runs",
        "HF cache": "/home/u/.cache/huggingface",
    }
    env = {**HOME, "TUNER_RUNS_DIR": "~/r", "XDG_CACHE_HOME": "/xdg"}
    assert default_paths(env, "/work") == {"runs folder": "/home/u/r", "HF cache": "/xdg/huggingface"}
    assert tasks_per_node(BATCH) == 4 and tasks_per_node(SRUN_TASK) == 4
    assert tasks_per_node({"SLURM_TASKS_PER_NODE": "2,1"}) == 2


# ------------------------------------------------------------------------------------ the checks


def test_outside_any_cluster_the_section_is_one_line():
    checks = cluster_checks({**SCRATCH, "CUDA_VISIBLE_DEVICES": "0"}, MOUNTS, cwd="/tmp/work")
    assert [(c.name, c.status, c.detail) for c in checks] == [("cluster", "skip", OUTSIDE)]


def test_login_node_with_runs_on_a_local_disk_and_models_in_home(tmp_path):
    checks = cluster_checks(SCRATCH, MOUNTS, on_path=SLURM_TOOLS, cwd="/tmp/work")
    assert (
        by_name(checks, "SLURM").status == "pass"
        and "sbatch docs/slurm/tuner.sbatch" in by_name(checks, "SLURM").detail
    )
    runs = by_name(checks, "runs folder")
    assert runs.status == "warn" and "tmpfs" in runs.detail and "compute nodes will not see it" in runs.detail
    assert runs.fix == "export TUNER_RUNS_DIR=$SCRATCH/tuner-runs"
    hf = by_name(checks, "HF cache")
    assert hf.status == "pass" and "nfs4" in hf.detail and "~/.cache/huggingface (default)" in hf.detail
    quota = by_name(checks, "home quota")
    assert (
        quota.status == "warn"
        and quota.detail.startswith("HF cache in $HOME")
        and quota.fix == "export HF_HOME=$SCRATCH/hf"
    )
    assert (
        by_name(checks, "pre-emption").status == "pass"
        and "--signal=USR1@120` (no `B:`" in by_name(checks, "pre-emption").detail
    )
    assert not [c for c in checks if c.name == "GPUs"], "a login node has no GPUs to count"


def test_srun_task_of_a_two_node_job_on_scratch_is_all_green():
    checks = cluster_checks(
        {**ON_SCRATCH, **SRUN_TASK, "CUDA_VISIBLE_DEVICES": "1"},
        MOUNTS,
        on_path=SLURM_TOOLS,
        gpus=1,
        cwd="/scratch/u",
    )
    assert all(c.status == "pass" for c in checks), [(c.name, c.status, c.detail) for c in checks]
    job = by_name(checks, "SLURM job").detail
    assert (
        "job 81234 (tuner) on 2 nodes gpu[07-08], 8 tasks (4(x2) per node)" in job
        and "srun task 5 of 8 on gpu08" in job
    )
    launch = by_name(checks, "launch").detail
    assert (
        launch
        == f"srun task: tuner runs it as rank 5 of 8 (local rank 0), rendezvous gpu07:{10000 + 81234 % 20000}"
    )
    gpus = by_name(checks, "GPUs").detail
    assert gpus.startswith("4 per node, one per rank") and "sees 1 (CUDA_VISIBLE_DEVICES=1)" in gpus, (
        "--gpus-per-task=1"
    )
    assert (
        "lustre" in by_name(checks, "runs folder").detail and "lustre" in by_name(checks, "HF cache").detail
    )


def test_two_node_job_with_runs_on_a_local_disk_warns_with_the_fix():
    env = {**SCRATCH, **SRUN_TASK, "TUNER_RUNS_DIR": "/local disk/runs", "HF_HOME": "/tmp/hf"}
    checks = cluster_checks(env, MOUNTS, on_path=SLURM_TOOLS, gpus=4, cwd="/scratch/u")
    runs, hf = by_name(checks, "runs folder"), by_name(checks, "HF cache")
    assert runs.status == hf.status == "warn"
    assert (
        "xfs" in runs.detail
        and "local to this node" in runs.detail
        and "cannot write into the run" in runs.detail
    )
    assert runs.fix == "export TUNER_RUNS_DIR=$SCRATCH/tuner-runs" and hf.fix.startswith(
        "export HF_HOME=$SCRATCH/hf"
    )
    assert "(default)" not in runs.detail, "set by TUNER_RUNS_DIR"
    assert by_name(checks, "home quota").status == "pass"
    # without $SCRATCH the fix names what is needed, not a variable that does not exist
    checks = cluster_checks(
        {k: v for k, v in env.items() if k != "SCRATCH"}, MOUNTS, on_path=SLURM_TOOLS, gpus=4
    )
    assert by_name(checks, "runs folder").fix == "export TUNER_RUNS_DIR=<a folder every node sees>/tuner-runs"
    assert not [c for c in checks if c.name == "home quota"]


def test_unknown_filesystem_and_no_mount_table():
    env = {**SRUN_TASK, **HOME, "TUNER_RUNS_DIR": "/opt/odd/runs"}
    runs = by_name(cluster_checks(env, MOUNTS, on_path=SLURM_TOOLS, gpus=4), "runs folder")
    assert runs.status == "warn" and "not known to tuner" in runs.detail and "df -T" in runs.fix
    runs = by_name(cluster_checks(env, None, on_path=SLURM_TOOLS, gpus=4), "runs folder")
    assert runs.status == "skip" and "cannot tell" in runs.detail


def test_batch_script_is_told_to_use_srun_and_idle_gpus_are_caught():
    batch = {
        **ON_SCRATCH,
        **BATCH,
        "SLURM_NTASKS_PER_NODE": "1",
        "SLURM_TASKS_PER_NODE": "1(x2)",
        "SLURM_RESTART_COUNT": "2",
    }
    checks = cluster_checks(batch, MOUNTS, on_path=SLURM_TOOLS, gpus=4)
    job = by_name(checks, "SLURM job").detail
    assert "not an srun task: start the ranks with `srun tuner run PRESET`" in job and "requeued 2×" in job
    assert not [c for c in checks if c.name == "launch"], "the batch script itself is one process, no rank"
    gpus = by_name(checks, "GPUs")
    assert gpus.status == "warn" and "3 would sit idle" in gpus.detail
    assert gpus.fix.startswith("#SBATCH --ntasks-per-node=4") and "torchrun --nproc_per_node 4" in gpus.fix
    crowded = cluster_checks({**batch, "SLURM_NTASKS_PER_NODE": "8"}, MOUNTS, on_path=SLURM_TOOLS, gpus=4)
    assert (
        by_name(crowded, "GPUs").status == "warn"
        and "8 ranks per node share 4 GPUs" in by_name(crowded, "GPUs").detail
    )
    no_gpu = {k: v for k, v in batch.items() if k != "SLURM_GPUS_ON_NODE"}
    gpus = by_name(cluster_checks(no_gpu, MOUNTS, on_path=SLURM_TOOLS, gpus=0), "GPUs")
    assert gpus.status == "warn" and "no GPU allocated" in gpus.detail and "--gres=gpu:N" in gpus.fix


def test_preemption_signal_must_reach_the_ranks():
    job = {**ON_SCRATCH, **SRUN_TASK}
    check = by_name(
        cluster_checks({**job, "SBATCH_SIGNAL": "B:USR1@120"}, MOUNTS, on_path=SLURM_TOOLS, gpus=4),
        "pre-emption",
    )
    assert (
        check.status == "warn"
        and "only the batch shell" in check.detail
        and check.fix.startswith("--signal=USR1@120")
    )
    # torchrun inside srun: SIGUSR1 must be among the signals it forwards
    under_torchrun = {
        **job,
        "RANK": "5",
        "LOCAL_RANK": "1",
        "WORLD_SIZE": "8",
        "LOCAL_WORLD_SIZE": "4",
        "MASTER_ADDR": "gpu07",
        "MASTER_PORT": "29500",
        "TORCHELASTIC_RUN_ID": "81234",
        "TORCHELASTIC_SIGNALS_TO_HANDLE": "SIGTERM,SIGINT,SIGHUP,SIGQUIT",
    }
    checks = cluster_checks(under_torchrun, MOUNTS, on_path=SLURM_TOOLS, gpus=4)
    assert by_name(checks, "launch").detail.startswith(
        "torchrun: rank 5 of 8 (local rank 1), rendezvous gpu07:29500"
    )
    check = by_name(checks, "pre-emption")
    assert check.status == "warn" and "SIGUSR1" in check.detail and "--signals-to-handle" in check.fix
    forwarded = {**under_torchrun, "TORCHELASTIC_SIGNALS_TO_HANDLE": "SIGTERM,SIGINT,SIGHUP,SIGQUIT,SIGUSR1"}
    assert (
        by_name(cluster_checks(forwarded, MOUNTS, on_path=SLURM_TOOLS, gpus=4), "pre-emption").status
        == "pass"
    )
    check = by_name(cluster_checks(job, MOUNTS, on_path=("srun",), gpus=4), "pre-emption")
    assert check.status == "warn" and "scontrol" in check.detail and "--resume RUN" in check.fix


def test_torchrun_or_accelerate_without_slurm():
    one_node = {
        **HOME,
        "RANK": "1",
        "LOCAL_RANK": "1",
        "WORLD_SIZE": "4",
        "LOCAL_WORLD_SIZE": "4",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": "29500",
        "ACCELERATE_USE_FSDP": "true",
        "ACCELERATE_MIXED_PRECISION": "bf16",
    }
    checks = cluster_checks(one_node, MOUNTS, gpus=4, cwd="/tmp/work")
    assert [c.name for c in checks] == ["launch", "GPUs"], "one machine: its own disk is shared by its ranks"
    assert (
        by_name(checks, "launch").detail.startswith("accelerate launch: rank 1 of 4")
        and "FSDP" in checks[0].detail
    )
    two_nodes = {**one_node, "WORLD_SIZE": "8"}
    runs = by_name(cluster_checks(two_nodes, MOUNTS, gpus=4, cwd="/tmp/work"), "runs folder")
    assert runs.status == "warn" and "/tmp/work/runs (default)" in runs.detail
    cpu = by_name(
        cluster_checks({**one_node, "LOCAL_WORLD_SIZE": "2", "WORLD_SIZE": "2"}, MOUNTS, gpus=0), "GPUs"
    )
    assert cpu.status == "pass" and "gloo" in cpu.detail


def test_doctor_shows_one_cluster_line_here(monkeypatch, tmp_path):
    for var in list(os.environ):
        if var.startswith(("SLURM_", "SBATCH_", "TORCHELASTIC_")) or var in (
            "RANK",
            "WORLD_SIZE",
            "LOCAL_RANK",
        ):
            monkeypatch.delenv(var)
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch/sinfo: not a login node
    assert [(c.name, c.status, c.detail) for c in doctor_checks()] == [("cluster", "skip", OUTSIDE)]
    checks = doctor_checks()
    for c in checks:
        c.section = "cluster"
    from rich.console import Console

    console = Console(record=True, width=100)
    doctor.render_report(console, doctor.DoctorReport(checks=checks))
    assert re.search(r"cluster\s*\n.*–\s+cluster\s+" + re.escape(OUTSIDE), console.export_text())


def test_run_doctor_has_the_cluster_section(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no Hub probe
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    report = doctor.run_doctor(["quickstart"])
    sections = report.sections()
    assert sections.index("cluster") == sections.index("memory & disk") + 1
    assert [c.name for c in report.checks if c.section == "cluster"] == [c.name for c in doctor_checks()]
