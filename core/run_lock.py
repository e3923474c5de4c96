"""One trainer per run directory: an OS lock held for the trainer's life.

`flock` on `<run>/.lock` dies with its process (kill -9, OOM, power loss leave nothing stuck).
The file also says who holds it (pid and start time), so a second trainer is refused naming
the pid, and readers (`tuner runs`, the TUI) can tell a run being resumed — still loading, its
last event an old `interrupted` — from one nobody trains. Readers never take the lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from core.errors import TunerError

LOCK_FILE = ".lock"


@dataclass
class RunLock:
    """A held run-directory lock; release() (or process exit) frees it."""

    path: Path
    handle: IO[str] | None

    def release(self) -> None:
        """Free the lock and say nobody holds it."""
        if self.handle is None:
            return
        try:
            self.handle.seek(0)
            self.handle.truncate()
            fcntl.flock(self.handle, fcntl.LOCK_UN)
        finally:
            self.handle.close()
            self.handle = None


def acquire(run_dir: Path) -> RunLock:
    """Take the run's lock, or refuse in one line naming the process that trains it."""
    path = Path(run_dir) / LOCK_FILE
    # Never truncate before holding it: the holder's pid is in it. Held open for the lock's life.
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - released by RunLock.release()
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = read_holder(run_dir)
        handle.close()
        who = f"pid {holder[0]}" if holder else "another process"
        raise TunerError(
            f"{Path(run_dir).name} is already being trained by {who}",
            kind="locked",
            hint="stop that trainer first (tuner runs shows it; Stop in the TUI), or wait for it",
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"pid": os.getpid(), "started": time.time()}) + "\n")
    handle.flush()
    return RunLock(path, handle)


def read_holder(run_dir: Path) -> tuple[int, float] | None:
    """(pid, start time) written by the last trainer that held the lock; None when free or never held."""
    try:
        data = json.loads((Path(run_dir) / LOCK_FILE).read_text(encoding="utf-8") or "null")
        return int(data["pid"]), float(data["started"])
    except (OSError, ValueError, TypeError, KeyError):
        return None
