"""Flag destructive commands (rm -rf /, mkfs, dd to a disk, fork bombs, curl | sh, ...)."""

from __future__ import annotations

import re

from core.data.normalize import _find_close, _skip_dq  # the same quote-aware paren matching

# Nearly every command is safe, and a safe command cannot match any of these words: one regex
# search lets ~all rows skip the tokenizer. Anything dangerous must contain one of them.
_TRIGGER = re.compile(
    r"\b(?:rm|mkfs|mke2fs|mkswap|dd|shred|wipefs|curl|wget|fetch|chmod|chown|shutdown|reboot|halt"
    r"|poweroff|init|telinit|systemctl|delete|function)\b|/dev/|\(\s*\)"
)
# `:(){ :|:& };:`, `bomb() { bomb | bomb & }; bomb`, `function f { f|f & }; f`
_FORK_BOMB = re.compile(
    r"(?:\bfunction\s+)?([^\s(){}|&;<>'\"`$]+)\s*(?:\(\s*\))?\s*\{\s*\1\s*\|\s*\1\s*&?\s*;?\s*\}"
)

_TOKEN = re.compile(
    r"""
    (?P<ws>(?:[ \t\r\f\v]|\\\n)+)
  | (?P<sq>'[^']*'?)
  | (?P<dq>"(?:[^"\\]|\\.)*"?)
  | (?P<ansi>\$'(?:[^'\\]|\\.)*'?)
  | (?P<sub>\$\(|[<>]\(|`)
  | (?P<var>\$(?:\{[^{}]*\}|[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])?)
  | (?P<esc>\\.?)
  | (?P<redir>[0-9]*(?:>>|>\||>&|>|<<<|<<-|<<|<&|<>|<)|&>>?)
  | (?P<op>&&|\|\||;;&?|;&|\|&|[|&;\n()])
  | (?P<comment>\#[^\n]*)
  | (?P<plain>[^\s'"\\$`|&;()<>#]+|\#)
    """,
    re.VERBOSE | re.DOTALL,
)

_SHELLS = frozenset("sh bash zsh dash ksh mksh ash fish csh tcsh".split())
_INTERPRETERS = frozenset("python python2 python3 perl ruby node php".split())
_FETCHERS = frozenset("curl wget fetch http https aria2c".split())
_POWER = frozenset("shutdown reboot halt poweroff".split())
_SYSTEMCTL_POWER = frozenset(
    "poweroff reboot halt kexec soft-reboot poweroff.target reboot.target halt.target".split()
)
# Reserved words and prefixes that come before the real command word.
_PREFIX_WORDS = frozenset("then do else elif if while until ! { time".split())
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
# Wrapper → its options that take a separate argument: the wrapped command follows them.
_WRAPPERS: dict[str, frozenset[str]] = {
    "sudo": frozenset("-u -g -h -p -r -t -U -C -D -T --user --group --host --prompt --role --type "
                      "--other-user --close-from --chdir --command-timeout".split()),
    "doas": frozenset("-u -C".split()),
    "env": frozenset("-u -C --unset --chdir".split()),
    "nohup": frozenset(),
    "time": frozenset("-f -o --format --output".split()),
    "command": frozenset(),
    "exec": frozenset(["-a"]),
    "builtin": frozenset(),
    "nice": frozenset(["-n", "--adjustment"]),
    "ionice": frozenset(["-c", "-n", "--class", "--classdata"]),
    "stdbuf": frozenset(["-i", "-o", "-e"]),
    "setsid": frozenset(),
    "timeout": frozenset(["-s", "-k", "--signal", "--kill-after"]),
}
_XARGS_ARG_OPTS = frozenset("-n -L -P -s -d -E -a -I -e -l --max-args --max-lines --max-procs "
                            "--max-chars --delimiter --eof --arg-file --replace".split())

# Disks, partitions and raw memory: writing to them destroys data (reading them is fine).
_DISK = re.compile(
    r"/dev/(?:[shv]d[a-z]+\d*|xvd[a-z]+\d*|nvme\d+n\d+(?:p\d+)?|mmcblk\d+(?:p\d+)?|md\d+|dm-\d+"
    r"|mapper/\S+|r?disk\d+(?:s\d+)?|disk/by-[a-z-]+/\S+|mem|kmem|port)\Z"
)
_SYSTEM_DIRS = re.compile(
    r"/(?:bin|boot|dev|etc|home|lib|lib32|lib64|libx32|opt|proc|root|run|sbin|srv|sys|usr|var|snap"
    r"|usr/(?:bin|sbin|lib|lib64|local|share|include)|var/lib|System|Library|Users|Applications)\Z"
)
_CHMOD_OPTS = re.compile(r"-[RcfvHLP]+\Z")
_WIDE_OPEN = re.compile(r"0?777\Z|[ugoa]*[+=]rwx\Z")
_MAX_DEPTH = 6


