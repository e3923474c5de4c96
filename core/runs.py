"""Run directories: create them, record provenance, and read back what a run is doing.

A run directory is the contract between the detached trainer and every client; its format
is documented in docs/run-directory.md. Imports stay light (no torch) so clients start fast.
"""

from __future__ import annotations

import json
import os
import platform
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import TunerError
from core.run_lock import read_holder as read_lock_holder
from core.run_status import fold_event_file
from core.secrets import scrub, scrub_argv, scrub_obj

if TYPE_CHECKING:
    from core.config.schema import Preset

PRESET_FILE = "preset.toml"
PROVENANCE_FILE = "provenance.json"
EVENTS_FILE = "events.jsonl"
CHECKPOINTS_DIR = "checkpoints"
ADAPTER_DIR = "adapter"
LOG_FILE = "train.log"
CHECKPOINT_PREFIX = "checkpoint-"
COMPLETE_MARKER = "COMPLETE"
TMP_PREFIX = ".tmp-"
TIME_FORMAT = "%Y%m%d-%H%M%S"

# Packages whose versions go into provenance.json.
PACKAGES = ("torch", "transformers", "peft", "datasets", "accelerate", "bitsandbytes", "trl")
# Environment variables worth recording for reproducibility (values never secret).
ENV_RECORDED = (
    "CUDA_VISIBLE_DEVICES",
    "PYTORCH_CUDA_ALLOC_CONF",
    "OMP_NUM_THREADS",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "PJRT_DEVICE",
)


def runs_root() -> Path:
    """Where runs live: $TUNER_RUNS_DIR, default ./runs."""
    env = os.environ.get("TUNER_RUNS_DIR")
    return Path(env) if env else Path("runs")


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "run"


def create_run_dir(preset: Preset, root: Path | None = None, name: str | None = None) -> Path:
    """Create `<root>/<name>-<YYYYmmdd-HHMMSS>[-N]/` with preset.toml and checkpoints/; unique per call."""
    root = Path(root) if root is not None else runs_root()
    root.mkdir(parents=True, exist_ok=True)
    base = f"{_safe_name(name or preset.log.run_name or preset.name)}-{time.strftime(TIME_FORMAT)}"
    n = 1
    while True:
        run_dir = root / (base if n == 1 else f"{base}-{n}")
        try:
            run_dir.mkdir()  # atomic: two processes starting in the same second get different dirs
            break
        except FileExistsError:
            n += 1
    (run_dir / CHECKPOINTS_DIR).mkdir()
    write_run_preset(run_dir, preset)
    return run_dir


def write_run_preset(run_dir: Path, preset: Preset) -> None:
    """(Re)write the run's resolved preset.toml atomically, secrets scrubbed."""
    from core.config.loader import dump_preset  # lazy: listing runs needs no pydantic

    _write_atomic(Path(run_dir) / PRESET_FILE, scrub(dump_preset(preset)))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # readers never see a half-written file


def _package_versions() -> dict[str, str | None]:
    import core

    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    versions["tuner"] = core.__version__
    return versions


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=2, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_state() -> dict[str, Any]:
    """Commit and dirty flag of the git repo around the working directory (None outside one)."""
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit.strip(), "dirty": None if status is None else bool(status.strip())}


