"""Rules for commands that break the running system or lock its users out: permissions and owners,
power and services, killing processes, firewall rules, cron, the shell history, accounts.

Each function judges one resolved, unwrapped command (see core.data.danger_rules) by its arguments.
"""

from __future__ import annotations

import re

from core.data.danger_paths import (
    Ctx,
    critical_file,
    dir_label,
    has_flag,
    norm,
    positional,
)

__all__ = [
    "accounts_reason",
    "assignment_reason",
    "crontab_reason",
    "iptables_reason",
    "kill_reason",
    "permissions_reason",
    "pkill_reason",
    "service_reason",
    "systemctl_reason",
]

# ---------------------------------------------------------------------------------- permissions

_NUM_MODE = re.compile(r"[0-7]{1,4}\Z")
_SYMBOLIC_CLAUSE = re.compile(r"([ugoa]*)([-+=])([rwxXst]*)")


def _mode_effects(mode: str) -> set[str]:
    """What a chmod mode does that matters here: noexec, world_write, world_read, no_setuid."""
    out: set[str] = set()
    if _NUM_MODE.match(mode):
        digits = mode.zfill(3)
        owner, other = int(digits[-3]), int(digits[-1])
        if not owner & 1:
            out.add("noexec")
        if other & 2:
            out.add("world_write")
        if other & 4:
            out.add("world_read")
        return out
    for clause in mode.split(","):
        m = _SYMBOLIC_CLAUSE.fullmatch(clause)
        if not m:
            continue
        who, op, perms = m.groups()
        everyone = who in ("", "a") or "o" in who
        owner = who in ("", "a") or "u" in who
        if owner and ((op == "-" and "x" in perms) or (op == "=" and "x" not in perms.lower())):
            out.add("noexec")
        if everyone and op in "+=" and "w" in perms:
            out.add("world_write")
        if everyone and op in "+=" and "r" in perms:
            out.add("world_read")
        if owner and ((op == "-" and "s" in perms) or (op == "=" and "s" not in perms)):
            out.add("no_setuid")  # sudo, su and passwd only work setuid root
    return out


# Owners (chown USER[:GROUP]) and groups (chgrp GROUP) that system files legitimately have.
_ROOT_OWNERS = re.compile(r"(?:root|0)?(?:[:.](?:root|0|shadow|wheel))?\Z")
_ROOT_GROUPS = frozenset(["root", "0", "shadow", "wheel"])


def permissions_reason(name: str, args: list[str], ctx: Ctx) -> str | None:
    """Recursive chmod/chown of system trees; modes that stop programs running or expose /etc/shadow."""
    recursive = has_flag(args, "R", "--recursive")
    ops = [a for a in args if not (a.startswith("--") or re.fullmatch(r"-[RcfvhHLP]+", a))]
    if len(ops) < 2:
        return None
    mode, targets = ops[0], ops[1:]
    effects = _mode_effects(mode) if name == "chmod" else set()
    for t in targets:
        label = dir_label(t, ctx.cwd)
        if recursive and label:
            if name == "chmod" and re.fullmatch(r"0?777|[ugoa]*[+=]rwx", mode):
                return f"recursive chmod 777 on {label}"
            return f"recursive {name} on {label}"
        p = norm(t, ctx.cwd)
        crit = critical_file(t, ctx.cwd, overwrite=True)
        if name != "chmod":
            ok = mode in _ROOT_GROUPS if name == "chgrp" else _ROOT_OWNERS.match(mode)
            if (label or crit) and not ok:
                return f"{name} of {label or crit} away from root"
            continue
        if label and ("noexec" in effects or "world_write" in effects):
            return f"chmod {mode} on {label}"
        if crit and crit.startswith(("/bin", "/sbin", "/usr/", "/lib")) and effects & {"noexec", "no_setuid"}:
            return f"chmod {mode} on {crit} (breaks the system's programs)"
        secret = p in ("/etc/shadow", "/etc/gshadow", "/etc/sudoers")
        if (secret and effects & {"world_read", "world_write"}) or (crit and "world_write" in effects):
            return f"chmod {mode} on {p} (exposes the account database)"
    return None


# ---------------------------------------------------------------------------------- services, processes

_SYSTEMCTL_POWER = frozenset(["poweroff", "reboot", "halt", "kexec", "soft-reboot"])
_POWER_TARGETS = frozenset(
    ["poweroff.target", "reboot.target", "halt.target", "rescue.target", "emergency.target"]
)
# Units whose loss cuts a remote machine off: sshd, the network, the bus everything talks through.
_LIFELINE_UNITS = re.compile(
    r"(?:ssh|sshd|openssh-server|networking|network|NetworkManager|systemd-networkd|dbus|systemd-logind)"
    r"(?:\.service|\.socket)?\Z"
)


def systemctl_reason(args: list[str]) -> str | None:
    """Power verbs, rescue/emergency mode, and stopping the units a remote machine is reached through."""
    ops = positional(args, frozenset(["-H", "-M", "-t", "-p", "--host", "--machine", "--type", "--property"]))
    if not ops:
        return None
    verb, units = ops[0], ops[1:]
    if verb in _SYSTEMCTL_POWER:
        return "shutdown/reboot (systemctl)"
    if verb in ("start", "isolate") and any(u in _POWER_TARGETS for u in units):
        if any(u.startswith(("rescue", "emergency")) for u in units):
            return f"systemctl {verb} of single-user mode (stops every service, sshd included)"
        return "shutdown/reboot (systemctl)"
    if verb in ("stop", "disable", "mask", "kill"):
        unit = next((u for u in units if _LIFELINE_UNITS.match(u)), None)
        if unit:
            return f"systemctl {verb} {unit} (cuts off remote access)"
    return None