# ---------------------------------------------------------------------------------- parsing


def _simple_commands(s: str, subs: list[str]) -> list[tuple[list[str], list[tuple[str, str]], bool, list[str]]]:
    """Split `s` into simple commands: (argv, [(redirect op, target)], piped-from-previous, substitutions).

    Words are quote-removed; the bodies of $(...), `...`, <(...) go to `subs` (and to the command's own
    list) to be checked as commands of their own.
    """
    out: list[tuple[list[str], list[tuple[str, str]], bool, list[str]]] = []
    argv: list[str] = []
    redirs: list[tuple[str, str]] = []
    own_subs: list[str] = []
    word: list[str] = []
    has_word = False
    redir_op = ""
    piped = False
    pos, n = 0, len(s)

    def end_word() -> None:
        nonlocal has_word, redir_op
        if has_word:
            w = "".join(word)
            if redir_op:
                redirs.append((redir_op, w))
                redir_op = ""
            else:
                argv.append(w)
            word.clear()
            has_word = False

    while pos < n:
        m = _TOKEN.match(s, pos)
        if m is None:  # every char is covered by some alternative; stay safe anyway
            break
        kind, text = m.lastgroup, m.group()
        pos = m.end()
        if kind == "ws":
            end_word()
        elif kind == "plain" or kind == "var":
            word.append(text)
            has_word = True
        elif kind == "sq":
            word.append(text[1:-1] if len(text) > 1 and text.endswith("'") else text[1:])
            has_word = True
        elif kind == "dq":
            if "$(" in text or "`" in text:
                end = _skip_dq(s, m.start() + 1)
                end = n if end < 0 else end
                body = s[m.start() + 1 : end]
                pos = end + 1
                _collect_subs(body, subs, own_subs)
            else:
                body = text[1:-1] if len(text) > 1 and text.endswith('"') else text[1:]
            word.append(re.sub(r'\\([$`"\\])', r"\1", body) if "\\" in body else body)
            has_word = True
        elif kind == "ansi":
            word.append(text[2:-1])
            has_word = True
        elif kind == "esc":
            word.append(text[1:])
            has_word = True
        elif kind == "sub":
            if text == "`":
                end = s.find("`", pos)
            else:
                end = _find_close(s, pos)
            end = n if end < 0 else end
            body = s[pos:end]
            subs.append(body)
            own_subs.append(body)
            word.append("\x00")  # placeholder: the value is unknown
            has_word = True
            pos = end + 1
        elif kind == "redir":
            end_word()
            redir_op = text
        elif kind == "op":
            end_word()
            if argv or redirs:
                out.append((argv, redirs, piped, own_subs))
                argv, redirs, own_subs = [], [], []
                piped = text in ("|", "|&")
            elif text not in ("(", ")"):
                piped = False
        else:  # comment (only reached at a word start; `a#b` is a plain word)
            if has_word:
                word.append(text[0])
                pos = m.start() + 1
            else:
                pos = s.find("\n", m.start())
                pos = n if pos < 0 else pos
    end_word()
    if argv or redirs:
        out.append((argv, redirs, piped, own_subs))
    return out


def _collect_subs(body: str, subs: list[str], own: list[str]) -> None:
    """Record the $(...) and `...` bodies inside a double-quoted string."""
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c == "\\":
            i += 2
            continue
        if c == "$" and body.startswith("$(", i):
            end = _find_close(body, i + 2)
            end = n if end < 0 else end
            subs.append(body[i + 2 : end])
            own.append(body[i + 2 : end])
            i = end
        elif c == "`":
            end = body.find("`", i + 1)
            end = n if end < 0 else end
            subs.append(body[i + 1 : end])
            own.append(body[i + 1 : end])
            i = end
        i += 1


