"""Rules for commands that delete: rm, find -delete / -exec, xargs rm, shred, rsync --delete, git clean.

Each function judges one resolved, unwrapped command (see core.data.danger_rules) by its arguments;
paths are classified structurally by core.data.danger_paths.
"""

from __future__ import annotations

from core.data.danger_paths import (
    DISK,
    Ctx,
    base,
    critical_file,
    dir_label,
    has_flag,
    norm,
    positional,
    unwrap,
)

__all__ = ["find_reason", "git_reason", "rm_reason", "rsync_reason", "shred_reason", "xargs_reason"]


def rm_reason(args: list[str], ctx: Ctx) -> str | None:
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


def find_reason(args: list[str], ctx: Ctx) -> str | None:
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


def xargs_reason(args: list[str], ctx: Ctx) -> str | None:
    """xargs CMD: the command itself, with its known input (echo / | xargs rm -rf), or fed by find."""
    i, replace = 0, None
    while i < len(args) and args[i].startswith("-") and args[i] != "-":
        opt = args[i]
        i += 1
        if opt == "--":
            break
        if opt == "-I" and i < len(args):
            replace = args[i]
        elif opt.startswith(("-I", "--replace=")):
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


def shred_reason(args: list[str], ctx: Ctx) -> str | None:
    """shred overwrites in place: a disk, or a file the system needs, is gone for good."""
    for t in positional(args, frozenset(["-n", "-s", "--iterations", "--size"])):
        if DISK.match(t):
            return "overwrite of a disk device"
        crit = critical_file(t, ctx.cwd)
        if crit:
            return f"destruction of {crit} (shred)"
    return None


def rsync_reason(args: list[str], ctx: Ctx) -> str | None:
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


def git_reason(args: list[str], ctx: Ctx) -> str | None:
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
