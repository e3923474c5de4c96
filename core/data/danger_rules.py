"""Per-command rules for core.data.safety: given a resolved argv, what does it destroy, and why.

safety.py turns a command line into simple commands whose words are already quote-removed, with
variables substituted and wrappers (sudo, env, nohup ...) peeled off; `argv_reason` judges one
such command by its name and arguments, dispatching to the rules for deleting
(core.data.danger_delete), overwriting (core.data.danger_write) and breaking the system
(core.data.danger_system). Paths are classified structurally (which directory, which file:
core.data.danger_paths), never by matching the whole command text.
"""

from __future__ import annotations

from core.data.danger_delete import (
    find_reason,
    git_reason,
    rm_reason,
    rsync_reason,
    shred_reason,
    xargs_reason,
)
from core.data.danger_paths import DISK, Ctx, base, has_flag
from core.data.danger_system import (
    accounts_reason,
    assignment_reason,
    crontab_reason,
    iptables_reason,
    kill_reason,
    permissions_reason,
    pkill_reason,
    service_reason,
    systemctl_reason,
)
from core.data.danger_write import (
    copy_reason,
    dd_reason,
    mkfs_reason,
    sed_reason,
    tee_reason,
    truncate_reason,
)

__all__ = ["argv_reason"]

_POWER = frozenset(["shutdown", "reboot", "halt", "poweroff"])
_DEVICE_TOOLS = frozenset(["blkdiscard"])


def argv_reason(argv: list[str], ctx: Ctx) -> str | None:
    """Reason the unwrapped command `argv` is destructive, or None (code-running commands excepted)."""
    if not argv:
        return None
    name, args = base(argv[0]), argv[1:]
    if name == "rm" or name == "unlink":
        return rm_reason(args, ctx)
    if name == "find":
        return find_reason(args, ctx)
    if name == "xargs":
        return xargs_reason(args, ctx)
    if name.startswith("mkfs") or name in ("mke2fs", "mkswap"):
        return mkfs_reason(name, args)
    if name == "wipefs" and has_flag(args, "a", "--all"):
        return "wipe of filesystem signatures (wipefs)"
    if name in _DEVICE_TOOLS and any(DISK.match(a) for a in args):
        return f"discard of every block on a disk ({name})"
    if name == "sgdisk" and any(a in ("-Z", "--zap-all", "-o", "--clear") for a in args):
        return "wipe of the partition table (sgdisk)"
    if name == "dd":
        return dd_reason(args, ctx)
    if name == "shred":
        return shred_reason(args, ctx)
    if name == "tee":
        return tee_reason(args, ctx)
    if name in ("cp", "mv", "ln", "install"):
        return copy_reason(name, args, ctx)
    if name == "truncate":
        return truncate_reason(args, ctx)
    if name == "sed":
        return sed_reason(args, ctx)
    if name in ("chmod", "chown", "chgrp"):
        return permissions_reason(name, args, ctx)
    if name in _POWER:
        return None if any(a in ("-c", "--help") for a in args) else "shutdown/reboot"
    if name in ("init", "telinit") and args[:1] in (["0"], ["6"]):
        return f"shutdown/reboot (init {args[0]})"
    if name == "systemctl":
        return systemctl_reason(args)
    if name in ("service", "chkconfig", "update-rc.d"):
        return service_reason(name, args)
    if name == "kill":
        return kill_reason(args)
    if name == "killall5":
        return "kill of every process (killall5)"
    if name in ("pkill", "killall"):
        return pkill_reason(name, args)
    if name == "crontab":
        return crontab_reason(args, ctx)
    if name == "rsync":
        return rsync_reason(args, ctx)
    if name == "git":
        return git_reason(args, ctx)
    if name in ("iptables", "ip6tables"):
        return iptables_reason(args)
    if name == "history" and has_flag(args, "c"):
        return "clearing the shell history"
    if name == "unset" and "HISTFILE" in args:
        return "disabling the shell history"
    if name == "set" and any(args[i : i + 2] == ["+o", "history"] for i in range(len(args))):
        return "disabling the shell history"
    if name in ("export", "declare", "typeset", "local", "readonly"):
        return assignment_reason(args)
    if name in ("passwd", "usermod", "userdel", "deluser"):
        return accounts_reason(name, args)
    return None
