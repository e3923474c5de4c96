"""Per-command rules for core.data.safety: given a resolved argv, what does it destroy, and why.

safety.py turns a command line into simple commands whose words are already quote-removed, with
variables substituted and wrappers (sudo, env, nohup ...) peeled off; the functions here judge one
such command by its name and arguments. Paths are classified structurally (which directory, which
file: core.data.danger_paths), never by matching the whole command text.
"""

from __future__ import annotations

import re

from core.data.danger_paths import (
    DISK,
    Ctx,
    base,
    contents_label,
    critical_file,
    dir_label,
    has_flag,
    norm,
    positional,
    unwrap,
)

# ---------------------------------------------------------------------------------- deleting


def _rm(args: list[str], ctx: Ctx) -> str | None:
    """rm -r of /, ~ or a system directory; plain rm of a file the system needs."""
    recursive = has_flag(args, "r") or has_flag(args, "R", "--recursive")
    for t in positional(args):
        if t.rstrip("/").rsplit("/", 1)[-1] in (".", ".."):
            continue  # rm refuses `.` and `..` (GNU, BSD and busybox alike)
        label = dir_label(t, ctx.cwd) if recursive else None
        if label:
            return f"recursive delete of {label}"
        crit = critical_file(t, ctx.cwd)
        if crit:
            return f"delete of {crit}"
    return None


# find predicates that pick some files: with none, a find over a directory takes all of it.
_FIND_FILTERS = frozenset(
    [
        "-name",
        "-iname",
        "-path",
        "-ipath",
        "-wholename",
        "-iwholename",
        "-regex",
        "-iregex",
        "-mtime",
        "-mmin",
        "-atime",
        "-amin",
        "-ctime",
        "-cmin",
        "-newer",
        "-anewer",
        "-cnewer",
        "-size",
        "-user",
        "-group",
        "-uid",
        "-gid",
        "-perm",
        "-empty",
        "-links",
        "-inum",
        "-samefile",
        "-lname",
        "-ilname",
        "-nouser",
        "-nogroup",
        "-used",
        "-newermt",
    ]
)


_NAME_TESTS = frozenset(
    [
        "-name",
        "-iname",
        "-path",
        "-ipath",
        "-wholename",
        "-iwholename",
        "-regex",
        "-iregex",
        "-lname",
        "-ilname",
    ]
)


def _by_name(expr: list[str]) -> bool:
    """True when a find expression picks files by name (`-name .DS_Store`), not just by type or age."""
    return any(a in _NAME_TESTS and expr[i + 1].strip("*.") != "" for i, a in enumerate(expr[:-1]))


def _find(args: list[str], ctx: Ctx) -> str | None:
    """find ROOT ... -delete / -exec rm: judged by the root and by whether anything narrows the search."""
    i = 0
    while i < len(args) and args[i] in ("-H", "-L", "-P", "-O0", "-O1", "-O2", "-O3"):
        i += 1
    roots = []
    while i < len(args) and not args[i].startswith("-") and args[i] not in ("(", "!", ")", ","):
        roots.append(args[i])
        i += 1
    roots = roots or ["."]
    expr = args[i:]
    deletes = "-delete" in expr
    execs = []
    for j, a in enumerate(expr):
        if a in ("-exec", "-execdir", "-ok", "-okdir"):
            end = j + 1
            while end < len(expr) and expr[end] not in (";", "+"):
                end += 1
            inner = expr[j + 1 : end]
            reason = ctx.judge_argv(inner)
            if reason:
                return reason
            execs.append(inner)
            inner = unwrap(inner)
            if inner and base(inner[0]) in ("rm", "shred", "unlink"):
                deletes = True
    for r in roots:
        label = dir_label(r, ctx.cwd)
        if deletes and (label == "/" or (label == "the home directory" and not _by_name(expr))):
            return f"delete of files across {label} (find)"
        if label and not any(a in _FIND_FILTERS for a in expr):
            # Nothing narrows the search: every file under the root is the target of -delete / -exec.
            if deletes and "-exec" not in expr and "-execdir" not in expr:
                return f"delete of every file under {label} (find)"
            for inner in execs:
                reason = ctx.judge_argv(
                    [norm(r, ctx.cwd).rstrip("/") + "/*" if w == "{}" else w for w in inner]
                )
                if reason:
                    return reason
    return None