def _unwrap(argv: list[str]) -> list[str]:
    """Drop `sudo`/`env`/`nohup`/... (with their options), assignments and leading reserved words."""
    i, n = 0, len(argv)
    while i < n:
        w = argv[i]
        if w in _PREFIX_WORDS or _ASSIGNMENT.match(w):
            i += 1
            continue
        name = w.rsplit("/", 1)[-1].lstrip("\\")
        takes_arg = _WRAPPERS.get(name)
        if takes_arg is None:
            break
        if name == "command" and i + 1 < n and argv[i + 1] in ("-v", "-V"):
            return []  # `command -v rm` only looks the command up
        i += 1
        while i < n and argv[i].startswith("-") and argv[i] != "-":
            opt = argv[i]
            i += 1
            if opt == "--":
                break
            if opt in takes_arg and "=" not in opt:
                i += 1
        if name == "timeout" and i < n:
            i += 1  # the duration
    return argv[i:]


# ---------------------------------------------------------------------------------- checks


def _target_label(path: str) -> str | None:
    """'/' / 'the home directory' / '/etc' when deleting `path` recursively is catastrophic."""
    p = path.replace("${HOME}", "$HOME")
    p = re.sub(r"/{2,}", "/", p)
    while len(p) > 1 and (p.endswith("/") or p.endswith("/*") or p.endswith("/.")):
        p = p[:-2] if p.endswith(("/*", "/.")) else p[:-1]
    if p in ("", "/", "/*", "/.", "/.."):
        return "/"
    if p in ("~", "$HOME"):
        return "the home directory"
    if _SYSTEM_DIRS.match(p):
        return p
    return None


def _wide_root(path: str) -> str | None:
    """'/' or 'the home directory' for whole-filesystem / whole-home search roots."""
    label = _target_label(path)
    return label if label in ("/", "the home directory") else None


def _rm_reason(args: list[str]) -> str | None:
    recursive, targets, options_done = False, [], False
    for a in args:
        if options_done or a == "-" or not a.startswith("-"):
            targets.append(a)
        elif a == "--":
            options_done = True
        elif a.startswith("--"):
            recursive = recursive or a == "--recursive"
        elif "r" in a or "R" in a:
            recursive = True
    if recursive:
        for t in targets:
            label = _target_label(t)
            if label:
                return f"recursive delete of {label}"
    return None


def _find_reason(args: list[str], depth: int) -> str | None:
    i = 0
    while i < len(args) and args[i] in ("-H", "-L", "-P", "-O0", "-O1", "-O2", "-O3"):
        i += 1
    roots = []
    while i < len(args) and not args[i].startswith("-") and args[i] not in ("(", "!", ")", ","):
        roots.append(args[i])
        i += 1
    expr = args[i:]
    deletes = "-delete" in expr
    for j, a in enumerate(expr):
        if a in ("-exec", "-execdir", "-ok", "-okdir"):
            end = j + 1
            while end < len(expr) and expr[end] not in (";", "+"):
                end += 1
            inner = expr[j + 1 : end]
            reason = _argv_reason(inner, depth + 1)
            if reason:
                return reason
            inner = _unwrap(inner)
            if inner and inner[0].rsplit("/", 1)[-1] in ("rm", "shred", "unlink"):
                deletes = True
    if deletes:
        for r in roots:
            label = _wide_root(r)
            if label:
                return f"delete of files across {label} (find)"
    return None


def _xargs_command(args: list[str]) -> list[str]:
    """The command xargs runs, after its options."""
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "-":
        opt = args[i]
        i += 1
        if opt == "--":
            break
        if opt in _XARGS_ARG_OPTS:
            i += 1
    return args[i:]


def _chmod_reason(name: str, args: list[str]) -> str | None:
    opts = [a for a in args if a.startswith("--") or _CHMOD_OPTS.match(a)]
    if not any(a == "--recursive" or (not a.startswith("--") and "R" in a) for a in opts):
        return None
    rest = [a for a in args if a not in opts]
    if len(rest) < 2:
        return None
    mode, targets = rest[0], rest[1:]
    for t in targets:
        label = _target_label(t)
        if label:
            if name == "chmod" and _WIDE_OPEN.match(mode):
                return f"recursive chmod 777 on {label}"
            return f"recursive {name} on {label}"
    return None


def _is_fetch(body: str) -> bool:
    """True if the command text `body` starts by downloading something (curl, wget, ...)."""
    commands = _simple_commands(body, [])
    argv = _unwrap(commands[0][0]) if commands else []
    return bool(argv) and argv[0].rsplit("/", 1)[-1] in _FETCHERS


