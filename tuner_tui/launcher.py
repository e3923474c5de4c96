"""Start, stop and resume training runs as detached processes.

A run is `python -m core.cli run …` in its own session (`start_new_session=True`), with stdin
from /dev/null and stdout/stderr appended to a log file, so closing the TUI, a lost SSH
connection or a Ctrl-C in the terminal never reaches it. The TUI learns everything else from
the run directory (see tuner_tui.watch).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.runs import EVENTS_FILE, LOG_FILE, is_run_dir, pid_alive, run_info, runs_root

LAUNCH_LOG_DIR = ".tuner-tui"  # under the runs root; dot folders are not run directories


@dataclass
class Launch:
    """A process the TUI started."""

    argv: list[str]
    pid: int
    log_path: Path
    started: float
    runs_root: Path
    kind: str  # "run" | "smoke" | "resume"
    label: str
    run_dir: Path | None = None
    returncode: int | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)

    def poll(self) -> int | None:
        """Reap the process if it ended (no zombie) and return its exit code (None while running)."""
        if self.returncode is None and self.popen is not None:
            self.returncode = self.popen.poll()
        return self.returncode

    @property
    def alive(self) -> bool:
        return self.poll() is None


def toml_value(value: Any) -> str:
    """A value as a one-line TOML literal (for `--set key=value`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON strings are valid TOML basic strings
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items() if v is not None) + "}"
    raise TypeError(f"cannot write {value!r} as TOML")


def overrides_from(changes: dict[str, Any]) -> list[str]:
    """`{"train.lr": 1e-4}` → `["train.lr=0.0001"]`."""
    return [f"{key}={toml_value(value)}" for key, value in changes.items()]


def build_argv(
    target: str | None = None,
    *,
    overrides: Sequence[str] = (),
    max_steps: int | None = None,
    smoke: bool = False,
    resume: str | os.PathLike[str] | None = None,
    root: Path,
    python: str = sys.executable,
) -> list[str]:
    """The command line of a detached `tuner run`."""
    argv = [python, "-m", "core.cli", "run"]
    if resume is not None:
        argv += ["--resume", str(resume)]
    elif target:
        argv.append(str(target))
    for item in overrides:
        argv += ["--set", item]
    if smoke:
        argv.append("--smoke")
    elif max_steps:
        argv += ["--max-steps", str(max_steps)]
    argv += ["--runs-dir", str(root)]
    return argv


# Runs start at this niceness: on a busy CPU (a CPU run takes every core) the TUI then still gets
# the few milliseconds a key needs; training loses only what the TUI actually uses. GPU work is
# unaffected. 0 turns it off.
TRAINER_NICE = int(os.environ.get("TUNER_TRAINER_NICE", "10"))


def _niced(argv: list[str], nice: int) -> list[str]:
    """argv under `nice -n N` (nice execs: the pid stays the trainer's)."""
    tool = shutil.which("nice") if nice else None
    return [tool, "-n", str(nice), *argv] if tool else argv


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "run"


def launch(
    target: str | None = None,
    *,
    overrides: Sequence[str] = (),
    max_steps: int | None = None,
    smoke: bool = False,
    resume: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] | None = None,
    argv: list[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> Launch:
    """Start `tuner run` detached; returns at once (the run directory appears shortly after).

    `argv` replaces the command (tests use it to start a harmless process the same way).
    """
    root_path = Path(root if root is not None else runs_root()).expanduser().resolve()
    root_path.mkdir(parents=True, exist_ok=True)
    if argv is None:
        argv = build_argv(
            target, overrides=overrides, max_steps=max_steps, smoke=smoke, resume=resume, root=root_path
        )
    kind = "resume" if resume is not None else "smoke" if smoke else "run"
    label = Path(str(resume)).name if resume is not None else Path(str(target or "quickstart")).stem
    logs = root_path / LAUNCH_LOG_DIR
    logs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_path = logs / f"{stamp}-{_safe(label)}-{kind}.log"
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["TUNER_RUNS_DIR"] = str(root_path)
    started = time.time()
    with open(log_path, "ab") as out:
        out.write(f"$ {' '.join(argv)}\n".encode())
        out.flush()
        popen = subprocess.Popen(
            _niced(argv, TRAINER_NICE),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own session: no SIGHUP/SIGINT from our terminal
            close_fds=True,
            cwd=str(cwd) if cwd is not None else None,
            env=env,
        )
    return Launch(
        argv=argv,
        pid=popen.pid,
        log_path=log_path,
        started=started,
        runs_root=root_path,
        kind=kind,
        label=label,
        run_dir=Path(resume).resolve() if resume is not None and Path(str(resume)).is_dir() else None,
        popen=popen,
    )


def _pid_of(run_dir: Path) -> int | None:
    """The trainer pid recorded in a run directory (its lock holder, last run_started, else provenance.json)."""
    return run_info(run_dir).pid  # reads a bounded window, not the whole events file


def find_run_dir(launch: Launch) -> Path | None:
    """The run directory a launched trainer created (None until it exists).

    First the files the process has open (train.log is opened right after the directory is
    created), then directories created since the launch whose recorded pid is the launch's.
    """
    if launch.run_dir is not None:
        return launch.run_dir
    root = launch.runs_root
    try:
        import psutil

        for f in psutil.Process(launch.pid).open_files():
            p = Path(f.path)
            if p.name in (LOG_FILE, EVENTS_FILE) and p.parent.parent == root:
                launch.run_dir = p.parent
                return launch.run_dir
    except Exception:  # gone, zombie, no permission: fall back to the scan
        pass
    try:
        candidates = [p for p in root.iterdir() if not p.name.startswith(".") and p.is_dir()]
    except OSError:
        return None
    for p in sorted(candidates, key=lambda q: q.stat().st_mtime, reverse=True):
        try:
            if p.stat().st_mtime < launch.started - 2 or not is_run_dir(p):
                continue
        except OSError:
            continue
        if _pid_of(p) == launch.pid:
            launch.run_dir = p
            return p
    return None


class StopError(Exception):
    """The run cannot be stopped (not running, pid unknown)."""


def stop_run(run_dir: str | os.PathLike[str], *, force: bool = False) -> int:
    """Send SIGTERM to a running trainer (it checkpoints and ends 'interrupted'); returns the pid.

    With `force`, SIGKILL (no checkpoint). Refuses when the run is not running, so a recycled
    pid is never signalled.
    """
    info = run_info(Path(run_dir))
    if info.status != "running" or info.pid is None:
        raise StopError(f"{info.name} is not running (status: {info.status})")
    if not pid_alive(info.pid, info.started):
        raise StopError(f"{info.name}: process {info.pid} is gone")
    os.kill(info.pid, signal.SIGKILL if force else signal.SIGTERM)
    return info.pid


def stop_launch(launch: Launch) -> None:
    """SIGTERM a launched process that has no run directory/pid record yet (still loading)."""
    if launch.alive:
        os.kill(launch.pid, signal.SIGTERM)


def resume(run_dir: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None) -> Launch:
    """`tuner run --resume <run dir>`, detached; the same directory continues."""
    run_dir = Path(run_dir).resolve()
    info = run_info(run_dir)
    if info.status == "running":
        raise StopError(f"{info.name} is still running")
    if info.status == "finished":
        raise StopError(f"{info.name} finished: start a new run instead of resuming it")
    return launch(resume=run_dir, root=root if root is not None else run_dir.parent)
