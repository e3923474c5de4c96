"""Shared ground for the dangerous-command rules: the Ctx a rule sees, wrapper peeling, path classes.

Used by core.data.danger_rules (per-command rules), core.data.danger_code (code run by interpreters)
and core.data.safety (parsing and orchestration).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

CANNOT_VERIFY = "cannot verify: "


@dataclass
class Ctx:
    """What a rule may know beyond argv: where it runs, what feeds it, and how to judge nested code."""

    cwd: str | None = None  # from an earlier `cd` on the same line ("~", "/", ...), else unknown
    stdin: str | None = None  # the command's input when it is known text (echo ... |, <<<, heredoc)
    feeders: list[list[str]] = field(default_factory=list)  # argv piping into this one, nearest first
    judge_argv: Callable[[list[str]], str | None] = lambda argv: None  # a nested plain command
    judge_code: Callable[[str], str | None] = lambda text: None  # nested shell text (bash -c, ssh)


# ---------------------------------------------------------------------------------- wrappers

# Reserved words and prefixes that come before the real command word.
_PREFIX_WORDS = frozenset(["then", "do", "else", "elif", "if", "while", "until", "!", "{", "time"])
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
# Wrapper → its options that take a separate argument: the wrapped command follows them.
_WRAPPERS: dict[str, frozenset[str]] = {
    "sudo": frozenset(
        [
            "-u",
            "-g",
            "-h",
            "-p",
            "-r",
            "-t",
            "-U",
            "-C",
            "-D",
            "-T",
            "--user",
            "--group",
            "--host",
            "--prompt",
            "--role",
            "--type",
            "--other-user",
            "--close-from",
            "--chdir",
            "--command-timeout",
        ]
    ),
    "doas": frozenset(["-u", "-C"]),
    "pkexec": frozenset(["--user"]),
    "runuser": frozenset(["-u", "-g", "-G", "--user", "--group", "--supp-group"]),
    "env": frozenset(["-u", "-C", "--unset", "--chdir"]),
    "nohup": frozenset(),
    "time": frozenset(["-f", "-o", "--format", "--output"]),
    "command": frozenset(),
    "exec": frozenset(["-a"]),
    "builtin": frozenset(),
    "nice": frozenset(["-n", "--adjustment"]),
    "ionice": frozenset(["-c", "-n", "--class", "--classdata"]),
    "stdbuf": frozenset(["-i", "-o", "-e"]),
    "setsid": frozenset(),
    "timeout": frozenset(["-s", "-k", "--signal", "--kill-after"]),
    "busybox": frozenset(),  # `busybox rm -rf /` is rm
    "toybox": frozenset(),
    "unbuffer": frozenset(),
    "caffeinate": frozenset(),
    "strace": frozenset(["-o", "-e", "-p", "-s", "-u"]),
    "taskset": frozenset(["-c", "--cpu-list"]),
    "chroot": frozenset(["--userspec", "--groups"]),
    "flock": frozenset(["-w", "-E", "--timeout", "--conflict-exit-code"]),
    "systemd-run": frozenset(["-u", "-p", "--unit", "--property"]),
}
# Wrappers with one positional operand before the command: timeout DURATION, chroot NEWROOT,
# flock LOCKFILE, taskset MASK (only without -c, where the list is the option's argument).
_POSITIONAL_WRAPPERS = frozenset(["timeout", "chroot", "flock"])


def base(word: str) -> str:
    """Command name without its directory and a leading backslash (`/bin/rm`, `\\rm` → rm)."""
    return word.rsplit("/", 1)[-1].lstrip("\\")


def unwrap_index(argv: list[str]) -> int:
    """Index of the real command word after sudo/env/nohup/... and assignments; -1 for `command -v x`."""
    i, n = 0, len(argv)
    while i < n:
        w = argv[i]
        if w in _PREFIX_WORDS or ASSIGNMENT.match(w):
            i += 1
            continue
        name = base(w)
        takes_arg = _WRAPPERS.get(name)
        if takes_arg is None:
            break
        if name == "command" and i + 1 < n and argv[i + 1] in ("-v", "-V"):
            return -1  # `command -v rm` only looks the command up
        i += 1
        cpu_list = False
        while i < n and argv[i].startswith("-") and argv[i] != "-":
            opt = argv[i]
            i += 1
            cpu_list = cpu_list or opt in ("-c", "--cpu-list")
            if opt == "--":
                break
            if opt in takes_arg and "=" not in opt:
                i += 1
        if (name in _POSITIONAL_WRAPPERS or (name == "taskset" and not cpu_list)) and i < n:
            i += 1
    return i


def unwrap(argv: list[str]) -> list[str]:
    """argv without its wrappers (empty for `command -v rm`)."""
    i = unwrap_index(argv)
    return [] if i < 0 else argv[i:]


# ---------------------------------------------------------------------------------- paths

# Disks, partitions and raw memory: writing to them destroys data (reading them is fine).
DISK = re.compile(
    r"/dev/(?:[shv]d[a-z]+\d*|xvd[a-z]+\d*|nvme\d+n\d+(?:p\d+)?|mmcblk\d+(?:p\d+)?|md\d+|dm-\d+"
    r"|mapper/\S+|r?disk\d+(?:s\d+)?|disk/by-[a-z-]+/\S+|mem|kmem|port)\Z"
)
# Directories whose loss (or recursive chmod/chown) breaks the system or loses everyone's data.
_SYSTEM_DIRS = re.compile(
    r"/(?:bin|boot|dev|etc|home|lib|lib32|lib64|libx32|opt|proc|root|run|sbin|srv|sys|usr|var|snap"
    r"|usr/(?:bin|sbin|lib|lib64|local|share|include)|var/lib|var/log|var/lib/dpkg|var/lib/rpm|boot/efi"
    r"|lib/modules|System|Library|Users|Applications)\Z"
)
# Files the system cannot boot, log in or authorize without: deleting or overwriting them is fatal.
_CRITICAL_ETC = frozenset(
    [
        "passwd",
        "shadow",
        "group",
        "gshadow",
        "sudoers",
        "fstab",
        "ld.so.preload",
        "ld.so.conf",
        "inittab",
        "pam.conf",
        "login.defs",
        "nsswitch.conf",
    ]
)
# Binaries whose replacement or removal locks everyone out (sudo, login, the shells, sshd ...).
_CRITICAL_BINARIES = frozenset(
    [
        "sudo",
        "su",
        "sh",
        "bash",
        "dash",
        "zsh",
        "login",
        "passwd",
        "ssh",
        "sshd",
        "systemd",
        "init",
        "ls",
        "cp",
        "mv",
        "rm",
        "cat",
        "chmod",
        "chown",
        "mount",
        "umount",
        "sudoedit",
        "pkexec",
        "apt",
        "apt-get",
        "dpkg",
        "rpm",
        "yum",
        "dnf",
        "kill",
        "ps",
        "env",
        "grep",
        "sed",
        "ln",
    ]
)
_BIN_DIRS = frozenset(["/bin", "/sbin", "/usr/bin", "/usr/sbin"])
_LIB_DIR = re.compile(r"/(?:usr/)?lib(?:32|64|x32)?\Z")
# Logs an intruder wipes to hide: login records, auth and system logs.
_SYSTEM_LOGS = frozenset(
    [
        "wtmp",
        "btmp",
        "lastlog",
        "faillog",
        "auth.log",
        "secure",
        "syslog",
        "messages",
        "kern.log",
        "audit",
        "audit.log",
    ]
)
_HISTORY_FILES = frozenset([".bash_history", ".zsh_history", ".sh_history", ".ash_history"])
_HOME_DIR = re.compile(r"~|/root|/home/[^/]+|/Users/[^/]+")  # where shell history lives
# The last component is a glob for "everything in the directory": `*`, `.*`, `.[!.]*`, `.??*`.
_CONTENTS_GLOB = re.compile(r"\.?\*|\.\[!\.\]\*|\.\?\?\*")
_HOME = re.compile(r"(?:~|\$HOME|\$\{HOME\}|/(?:home|Users)/(?:\$\{?(?:USER|LOGNAME)\}?))(?=/|\Z)")


def norm(path: str, cwd: str | None) -> str:
    """Absolute form of `path` ("~/..." for home), joined to a known cwd; relative if cwd is unknown."""
    m = _HOME.match(path)
    p = "~" + path[m.end() :] if m else path
    if not p.startswith(("/", "~")):
        if cwd is None:
            return p
        p = cwd.rstrip("/") + "/" + p
    root, rest = ("~", p[1:]) if p.startswith("~") else ("", p)
    rest = posixpath.normpath(re.sub(r"/{2,}", "/", rest or "/"))
    if rest.startswith("//"):
        rest = rest[1:]
    return root + ("" if root and rest == "/" else rest)


def _split_contents(p: str) -> tuple[str, bool]:
    """(directory, True) when the last component globs a whole directory's contents, else (p, False)."""
    head, _, last = p.rpartition("/")
    if head or p.startswith("/"):
        if _CONTENTS_GLOB.fullmatch(last):
            return head or "/", True
    elif p.startswith("~") and _CONTENTS_GLOB.fullmatch(last):
        return "~", True
    return p, False