def _argv_reason(argv: list[str], depth: int, subs: list[str] | None = None) -> str | None:
    """Reason a single simple command (already split into words) is dangerous, or None."""
    argv = _unwrap(argv)
    if not argv or depth > _MAX_DEPTH:
        return None
    name = argv[0].rsplit("/", 1)[-1].lstrip("\\")
    args = argv[1:]
    if name == "rm":
        return _rm_reason(args)
    if name == "find":
        return _find_reason(args, depth)
    if name == "xargs":
        return _argv_reason(_xargs_command(args), depth + 1)
    if name.startswith("mkfs") or name in ("mke2fs", "mkswap"):
        return "filesystem format (mkfs)" if name != "mkswap" else "filesystem format (mkswap)"
    if name == "wipefs" and any(a in ("-a", "--all") for a in args):
        return "wipe of filesystem signatures (wipefs)"
    if name == "dd":
        if any(a.startswith("of=") and _DISK.match(a[3:]) for a in args):
            return "raw write to a block device"
        return None
    if name in ("shred", "tee") and any(_DISK.match(a) for a in args):
        return "overwrite of a disk device"
    if name in ("cp", "mv") and args and _DISK.match(args[-1]):
        return "overwrite of a disk device"
    if name in ("chmod", "chown", "chgrp"):
        return _chmod_reason(name, args)
    if name in _POWER:
        return None if any(a in ("-c", "--help") for a in args) else "shutdown/reboot"
    if name in ("init", "telinit") and args[:1] in (["0"], ["6"]):
        return f"shutdown/reboot (init {args[0]})"
    if name == "systemctl" and any(a in _SYSTEMCTL_POWER for a in args):
        return "shutdown/reboot (systemctl)"
    if name in _SHELLS or name == "su":
        for k, a in enumerate(args):
            if a.startswith("-") and not a.startswith("--") and "c" in a and k + 1 < len(args):
                # `bash -c 'rm -rf /'`, `su -c '...'`: the string is a command line of its own.
                reason = _reason(args[k + 1], depth + 1)
                if reason:
                    return reason
                break
    if name in _SHELLS or name in ("source", ".", "eval"):
        # `bash <(curl ...)`, `sh -c "$(wget -O- ...)"`, `eval "$(curl ...)"`
        if subs and any(_is_fetch(b) for b in subs):
            return "run a script downloaded from the network"
        if name == "eval":
            return _reason(" ".join(args), depth + 1)
    return None


def _reason(s: str, depth: int) -> str | None:
    """dangerous_reason without the shortcut, recursing into substitutions and `bash -c` strings."""
    if depth > _MAX_DEPTH:
        return None
    if "{" in s and _FORK_BOMB.search(s):
        return "fork bomb"
    subs: list[str] = []
    commands = _simple_commands(s, subs)
    for k, (argv, redirs, piped, own_subs) in enumerate(commands):
        for op, target in redirs:
            if ">" in op and _DISK.match(target):
                return "overwrite of a disk device"
        reason = _argv_reason(argv, depth, own_subs)
        if reason:
            return reason
        if not piped:
            continue
        # Pipeline context: what feeds this command?
        cmd = _unwrap(argv)
        if not cmd:
            continue
        name = cmd[0].rsplit("/", 1)[-1]
        feeders = []
        j = k
        while j > 0 and commands[j][2]:
            j -= 1
            feeders.append(_unwrap(commands[j][0]))
        feeder_names = {f[0].rsplit("/", 1)[-1] for f in feeders if f}
        if feeder_names & _FETCHERS:
            runs_stdin = (name in _SHELLS and not any(a.startswith("-") and "c" in a for a in cmd[1:])) or (
                name in _INTERPRETERS and all(a == "-" for a in cmd[1:])
            )
            if runs_stdin:
                return "pipe from network into a shell"
        if name == "xargs":
            inner = _unwrap(_xargs_command(cmd[1:]))
            if inner and inner[0].rsplit("/", 1)[-1] in ("rm", "shred", "unlink"):
                for f in feeders:
                    if f and f[0].rsplit("/", 1)[-1] == "find":
                        roots = [a for a in f[1:] if not a.startswith("-")][:1] or ["."]
                        label = _wide_root(roots[0])
                        if label:
                            return f"delete of files found across {label} (find | xargs rm)"
    for body in subs:
        reason = _reason(body, depth + 1)
        if reason:
            return reason
    return None


def dangerous_reason(cmd: str) -> str | None:
    """A short reason if `cmd` is destructive (rm -rf /, mkfs, dd to a disk, curl | sh, ...), else None."""
    if not isinstance(cmd, str) or not _TRIGGER.search(cmd):
        return None
    try:
        return _reason(cmd, 0)
    except RecursionError:
        return "command too deeply nested to check"
