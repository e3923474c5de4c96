"""Run one shell command in a fresh copy of a fixture tree, inside bubblewrap, within limits.

Inside the sandbox a script copies the fixture into a size-limited tmpfs home, applies its modes,
runs the command under `timeout` and ulimits (processes, memory, CPU, file size) with stdin closed,
kills whatever the command left running (everything in the sandbox's PID namespace), then streams
back, as one small tar on a private pipe, the exit status and the resulting tree (a `find` listing of
types, modes and mtimes, and the SHA-256 of every readable file, hashed inside the sandbox). Stdout and stderr are capped; a command that
floods them, or outlives the wall-clock limit, is killed with the whole sandbox.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.sandbox.bwrap import bwrap_argv

_SCRIPT = r"""
exec 0</dev/null 3>&"$T_REPORT_FD"
eval "exec $T_REPORT_FD>&-"
umask 022
if ! cp -a /fixture/tree/. "$HOME"/ 2>/tmp/.setup-err; then echo copy >/tmp/.setup; fi
if [ -f /fixture/modes.sh ]; then (cd "$HOME" && sh /fixture/modes.sh) 2>>/tmp/.setup-err || echo modes >>/tmp/.setup; fi
(
  ulimit -u "$T_PROCS"; ulimit -v "$T_MEM_KB"; ulimit -t "$T_CPU"; ulimit -f "$T_FILE_BLOCKS"
  cd "$HOME" && exec timeout -k 1 "$T_TIME" bash --noprofile --norc -c "$1" 3>&-
)
echo $? >/tmp/.rc
kill -KILL -1 2>/dev/null
cd /
find "$HOME" -mindepth 1 -printf '%y\t%#m\t%T@\t%s\t%l\t%P\0' >/tmp/.listing 2>/dev/null
(cd "$HOME" && find . -type f -readable -print0 | xargs -0 -r sha256sum -z --) >/tmp/.hashes 2>/dev/null
tar --format=pax -C / -cf - tmp/.rc tmp/.listing tmp/.hashes \
    $( [ -f /tmp/.setup ] && echo tmp/.setup tmp/.setup-err ) >&3 2>/dev/null
exit 0
"""


@dataclass(frozen=True)
class Limits:
    """What one command may use; over any of them it is stopped and judged wrong."""

    time_s: float = 5.0
    memory_mb: int = 1024
    procs: int = 64
    output_bytes: int = 1 << 20  # stdout and stderr each
    disk_mb: int = 64  # the home folder (tmpfs)
    file_mb: int = 16  # any one file written


@dataclass(frozen=True)
class Entry:
    """One path of the resulting tree."""

    kind: str  # find's %y: f, d, l, p, s, …
    mode: int
    mtime: float
    size: int
    target: str | None = None  # symlink target
    sha256: str | None = None  # regular files whose contents could be read


@dataclass
class Outcome:
    """What happened to one command."""

    exit_code: int | None  # None: killed before the sandbox reported (flood or wall-clock limit)
    stdout: str
    stderr: str
    tree: dict[str, Entry] | None
    seconds: float
    timed_out: bool = False
    output_flood: bool = False
    setup_error: str | None = None  # the fixture could not be copied in: not the command's fault
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Ran to completion, exited 0, within every limit."""
        return self.exit_code == 0 and not self.timed_out and not self.output_flood and self.tree is not None


class _Reader(threading.Thread):
    """Drains one pipe into memory, up to a cap; past the cap it calls `on_flood` once and discards."""

    def __init__(self, pipe, cap: int | None, on_flood=None) -> None:
        super().__init__(daemon=True)
        self.pipe, self.cap, self.on_flood = pipe, cap, on_flood
        self.buf = bytearray()
        self.flooded = False

    def run(self) -> None:
        while chunk := self.pipe.read1(65536) if hasattr(self.pipe, "read1") else self.pipe.read(65536):
            if self.flooded:
                continue
            self.buf += chunk
            if self.cap is not None and len(self.buf) > self.cap:
                self.flooded = True
                del self.buf[self.cap :]
                if self.on_flood:
                    self.on_flood()


def _parse_listing(raw: bytes) -> dict[str, tuple[str, int, float, int, str | None]]:
    out: dict[str, tuple[str, int, float, int, str | None]] = {}
    for rec in raw.split(b"\0"):
        if not rec:
            continue
        parts = rec.decode("utf-8", "surrogateescape").split("\t", 5)
        if len(parts) != 6:
            continue
        kind, mode, mtime, size, target, path = parts
        out[path] = (kind, int(mode, 8), float(mtime), int(size), target if kind == "l" else None)
    return out