def _label_of(p: str) -> str | None:
    if p in ("/", ""):
        return "/"
    if p == "~":
        return "the home directory"
    return p if _SYSTEM_DIRS.match(p) else None


def dir_label(path: str, cwd: str | None) -> str | None:
    """'/' / 'the home directory' / '/etc' when `path` is (the contents of) such a directory."""
    p = norm(path, cwd)
    if not p.startswith(("/", "~")):
        return None
    return _label_of(_split_contents(p)[0])


def contents_label(path: str, cwd: str | None) -> str | None:
    """Label of the directory when `path` is a glob over its whole contents (`/bin/*`)."""
    p, whole = _split_contents(norm(path, cwd))
    return _label_of(p) if whole else None


def critical_file(path: str, cwd: str | None, overwrite: bool = False) -> str | None:
    """A name for `path` if deleting (or, with overwrite, replacing) it breaks the system, else None."""
    p = norm(path, cwd)
    if p == "/proc/sysrq-trigger":
        return "the kernel SysRq trigger"
    head, _, name = p.rpartition("/")
    if p.startswith("/boot/"):
        return p  # kernels, initrds, the bootloader
    if (head == "/etc" and name in _CRITICAL_ETC) or p.startswith("/etc/pam.d/"):
        return p
    if (name in _HISTORY_FILES and _HOME_DIR.fullmatch(head)) or p == "$HISTFILE":
        return "the shell history"
    if head in _BIN_DIRS and (name in _CRITICAL_BINARIES or _CONTENTS_GLOB.fullmatch(name)):
        return p
    if _LIB_DIR.match(head) and name.startswith(("ld-linux", "libc.so")):
        return p
    if head in ("/var/log", "/var/log/audit") and (name in _SYSTEM_LOGS or _CONTENTS_GLOB.fullmatch(name)):
        return "the system logs"
    if not overwrite and contents_label(path, cwd):
        return f"every file in {contents_label(path, cwd)}"
    return None


def positional(args: list[str], takes_arg: frozenset[str] = frozenset()) -> list[str]:
    """Operands: arguments that are not options or option values (after `--`, everything)."""
    out, i, done = [], 0, False
    while i < len(args):
        a = args[i]
        if done or a == "-" or not a.startswith("-"):
            out.append(a)
        elif a == "--":
            done = True
        elif a in takes_arg:
            i += 1
        i += 1
    return out


def has_flag(args: list[str], short: str, long: str = "") -> bool:
    """True if a short option letter appears in any cluster (`-rf`) or the long form is given."""
    return any(
        (a.startswith("-") and not a.startswith("--") and short in a[1:]) or (long and a == long)
        for a in args
    )
