"""Rules for commands that overwrite: redirections, tee, dd of=, cp/mv/ln/install, truncate, sed -i, mkfs.

Each function judges one resolved, unwrapped command (see core.data.danger_rules) by its arguments;
`overwrite_reason` also judges the targets of `>` / `>>` redirections (core.data.safety).
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
)

__all__ = [
    "copy_reason",
    "dd_reason",
    "mkfs_reason",
    "overwrite_reason",
    "sed_reason",
    "tee_reason",
    "truncate_reason",
]


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


def mkfs_reason(name: str, args: list[str]) -> str | None:
    """A new filesystem erases whatever the device held."""
    # A filesystem on an image file (`mkfs.ext4 disk.img`, `mkswap /swapfile`) harms nothing;
    # on a device, an unknown target or no target at all it is treated as a format.
    reason = "filesystem format (mkswap)" if name == "mkswap" else "filesystem format (mkfs)"
    files = [a for a in args if not a.startswith("-") and ("." in a or "/" in a)]
    if any(a.startswith("/dev/") or "$" in a or "\x00" in a for a in args) or not files:
        return reason
    return None


def dd_reason(args: list[str], ctx: Ctx) -> str | None:
    """dd of= a disk, or of= a file the system needs."""
    for a in args:
        if a.startswith("of="):
            if DISK.match(a[3:]):
                return "raw write to a block device"
            return overwrite_reason(a[3:], ctx)
    return None


def copy_reason(name: str, args: list[str], ctx: Ctx) -> str | None:
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


def truncate_reason(args: list[str], ctx: Ctx) -> str | None:
    """Truncating /etc/shadow, the system logs or a directory's every file destroys their content."""
    for t in positional(args, frozenset(["-s", "-r", "--size", "--reference"])):
        crit = critical_file(t, ctx.cwd, overwrite=True) or contents_label(t, ctx.cwd)
        if crit:
            return f"truncation of {crit}"
    return None


def tee_reason(args: list[str], ctx: Ctx) -> str | None:
    """tee FILE overwrites like `>` (tee -a appends like `>>`)."""
    append = has_flag(args, "a", "--append")
    return next((r for t in positional(args) if (r := overwrite_reason(t, ctx, append))), None)


def sed_reason(args: list[str], ctx: Ctx) -> str | None:
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