def _parse_hashes(raw: bytes) -> dict[str, str]:
    """`sha256sum -z` output ("<hex>  ./path" records, NUL-separated) as {path: hex}."""
    out: dict[str, str] = {}
    for rec in raw.split(b"\0"):
        digest, sep, path = rec.decode("utf-8", "surrogateescape").partition("  ")
        if sep and path.startswith("./"):
            out[path[2:]] = digest
    return out


def _read_report(blob: bytes) -> tuple[int | None, dict[str, Entry] | None, str | None]:
    """(exit code, tree, setup error) from the tar the sandbox streamed back."""
    try:
        tar = tarfile.open(fileobj=io.BytesIO(blob), mode="r:")  # noqa: SIM115 - in memory; read below
        members = {m.name: m for m in tar.getmembers()}
    except (tarfile.TarError, EOFError):
        return None, None, None

    def text(name: str) -> str | None:
        m = members.get(name)
        f = tar.extractfile(m) if m is not None and m.isfile() else None
        return f.read().decode("utf-8", "replace") if f else None

    setup = text("tmp/.setup")
    setup_err = (text("tmp/.setup-err") or "").strip().splitlines()
    rc_text = (text("tmp/.rc") or "").strip()
    listing = members.get("tmp/.listing")
    if not rc_text.isdigit() or listing is None:
        return None, None, None
    raw = tar.extractfile(listing)
    stat = _parse_listing(raw.read() if raw else b"")
    hashes_file = tar.extractfile(members["tmp/.hashes"]) if "tmp/.hashes" in members else None
    hashes = _parse_hashes(hashes_file.read()) if hashes_file else {}
    tree = {
        path: Entry(kind, mode, mtime, size, target, hashes.get(path) if kind == "f" else None)
        for path, (kind, mode, mtime, size, target) in stat.items()
    }
    why = f"{setup.strip()}: {setup_err[0] if setup_err else 'failed'}" if setup else None
    return int(rc_text), tree, why


def run_in_sandbox(
    command: str, fixture: Path, identity: tuple[Path, Path], limits: Limits = Limits()
) -> Outcome:
    """Run `command` with bash on a fresh copy of `fixture` (a folder with tree/ and modes.sh)."""
    argv = bwrap_argv(fixture, identity, home_bytes=limits.disk_mb << 20, tmp_bytes=limits.disk_mb << 20)
    env_vars = {
        "T_PROCS": str(limits.procs),
        "T_MEM_KB": str(limits.memory_mb * 1024),
        "T_CPU": str(max(1, int(limits.time_s + 1))),
        "T_FILE_BLOCKS": str(limits.file_mb * 1024),  # bash's ulimit -f counts 1024-byte blocks
        "T_TIME": f"{limits.time_s:g}",
    }
    for k, v in env_vars.items():
        argv += ["--setenv", k, v]
    report_r, report_w = os.pipe()
    argv += ["--setenv", "T_REPORT_FD", str(report_w)]
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*argv, "/bin/bash", "--noprofile", "--norc", "-c", _SCRIPT, "tuner-sandbox", command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=(report_w,),
        start_new_session=True,
    )
    os.close(report_w)
    # bwrap passes inherited descriptors through by number; the script moves the report pipe to fd 3.
    killed = threading.Event()

    def kill() -> None:
        if not killed.is_set():
            killed.set()
            try:
                os.killpg(proc.pid, 9)
            except ProcessLookupError:
                pass

    out = _Reader(proc.stdout, limits.output_bytes, kill)
    err = _Reader(proc.stderr, limits.output_bytes, kill)
    rep = _Reader(os.fdopen(report_r, "rb"), None)
    for r in (out, err, rep):
        r.start()
    # A timer, not wait(timeout=…): that polls with sleeps and would add ~40 ms to every command.
    # The script's own `timeout` fires first; this catches a sandbox that hangs around it.
    watchdog = threading.Timer(limits.time_s + 10, kill)
    watchdog.start()
    try:
        proc.wait()
    finally:
        watchdog.cancel()
    for r in (out, err, rep):
        r.join(timeout=5)
    seconds = time.perf_counter() - started
    flood = out.flooded or err.flooded
    code, tree, setup = (None, None, None) if killed.is_set() else _read_report(bytes(rep.buf))
    timed_out = code in (124, 137) or (killed.is_set() and not flood)
    return Outcome(
        exit_code=code,
        stdout=out.buf.decode("utf-8", "replace"),
        stderr=err.buf.decode("utf-8", "replace"),
        tree=tree,
        seconds=seconds,
        timed_out=timed_out,
        output_flood=flood,
        setup_error=setup,
    )