_XARGS_ARG_OPTS = frozenset(
    [
        "-n",
        "-L",
        "-P",
        "-s",
        "-d",
        "-E",
        "-a",
        "-I",
        "-e",
        "-l",
        "--max-args",
        "--max-lines",
        "--max-procs",
        "--max-chars",
        "--delimiter",
        "--eof",
        "--arg-file",
        "--replace",
    ]
)


def _xargs(args: list[str], ctx: Ctx) -> str | None:
    """xargs CMD: the command itself, with its known input (echo / | xargs rm -rf), or fed by find."""
    i, replace = 0, None
    while i < len(args) and args[i].startswith("-") and args[i] != "-":
        opt = args[i]
        i += 1
        if opt == "--":
            break
        if opt == "-I" and i < len(args):
            replace = args[i]
        elif opt.startswith("-I") or opt.startswith("--replace="):
            replace = opt.split("=", 1)[1] if "=" in opt else opt[2:]
        elif opt == "-i":
            replace = "{}"
        if opt in _XARGS_ARG_OPTS:
            i += 1
    command = args[i:] or ["echo"]
    reason = ctx.judge_argv(command)
    if reason:
        return reason
    if ctx.stdin is not None:
        # Input is known text (echo / | xargs rm -rf): run the command the way xargs would.
        items = ctx.stdin.split()
        if replace:
            return next(
                (r for it in items if (r := ctx.judge_argv([w.replace(replace, it) for w in command]))), None
            )
        return ctx.judge_argv(command + items) if items else None
    inner = unwrap(command)
    if inner and base(inner[0]) in ("rm", "shred", "unlink"):
        for f in ctx.feeders:
            if f and base(f[0]) == "find":
                roots = [a for a in f[1:] if not a.startswith("-")][:1] or ["."]
                label = dir_label(roots[0], ctx.cwd)
                if label == "/" or (label == "the home directory" and not _by_name(f[1:])):
                    return f"delete of files found across {label} (find | xargs rm)"
    return None


def _shred(args: list[str], ctx: Ctx) -> str | None:
    """shred overwrites in place: a disk, or a file the system needs, is gone for good."""
    for t in positional(args, frozenset(["-n", "-s", "--iterations", "--size"])):
        if DISK.match(t):
            return "overwrite of a disk device"
        crit = critical_file(t, ctx.cwd)
        if crit:
            return f"destruction of {crit} (shred)"
    return None


# ---------------------------------------------------------------------------------- overwriting


def overwrite_reason(target: str, ctx: Ctx, append: bool = False) -> str | None:
    """Why writing to `target` (a redirection, tee, dd of=, cp/mv/ln destination) is destructive."""
    if DISK.match(target):
        return "overwrite of a disk device"
    p = norm(target, ctx.cwd)
    if p == "/proc/sysrq-trigger":
        return "write to the kernel SysRq trigger (instant reboot/crash)"
    if p == "/etc/ld.so.preload":
        return "write to /etc/ld.so.preload (loads a library into every program)"
    if append:
        return None  # appending to a config file is ordinary administration
    crit = critical_file(target, ctx.cwd, overwrite=True)
    return f"overwrite of {crit}" if crit else None


def _mkfs(name: str, args: list[str]) -> str | None:
    """A new filesystem erases whatever the device held."""
    # A filesystem on an image file (`mkfs.ext4 disk.img`, `mkswap /swapfile`) harms nothing;
    # on a device, an unknown target or no target at all it is treated as a format.
    reason = "filesystem format (mkswap)" if name == "mkswap" else "filesystem format (mkfs)"
    files = [a for a in args if not a.startswith("-") and ("." in a or "/" in a)]
    if any(a.startswith("/dev/") or "$" in a or "\x00" in a for a in args) or not files:
        return reason
    return None


def _dd(args: list[str], ctx: Ctx) -> str | None:
    """dd of= a disk, or of= a file the system needs."""
    for a in args:
        if a.startswith("of="):
            if DISK.match(a[3:]):
                return "raw write to a block device"
            return overwrite_reason(a[3:], ctx)
    return None