def write_provenance(
    run_dir: Path,
    *,
    data_hash: str | None,
    base_model: str,
    base_model_file_sha256: str | None,
    device: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write provenance.json (versions, git, host, command line; secrets scrubbed) and return it."""
    info: dict[str, Any] = {
        "created": time.time(),
        "pid": os.getpid(),
        "base_model": base_model,
        "base_model_file_sha256": base_model_file_sha256,
        "data_hash": data_hash,
        "device": device,
        "packages": _package_versions(),
        "git": git_state(),
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "argv": scrub_argv(list(sys.argv)),
        "env": {k: os.environ[k] for k in ENV_RECORDED if k in os.environ},
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),  # a requeued job finds its own run by it
        "extra": extra or {},
    }
    info = scrub_obj(info)
    _write_atomic(Path(run_dir) / PROVENANCE_FILE, json.dumps(info, indent=2, default=str) + "\n")
    return info


@dataclass
class RunInfo:
    """What a client shows about one run, read from its directory."""

    name: str
    path: Path
    preset: str | None
    model: str | None
    status: str  # "running" | "finished" | "failed" | "interrupted" | "unknown"
    step: int | None
    max_steps: int | None
    best_val_loss: float | None
    last_loss: float | None
    started: float | None  # unix time
    updated: float | None  # mtime of events.jsonl
    pid: int | None
    stopping: bool = False  # running, and the trainer has acknowledged a stop signal
    # damaged files, named: "events.jsonl ends in a torn line …"
    problems: list[str] = field(default_factory=list)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _preset_summary(run_dir: Path) -> tuple[str | None, str | None]:
    """(preset name, model id) from preset.toml, for runs that have not started yet."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    try:
        data = tomllib.loads((run_dir / PRESET_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, None
    model = data.get("model", {})
    return data.get("name"), model.get("id") if isinstance(model, dict) else None


def pid_alive(pid: int | None, started: float | None) -> bool:
    """True when `pid` is a live tuner/python process that existed by `started` (+5 s); guards pid reuse."""
    if not pid:
        return False
    import psutil

    try:
        if not psutil.pid_exists(pid):
            return False
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if started is not None and proc.create_time() > started + 5:
            return False  # a newer process got the recycled pid
        try:
            cmdline = " ".join(proc.cmdline()).lower()
        except psutil.AccessDenied:
            return True  # another user's process: the create-time check has to do
        return "tuner" in cmdline or "python" in cmdline
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.Error:
        return False


def run_info(run_dir: Path) -> RunInfo:
    """Summarise a run directory: status, progress and losses from its events (a bounded read)."""
    run_dir = Path(run_dir)
    events_path = run_dir / EVENTS_FILE
    fold = fold_event_file(events_path)
    preset, model, status, stopping = fold.preset, fold.model, fold.final_status, fold.stopping
    step, max_steps, pid = fold.step, fold.max_steps, fold.pid
    best, last_loss, started = fold.best_val, fold.last_loss, fold.started_time
    if preset is None or model is None:
        p, m = _preset_summary(run_dir)
        preset, model = preset or p, model or m
    if pid is None:
        prov = _read_json(run_dir / PROVENANCE_FILE)  # written before run_started, while loading
        pid, started = prov.get("pid"), started or prov.get("created")
    if started is None:
        started = _mtime(run_dir / PRESET_FILE) or _mtime(run_dir)
    holder = read_lock_holder(run_dir)
    if holder is not None and pid_alive(*holder):
        # A trainer holds the run (a resume still loading has only the old final event to show).
        status, pid = "running", holder[0]
    elif status is None and pid is None:
        status = "unknown"
    elif status is None:
        # No final event: alive means running; dead means killed (SIGKILL, OOM, power loss).
        status = "running" if pid_alive(pid, started) else "interrupted"
    return RunInfo(
        name=run_dir.name,
        path=run_dir,
        preset=preset,
        model=model,
        status=status,
        step=step,
        max_steps=max_steps,
        best_val_loss=best,
        last_loss=last_loss,
        started=started,
        updated=_mtime(events_path),
        pid=pid,
        stopping=stopping and status == "running",
        problems=[] if status == "running" else damaged_files(run_dir),
    )


def damaged_files(run_dir: Path) -> list[str]:
    """What is wrong with a run's own files, each named: a torn last event, an unreadable provenance.json."""
    problems = []
    events = run_dir / EVENTS_FILE
    try:
        with open(events, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() > 0:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    problems.append(
                        f"{EVENTS_FILE} ends in a torn line (the trainer was killed while writing it)"
                    )
    except OSError:
        pass
    prov = run_dir / PROVENANCE_FILE
    try:
        text = prov.read_text(encoding="utf-8")
        if not isinstance(json.loads(text), dict):
            raise ValueError
    except FileNotFoundError:
        pass
    except (OSError, ValueError):
        problems.append(
            f"{PROVENANCE_FILE} is not valid JSON (damaged; the run's pid and versions are unknown)"
        )
    return problems


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def is_run_dir(path: Path) -> bool:
    """True for a folder that holds a run (preset.toml, events.jsonl or provenance.json)."""
    return path.is_dir() and any((path / f).is_file() for f in (PRESET_FILE, EVENTS_FILE, PROVENANCE_FILE))


def _run_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return [p for p in root.iterdir() if not p.name.startswith(".") and is_run_dir(p)]


def list_runs(root: Path | None = None) -> list[RunInfo]:
    """Every run under `root` (default runs_root()), newest first."""
    infos = [run_info(p) for p in _run_dirs(Path(root) if root is not None else runs_root())]
    return sorted(infos, key=lambda r: (r.started or 0.0, r.name), reverse=True)


def resolve_run(ref: str | os.PathLike[str], root: Path | None = None) -> Path:
    """A run directory from a path, a run name, a unique name prefix, or "latest"."""
    root = Path(root) if root is not None else runs_root()
    ref_s = str(ref)
    hint = "run `tuner runs` to see the runs"
    if ref_s == "latest":
        runs = list_runs(root)
        if not runs:
            raise TunerError(f"there are no runs in {root} yet", kind="config", hint=hint)
        return runs[0].path
    as_path = Path(ref_s).expanduser()
    if is_run_dir(as_path):
        return as_path
    if is_run_dir(root / ref_s):
        return root / ref_s
    matches = sorted(p for p in _run_dirs(root) if p.name.startswith(ref_s))
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(p.name for p in matches[:5]) + (", …" if len(matches) > 5 else "")
        raise TunerError(f"{ref_s!r} matches several runs in {root}: {names}", kind="config", hint=hint)
    raise TunerError(f"no run matches {ref_s!r} in {root}", kind="config", hint=hint)


def resolve_run_ref(ref: str, root: Path | None = None) -> tuple[Path, str | None]:
    """ "RUN[:checkpoint]" → (run directory, checkpoint or None); RUN as resolve_run takes it."""
    try:
        return resolve_run(ref, root), None
    except TunerError:
        run, sep, checkpoint = ref.rpartition(":")
        if not sep or not run or not checkpoint:
            raise
    return resolve_run(run, root), checkpoint


def find_job_run(job_id: str, preset: str, root: Path | None = None) -> Path | None:
    """The newest interrupted run of `preset` started by SLURM job `job_id` that has a checkpoint to resume."""
    for run_dir in sorted(_run_dirs(root or runs_root()), key=lambda p: p.name, reverse=True):
        if str(_read_json(run_dir / PROVENANCE_FILE).get("slurm_job_id")) != str(job_id):
            continue
        info = run_info(run_dir)
        if info.preset == preset and info.status == "interrupted" and complete_checkpoints(run_dir):
            return run_dir
    return None


def _checkpoint_step(path: Path) -> int | None:
    suffix = path.name[len(CHECKPOINT_PREFIX) :] if path.name.startswith(CHECKPOINT_PREFIX) else ""
    return int(suffix) if suffix.isdigit() else None


def _checkpoint_dirs(run_dir: Path) -> list[tuple[int, Path]]:
    folder = Path(run_dir) / CHECKPOINTS_DIR
    if not folder.is_dir():
        return []
    found = [(_checkpoint_step(p), p) for p in folder.iterdir() if p.is_dir()]
    return sorted((s, p) for s, p in found if s is not None)


def complete_checkpoints(run_dir: Path) -> list[Path]:
    """`checkpoints/checkpoint-<N>` folders that hold the COMPLETE marker, by step."""
    return [p for _, p in _checkpoint_dirs(run_dir) if (p / COMPLETE_MARKER).is_file()]


def incomplete_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoint folders without the COMPLETE marker and `.tmp-*` leftovers (interrupted saves)."""
    missing = [p for _, p in _checkpoint_dirs(run_dir) if not (p / COMPLETE_MARKER).is_file()]
    folder = Path(run_dir) / CHECKPOINTS_DIR
    tmp = sorted(folder.glob(f"{TMP_PREFIX}*")) if folder.is_dir() else []
    return missing + tmp