def service_reason(name: str, args: list[str]) -> str | None:
    """service sshd stop / chkconfig sshd off / update-rc.d ssh disable."""
    ops = positional(args)
    off = {"service": ("stop",), "chkconfig": ("off",), "update-rc.d": ("disable", "remove")}[name]
    if len(ops) >= 2 and _LIFELINE_UNITS.match(ops[0]) and ops[1] in off:
        return f"{name} {ops[0]} {ops[1]} (cuts off remote access)"
    return None


def kill_reason(args: list[str]) -> str | None:
    """PID -1 is every process the caller may signal; PID 1 is init, whose death panics the kernel."""
    if args[:1] in (["-l"], ["-L"], ["--list"]):
        return None
    i, sig = 0, None
    if args[:1] in (["-s"], ["-n"], ["--signal"]):
        sig, i = (args[1] if len(args) > 1 else None), 2
    elif args and args[0].startswith("-") and args[0] != "--":
        sig, i = args[0][1:], 1  # `kill -1 1234` sends signal 1; the pid list comes after
    pids = [a for a in args[i:] if a != "--"]
    if sig == "0":
        return None  # signal 0 only checks that the process exists
    if "-1" in pids:
        return "kill of every process (kill -1)"
    if "1" in pids:
        return "kill of init (PID 1)"
    return None


def pkill_reason(name: str, args: list[str]) -> str | None:
    """-u root with no pattern matches every root process; killing sshd locks out remote users."""
    takes = frozenset(
        [
            "-u",
            "-U",
            "-g",
            "-G",
            "-P",
            "-s",
            "-t",
            "-F",
            "--signal",
            "--uid",
            "--euid",
            "--parent",
            "-n",
            "-o",
        ]
    )
    user = next(
        (args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-u", "-U", "--uid", "--euid", "--user")), None
    )
    sig = next((a[1:] for a in args if re.fullmatch(r"-(?:\d+|[A-Z][A-Z0-9]+)", a)), None)
    if sig in ("HUP", "SIGHUP", "1", "USR1", "USR2", "0"):
        return None  # reload / status signals
    ops = positional(args, takes)
    if user in ("root", "0") and not ops:
        return f"kill of every root process ({name} -u root)"
    if any(o in ("sshd", "ssh") for o in ops):
        return "kill of sshd (cuts off remote access)"
    return None


def crontab_reason(args: list[str], ctx: Ctx) -> str | None:
    """crontab -r deletes every job without a backup; installing an empty file does the same."""
    if has_flag(args, "r"):
        return "removal of every cron job (crontab -r)"
    ops = positional(args, frozenset(["-u"]))
    if ops == ["/dev/null"] or (ops == ["-"] and ctx.stdin is not None and not ctx.stdin.strip()):
        return "replacing the crontab with nothing"
    return None


def iptables_reason(args: list[str]) -> str | None:
    """A DROP policy or an unconditional DROP on INPUT/OUTPUT cuts the SSH session that set it."""
    for i, a in enumerate(args[:-2]):
        if (
            a in ("-P", "--policy")
            and args[i + 1] in ("INPUT", "OUTPUT")
            and args[i + 2] in ("DROP", "REJECT")
        ):
            return f"firewall policy {args[i + 1]} {args[i + 2]} (cuts off remote access)"
    matches = {
        "-p",
        "-s",
        "-d",
        "-i",
        "-o",
        "-m",
        "--dport",
        "--sport",
        "--source",
        "--destination",
        "--protocol",
        "--in-interface",
        "--out-interface",
        "--match",
    }
    chain = next(
        (args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-A", "-I", "--append", "--insert")), None
    )
    target = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-j", "--jump")), None)
    if chain in ("INPUT", "OUTPUT") and target in ("DROP", "REJECT") and not matches & set(args):
        return f"firewall rule dropping all {chain} traffic (cuts off remote access)"
    return None


# ---------------------------------------------------------------------------------- history, accounts

_NO_HISTORY = re.compile(r"(?:HISTFILE=(?:/dev/null)?|HISTSIZE=0|HISTFILESIZE=0|SAVEHIST=0)\Z")


def assignment_reason(words: list[str]) -> str | None:
    """Why assignment words (`HISTFILE=/dev/null`, `export HISTSIZE=0`) are destructive, or None."""
    if any(_NO_HISTORY.match(w) for w in words):
        return "disabling the shell history"
    return None


def accounts_reason(name: str, args: list[str]) -> str | None:
    """An empty root password, or no root account at all."""
    ops = positional(args, frozenset(["-R", "--root", "-P", "--prefix"]))
    if name == "passwd" and has_flag(args, "d", "--delete"):
        return f"removal of {ops[0]}'s password" if ops else "removal of the password"
    if name == "usermod":
        for i, a in enumerate(args[:-1]):
            if a in ("-p", "--password") and args[i + 1] in ("", "''", '""'):
                return "setting an empty password"
    if name in ("userdel", "deluser") and "root" in ops:
        return "deletion of the root account"
    return None
