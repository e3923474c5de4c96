"""`tuner export` and `tuner merge` run from the TUI: their command lines, and following one to its end.

Unlike training these are child processes of the TUI (not detached): they take seconds to minutes,
their output is the progress to show, and quitting the TUI interrupts them (SIGINT: the CLI
removes its staging folder, so no partial export or merge is ever left looking complete). One job
at a time: a second request is refused in one line while one runs (two merges of a 7B model would
need twice the RAM).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tuner_tui.launcher import TRAINER_NICE, _niced

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_ARROW = re.compile(r"→\s*(\S.*)$")
_MERGE_METHOD_OPTIONS = ("linear", "cat", "svd", "ties", "dare_ties", "dare_linear")


def export_argv(
    run_dir: Path,
    fmt: str,
    *,
    quant: str | None = None,
    ollama: bool = False,
    force: bool = False,
    root: Path,
    python: str = sys.executable,
) -> list[str]:
    """The command line of `tuner export RUN --format F [--quant Q] [--ollama] [--force]`."""
    argv = [python, "-m", "core.cli", "export", str(run_dir), "--format", fmt]
    if quant:
        argv += ["--quant", quant]
    if ollama:
        argv.append("--ollama")
    if force:
        argv.append("--force")
    return argv + ["--runs-dir", str(root)]


def merge_argv(
    runs: Sequence[Path],
    out: str,
    *,
    method: str = "linear",
    weights: Sequence[float] | None = None,
    density: float | None = None,
    force: bool = False,
    root: Path,
    python: str = sys.executable,
) -> list[str]:
    """The command line of `tuner merge RUN RUN … --out NAME --method M [--weights …] [--density D]`."""
    argv = [python, "-m", "core.cli", "merge", *(str(r) for r in runs), "--out", out, "--method", method]
    if weights:
        argv += ["--weights", ",".join(f"{w:g}" for w in weights)]
    if density is not None:
        argv += ["--density", f"{density:g}"]
    if force:
        argv.append("--force")
    return argv + ["--runs-dir", str(root)]


def merge_methods() -> tuple[str, ...]:
    """PEFT's combination types that `tuner merge` offers (core's list when it imports)."""
    try:
        from core.adapter_merge import METHODS

        return tuple(METHODS)
    except ImportError:  # core without tuner merge: the CLI refuses a method it lacks anyway
        return _MERGE_METHOD_OPTIONS


def default_merge_name(names: Sequence[str]) -> str:
    """`merge-<first>-<second>` (and `-plus<N>` for more), a valid `--out` name."""
    name = "merge-" + "-".join(names[:2])
    if len(names) > 2:
        name += f"-plus{len(names) - 2}"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name)


def equal_weights(n: int) -> str:
    """ "0.5,0.5" for two runs: equal weights summing to 1, as the CLI's default."""
    return ",".join(f"{1 / n:.4g}" for _ in range(n)) if n else ""


@dataclass
class Job:
    """One `tuner export`/`tuner merge` the TUI started, and what it said so far."""

    kind: str  # "export" | "merge"
    label: str  # "export merged of quickstart-…", "merge of a + b"
    argv: list[str]
    started: float = field(default_factory=time.time)
    lines: list[str] = field(default_factory=list)
    returncode: int | None = None
    pid: int | None = None
    popen: subprocess.Popen[str] | None = field(default=None, repr=False, compare=False)

    @property
    def running(self) -> bool:
        return self.returncode is None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def step(self) -> str:
        """The latest line the command printed (its current step)."""
        return self.lines[-1] if self.lines else "starting…"

    def result(self) -> str:
        """Where the output went (success), else the one-line error."""
        if self.ok:
            for line in reversed(self.lines):
                if (m := _ARROW.search(line)) is not None:
                    return m.group(1).strip()
            return self.step
        for line in self.lines:
            if line.startswith("error:"):
                return line.removeprefix("error:").strip()
        if self.returncode in (-signal.SIGINT, 130):
            return "interrupted"
        return self.lines[-1] if self.lines else f"exit code {self.returncode}"


def run_job(job: Job, on_line: Callable[[Job], None], *, cwd: str | None = None) -> Job:
    """Run the job's command to its end, calling on_line after each line of output; blocking (a worker's)."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"  # lines as they are printed, not at exit
    env["COLUMNS"] = "1000"  # rich never wraps a path across lines
    try:
        popen = subprocess.Popen(
            _niced(job.argv, TRAINER_NICE),  # niced like training: keys stay quick while it merges
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            cwd=cwd,
            env=env,
        )
    except OSError as e:
        job.lines.append(f"error: cannot start {job.argv[0]}: {e}")
        job.returncode = 127
        on_line(job)
        return job
    job.popen, job.pid = popen, popen.pid
    assert popen.stdout is not None
    for raw in popen.stdout:
        line = raw.strip()
        if line:
            job.lines.append(line)
            on_line(job)
    job.returncode = popen.wait()
    on_line(job)
    return job


def interrupt(job: Job) -> None:
    """SIGINT a running job (the CLI cleans its staging folder up on KeyboardInterrupt)."""
    if job.popen is not None and job.popen.poll() is None:
        try:
            job.popen.send_signal(signal.SIGINT)
        except OSError:  # ended meanwhile
            pass


def merge_summary(run_dir: Path) -> str | None:
    """ "linear merge of a + b" for a run `tuner merge` wrote (its provenance says so), else None."""
    import json

    try:
        data = json.loads((Path(run_dir) / "provenance.json").read_text(encoding="utf-8"))
        merge = data["extra"]["merge"]
        names = [Path(s["run"]).name for s in merge["sources"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return f"{merge.get('method', '?')} merge of {' + '.join(names)}"