def _copy_like(name: str, args: list[str], ctx: Ctx) -> str | None:
    """cp / mv / ln / install: the destination is replaced; for mv the sources disappear too."""
    takes = frozenset(
        ["-t", "--target-directory", "-S", "--suffix", "-m", "--mode", "-o", "-g", "--owner", "--group"]
    )
    ops = positional(args, takes)
    target = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-t", "--target-directory")), None)
    if target is None and len(ops) >= 2:
        target, ops = ops[-1], ops[:-1]
    if target is None:
        return None
    if name in ("cp", "mv") and DISK.match(target):
        return "overwrite of a disk device"
    if name == "mv":
        for s in ops:
            label = dir_label(s, ctx.cwd) or critical_file(s, ctx.cwd, overwrite=True)
            if label:
                return f"move of {label} out of place"
        if norm(target, ctx.cwd) == "/dev/null":
            return "replacing /dev/null with a file"
    forced = name != "ln" or has_flag(args, "f", "--force")
    # Into a directory the file keeps its own name: `cp /bin/true /usr/bin/` would replace /usr/bin/true.
    dests = [target] + [
        target.rstrip("/") + "/" + base(s) for s in ops if s and not re.search(r"[*?[]", base(s))
    ]
    for d in dests:
        crit = critical_file(d, ctx.cwd, overwrite=True)
        if crit and (forced or crit == "the shell history"):
            return f"overwrite of {crit}" if name != "ln" else f"replacing {crit} with a link"
    return overwrite_reason(target, ctx) if name != "ln" else None


def _truncate(args: list[str], ctx: Ctx) -> str | None:
    """Truncating /etc/shadow, the system logs or a directory's every file destroys their content."""
    for t in positional(args, frozenset(["-s", "-r", "--size", "--reference"])):
        crit = critical_file(t, ctx.cwd, overwrite=True) or contents_label(t, ctx.cwd)
        if crit:
            return f"truncation of {crit}"
    return None


def _tee(args: list[str], ctx: Ctx) -> str | None:
    """tee FILE overwrites like `>` (tee -a appends like `>>`)."""
    append = has_flag(args, "a", "--append")
    return next((r for t in positional(args) if (r := overwrite_reason(t, ctx, append))), None)


def _sed(args: list[str], ctx: Ctx) -> str | None:
    """sed -i on the account databases bypasses vipw/visudo's locking and syntax checks."""
    if not (has_flag(args, "i") or any(a.startswith("--in-place") for a in args)):
        return None
    ops = positional(args, frozenset(["-e", "-f", "--expression", "--file"]))
    scripted = any(a in ("-e", "-f") or a.startswith(("--expression", "--file")) for a in args)
    for t in ops if scripted else ops[1:]:  # without -e/-f the first operand is the script
        p = norm(t, ctx.cwd)
        if p in ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/sudoers"):
            return f"in-place edit of {p}"
    return None


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


def _permissions(name: str, args: list[str], ctx: Ctx) -> str | None:
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

_POWER = frozenset(["shutdown", "reboot", "halt", "poweroff"])
_SYSTEMCTL_POWER = frozenset(["poweroff", "reboot", "halt", "kexec", "soft-reboot"])
_POWER_TARGETS = frozenset(
    ["poweroff.target", "reboot.target", "halt.target", "rescue.target", "emergency.target"]
)
# Units whose loss cuts a remote machine off: sshd, the network, the bus everything talks through.
_LIFELINE_UNITS = re.compile(
    r"(?:ssh|sshd|openssh-server|networking|network|NetworkManager|systemd-networkd|dbus|systemd-logind)"
    r"(?:\.service|\.socket)?\Z"
)


def _systemctl(args: list[str]) -> str | None:
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


def _service_off(name: str, args: list[str]) -> str | None:
    """service sshd stop / chkconfig sshd off / update-rc.d ssh disable."""
    ops = positional(args)
    off = {"service": ("stop",), "chkconfig": ("off",), "update-rc.d": ("disable", "remove")}[name]
    if len(ops) >= 2 and _LIFELINE_UNITS.match(ops[0]) and ops[1] in off:
        return f"{name} {ops[0]} {ops[1]} (cuts off remote access)"
    return None


def _kill(args: list[str]) -> str | None:
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


def _pkill(name: str, args: list[str]) -> str | None:
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


def _crontab(args: list[str], ctx: Ctx) -> str | None:
    """crontab -r deletes every job without a backup; installing an empty file does the same."""
    if has_flag(args, "r"):
        return "removal of every cron job (crontab -r)"
    ops = positional(args, frozenset(["-u"]))
    if ops == ["/dev/null"] or (ops == ["-"] and ctx.stdin is not None and not ctx.stdin.strip()):
        return "replacing the crontab with nothing"
    return None


