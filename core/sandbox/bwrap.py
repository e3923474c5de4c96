"""The bubblewrap command line: what the sandbox sees of the host, and the probe that it works here.

Read-only: /usr (and the /bin, /lib… links or folders of the host's layout) and the few /etc files
that dynamic linking and Debian's alternatives need. Generated: /etc/passwd and /etc/group naming
the one user. Fresh and size-limited: /tmp and the home folder. Everything else (the host's files,
network, other processes, IPC, hostname) is out of reach; further user namespaces are disabled.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

from core.errors import TunerError

HOME = "/home/user"
USER, UID = "user", 1000
HOSTNAME = "sandbox"
PATH = "/usr/local/bin:/usr/bin:/bin"
_ROOT_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Enough of /etc for the dynamic linker, Debian's alternatives (awk → mawk) and name lookups.
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "nsswitch.conf", "localtime")
_INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap)"
)


def write_identity(folder: Path) -> tuple[Path, Path]:
    """passwd and group files naming the sandbox's one user (so `whoami` and `ls -l` answer `user`)."""
    folder.mkdir(parents=True, exist_ok=True)
    passwd, group = folder / "passwd", folder / "group"
    passwd.write_text(f"root:x:0:0:root:/root:/bin/sh\n{USER}:x:{UID}:{UID}:{USER}:{HOME}:/bin/bash\n")
    group.write_text(f"root:x:0:\n{USER}:x:{UID}:\n")
    return passwd, group


def bwrap_argv(
    fixture: Path | None, identity: tuple[Path, Path], *, home_bytes: int, tmp_bytes: int
) -> list[str]:
    """bwrap and its options, up to (not including) the program to run inside."""
    exe = shutil.which("bwrap") or "bwrap"
    argv = [exe, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session"]
    argv += ["--hostname", HOSTNAME, "--uid", str(UID), "--gid", str(UID)]
    argv += ["--ro-bind", "/usr", "/usr"]
    for d in _ROOT_DIRS:
        if os.path.islink(d):
            argv += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            argv += ["--ro-bind", d, d]
    for name in _ETC:
        argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    argv += ["--ro-bind", str(identity[0]), "/etc/passwd", "--ro-bind", str(identity[1]), "/etc/group"]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    argv += ["--size", str(tmp_bytes), "--tmpfs", "/tmp"]
    argv += ["--size", str(home_bytes), "--tmpfs", HOME]
    if fixture is not None:
        argv += ["--ro-bind", str(fixture), "/fixture"]
    argv += ["--chdir", HOME, "--clearenv"]
    env = {
        "HOME": HOME,
        "USER": USER,
        "LOGNAME": USER,
        "SHELL": "/bin/bash",
        "PATH": PATH,
        "LC_ALL": "C.UTF-8",
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "TERM": "dumb",
    }
    for k, v in env.items():
        argv += ["--setenv", k, v]
    return argv


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[0] if lines else "no error message"


@functools.lru_cache(maxsize=1)
def sandbox_problem() -> str | None:
    """None when bubblewrap can build the sandbox here; else one line saying what is missing and how to get it."""
    if shutil.which("bwrap") is None:
        return f"--exec needs bubblewrap (bwrap), which is not installed: {_INSTALL_HINT}"
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tuner-probe-") as tmp:
        argv = bwrap_argv(None, write_identity(Path(tmp)), home_bytes=1 << 20, tmp_bytes=1 << 20)
        try:
            proc = subprocess.run(
                [*argv, "/bin/sh", "-c", "echo ok"], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"--exec cannot start bubblewrap: {e}"
    if proc.returncode == 0 and proc.stdout.strip() == "ok":
        return None
    why = _first_line(proc.stderr)
    return (
        f"--exec cannot build its sandbox here ({why}): bubblewrap needs unprivileged user namespaces, "
        "which containers such as RunPod or Docker pods usually forbid; run the execution check on a "
        "machine or VM that allows them (sysctl kernel.unprivileged_userns_clone=1 / "
        "user.max_user_namespaces > 0), e.g. `tuner eval --score PREDS.jsonl --exec` on your laptop"
    )


def require_sandbox() -> None:
    """Raise the one-line refusal when the sandbox cannot work here (never fall back to the host)."""
    problem = sandbox_problem()
    if problem:
        raise TunerError(problem, kind="config")