def _rsync(args: list[str], ctx: Ctx) -> str | None:
    """--delete makes the destination mirror the source: from an empty dir into / it deletes everything."""
    if not any(a.startswith("--del") for a in args):
        return None
    takes = frozenset(
        [
            "-e",
            "-f",
            "-T",
            "-M",
            "--rsh",
            "--rsync-path",
            "--filter",
            "--exclude",
            "--include",
            "--files-from",
            "--log-file",
        ]
    )
    ops = positional(args, takes)
    label = dir_label(ops[-1], ctx.cwd) if len(ops) >= 2 else None
    return f"rsync --delete into {label}" if label else None


def _git(args: list[str], ctx: Ctx) -> str | None:
    """git clean -f deletes untracked files: run in ~ or / (a dotfiles repo) that is nearly everything."""
    where, i = ctx.cwd, 0
    while i < len(args) and args[i].startswith("-"):
        if args[i] == "-C" and i + 1 < len(args):
            where = norm(args[i + 1], ctx.cwd)
            i += 1
        i += 1
    if args[i : i + 1] != ["clean"] or not has_flag(args[i + 1 :], "f", "--force"):
        return None
    paths = positional(args[i + 1 :], frozenset(["-e", "--exclude"])) or ["."]
    if where is None and not any(p.startswith(("/", "~", "$")) for p in paths):
        return None
    label = next((lb for p in paths if (lb := dir_label(p, where))), None)
    return f"git clean -f in {label}" if label else None


def _iptables(args: list[str]) -> str | None:
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


def _accounts(name: str, args: list[str]) -> str | None:
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


# ---------------------------------------------------------------------------------- dispatch

_DEVICE_TOOLS = frozenset(["blkdiscard"])


def argv_reason(argv: list[str], ctx: Ctx) -> str | None:
    """Reason the unwrapped command `argv` is destructive, or None (code-running commands excepted)."""
    if not argv:
        return None
    name, args = base(argv[0]), argv[1:]
    if name == "rm" or name == "unlink":
        return _rm(args, ctx)
    if name == "find":
        return _find(args, ctx)
    if name == "xargs":
        return _xargs(args, ctx)
    if name.startswith("mkfs") or name in ("mke2fs", "mkswap"):
        return _mkfs(name, args)
    if name == "wipefs" and has_flag(args, "a", "--all"):
        return "wipe of filesystem signatures (wipefs)"
    if name in _DEVICE_TOOLS and any(DISK.match(a) for a in args):
        return f"discard of every block on a disk ({name})"
    if name == "sgdisk" and any(a in ("-Z", "--zap-all", "-o", "--clear") for a in args):
        return "wipe of the partition table (sgdisk)"
    if name == "dd":
        return _dd(args, ctx)
    if name == "shred":
        return _shred(args, ctx)
    if name == "tee":
        return _tee(args, ctx)
    if name in ("cp", "mv", "ln", "install"):
        return _copy_like(name, args, ctx)
    if name == "truncate":
        return _truncate(args, ctx)
    if name == "sed":
        return _sed(args, ctx)
    if name in ("chmod", "chown", "chgrp"):
        return _permissions(name, args, ctx)
    if name in _POWER:
        return None if any(a in ("-c", "--help") for a in args) else "shutdown/reboot"
    if name in ("init", "telinit") and args[:1] in (["0"], ["6"]):
        return f"shutdown/reboot (init {args[0]})"
    if name == "systemctl":
        return _systemctl(args)
    if name in ("service", "chkconfig", "update-rc.d"):
        return _service_off(name, args)
    if name == "kill":
        return _kill(args)
    if name == "killall5":
        return "kill of every process (killall5)"
    if name in ("pkill", "killall"):
        return _pkill(name, args)
    if name == "crontab":
        return _crontab(args, ctx)
    if name == "rsync":
        return _rsync(args, ctx)
    if name == "git":
        return _git(args, ctx)
    if name in ("iptables", "ip6tables"):
        return _iptables(args)
    if name == "history" and has_flag(args, "c"):
        return "clearing the shell history"
    if name == "unset" and "HISTFILE" in args:
        return "disabling the shell history"
    if name == "set" and any(args[i : i + 2] == ["+o", "history"] for i in range(len(args))):
        return "disabling the shell history"
    if name in ("export", "declare", "typeset", "local", "readonly"):
        return assignment_reason(args)
    if name in ("passwd", "usermod", "userdel", "deluser"):
        return _accounts(name, args)
    return None
