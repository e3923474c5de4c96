"""Flag destructive commands (rm -rf /, mkfs, dd to a disk, fork bombs, curl | sh, and their obfuscations).

dangerous_reason(cmd) returns a short reason, or None when nothing destructive is found. A reason that
starts with CANNOT_VERIFY ("cannot verify: ...") means the command runs something this check cannot
see (eval of a variable, a payload decoded at run time, unparseable input): every caller already
shows any reason as a warning, and the data pipeline drops such rows like dangerous ones.

How a command is judged, by structure rather than by matching its text:
1. core.data.danger_lex splits it into simple commands (argv, redirections, pipes, here-documents),
   keeping each word as parts: literal text (quotes and escapes removed, so `r''m`, `r\\m` and
   `"rm"` are all rm), $variables, and $(...) / `...` / <(...) substitutions, whose bodies are also
   judged as commands of their own.
2. _steps / _resolve_word substitute what the same line defines: `R=rm; $R -rf /`, `a=/; rm -rf $a`,
   for-loop values, ${IFS} word splitting, {rm,-rf,/} brace expansion, the output of $(echo /) and
   of decoders (core.data.danger_code), and the directory of an earlier `cd`.
3. Wrappers (sudo, env, nohup, timeout, busybox ...) are peeled off and the command is judged by
   name and arguments (core.data.danger_rules); redirection targets and pipelines into a shell or
   an interpreter are judged by where the data goes and what the code it runs does.
"""

from __future__ import annotations

import re

from core.data.danger_code import (
    OPAQUE,
    Printed,
    code_reason,
    interpreter_code,
    interpreter_family,
    static_output,
)
from core.data.danger_lex import Part, lex
from core.data.danger_paths import ASSIGNMENT, CANNOT_VERIFY, Ctx, base, norm, unwrap_index
from core.data.danger_rules import argv_reason
from core.data.danger_system import assignment_reason
from core.data.danger_write import overwrite_reason

__all__ = ["CANNOT_VERIFY", "dangerous_reason", "is_unverified"]

_VAR_INNER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])(?:(:?[-=+?])(.*)|:(\d+)(?::(\d+))?)?\Z", re.S)

_SHELLS = frozenset(["sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "csh", "tcsh"])
_FETCHERS = frozenset(["curl", "wget", "fetch", "http", "https", "aria2c"])
# A function whose body calls itself at least twice with a pipe or & spawns without bound:
# `:(){ :|:& };:`, `bomb() { bomb | bomb & }; bomb`, `function f { f|f & }; f`.
_FUNC_DEF = re.compile(
    r"(?:\bfunction\s+([^\s(){}|&;<>'\"`$]+)\s*(?:\(\s*\))?|([^\s(){}|&;<>'\"`$]+)\s*\(\s*\))\s*\{([^{}]*)\}"
)
# Words worth a second look when the line is too broken to parse (see _judge).
_RISKY = re.compile(
    r"\b(?:rm|dd|mkfs\S*|shred|wipefs|chmod|chown|mv|eval|sh|bash|python\d?|perl|base64|curl"
    r"|wget|kill|crontab|truncate)\b"
)
# Commands tried in place of a hidden command name (`$R -rf /`): the ones whose arguments alone
# say enough (mkfs and crontab are left out: `$X -v` or `$PAGER -r` would look like them).
_GUESSES = ("rm", "chmod", "chown", "dd", "shred", "mv", "find", "kill")
_MAX_DEPTH = 6
_MAX_VALUE = 4096  # characters kept of a variable's value
_TAINT_RANK = {None: 0, "sub": 1, "var": 2, "opaque": 3, "net": 4}


class _TooDeep(Exception):
    """Nesting beyond _MAX_DEPTH: the command cannot be checked."""


class _State:
    """What the line has established so far: variables, the working directory, the nesting depth."""

    __slots__ = ("code", "cwd", "depth", "env")

    def __init__(
        self,
        depth: int = 0,
        env: dict[str, list[str]] | None = None,
        cwd: str | None = None,
        code: bool = False,
    ) -> None:
        if depth > _MAX_DEPTH:
            raise _TooDeep
        self.env, self.cwd, self.depth, self.code = env if env is not None else {}, cwd, depth, code

    def child(self, code: bool = False) -> _State:
        """State for a substitution or nested code: a copy one level deeper."""
        return _State(self.depth + 1, dict(self.env), self.cwd, code)


class _Field:
    """One resolved word: its text ($NAME kept for unknown variables, \\x00 for unknown output), the text
    without the unknown parts, how trustworthy it is, and for <(...) the text that file would hold."""

    __slots__ = ("bare", "code", "quoted", "taint", "text")

    def __init__(self, text: str = "", taint: str | None = None) -> None:
        self.text, self.bare, self.taint, self.quoted = text, text, taint, False
        self.code: Printed = None  # for <(...): what the file would hold

    def add(self, text: str, bare: str, taint: str | None = None, quoted: bool = False) -> None:
        self.text += text
        self.bare += bare
        self.quoted |= quoted
        if _TAINT_RANK[taint] > _TAINT_RANK[self.taint]:
            self.taint = taint


# ---------------------------------------------------------------------------------- resolving


def _strip_quotes(word: str) -> str:
    return word[1:-1] if len(word) >= 2 and word[0] == word[-1] and word[0] in "'\"" else word


def _var_values(raw: str, st: _State) -> list[str] | None:
    """Values of a $NAME / ${NAME...} expansion from what the line assigned; None when unknown."""
    if raw == "$":
        return ["$"]
    inner = raw[2:-1] if raw.startswith("${") and raw.endswith("}") else raw[1:]
    m = _VAR_INNER.match(inner)
    if not m:
        return None  # ${#x}, ${x//a/b} ...
    name, op, word, off, length = m.groups()
    vals = st.env.get(name)
    if vals is None and name == "IFS":
        vals = [" \t\n"]
    if vals is None and name == "PWD" and st.cwd:
        vals = [st.cwd]
    if op in ("-", ":-", "=", ":="):
        if vals is None or (op[0] == ":" and vals == [""]):
            vals = [_strip_quotes(word)]  # ${UNSET:-/} is /
    elif op in ("+", ":+"):
        vals = None if vals is None else [_strip_quotes(word)] if vals != [""] or op == "+" else [""]
    if off is not None:
        if vals is None:
            # HOME, PWD and OLDPWD are absolute paths: `${HOME:0:1}` is "/".
            return ["/"] if name in ("HOME", "PWD", "OLDPWD") and off == "0" and length == "1" else None
        vals = [v[int(off) : int(off) + int(length) if length else None] for v in vals]
    return vals


def _brace_expand(s: str, limit: int = 64) -> list[str]:
    """Bash brace expansion of comma lists: `{rm,-rf,/}` → rm -rf /, `/{bin,etc}` → /bin /etc."""
    depth, start = 0, -1
    for i, c in enumerate(s):
        if c == "{":
            start = i if depth == 0 else start
            depth += 1
        elif c == "}" and depth:
            depth -= 1
            if depth:
                continue
            inner, alts, level, last = s[start + 1 : i], [], 0, 0
            for j, ch in enumerate(inner):
                level += (ch == "{") - (ch == "}")
                if ch == "," and level == 0:
                    alts.append(inner[last:j])
                    last = j + 1
            if alts:
                out: list[str] = []
                for a in alts + [inner[last:]]:
                    out.extend(_brace_expand(s[:start] + a + s[i + 1 :], limit))
                    if len(out) >= limit:  # `{a,b}` x 30 is 2**30 words: stop early
                        break
                return out[:limit]
    return [s]


def _resolve_word(parts: list[Part], st: _State, split: bool = True) -> list[_Field]:
    """Expand one lexed word into fields: variables, substitutions, IFS splitting, brace expansion."""
    ifs = (st.env.get("IFS") or [" \t\n"])[0]
    fields, braces = [_Field()], False
    for kind, val, quoted in parts:
        taint = None
        if kind == "lit":
            braces |= not quoted and "{" in val and "," in val
            fields[-1].add(val, val, None, quoted)
            continue
        if kind == "var":
            vals = _var_values(val, st)
            if vals is None:  # unknown: keep $NAME (paths like $HOME/x stay recognizable), empty in bare
                fields[-1].add(val, "", "var", quoted)
                continue
        else:
            value, taint = _sub_value(val, st)
            if kind == "psub":  # <(...) is a file name; remember what the file would hold
                fields[-1].add("\x00", "", "net" if taint == "net" else None, quoted)
                fields[-1].code = value
                continue
            if not isinstance(value, str):
                fields[-1].add("\x00", "", taint or ("opaque" if value is OPAQUE else "sub"), quoted)
                continue
            vals = [value.rstrip("\n")]
        for k, v in enumerate(vals):
            if k:  # several values (a for-loop variable): one word each
                fields.append(_Field())
            pieces = [v] if quoted or not split or not ifs else re.split("[" + re.escape(ifs) + "]", v)
            for j, piece in enumerate(pieces):
                if j:
                    fields.append(_Field())
                fields[-1].add(piece, piece, taint, quoted)
    out = [f for f in fields if f.text or f.quoted or f.taint]
    if braces:
        out = [g for f in out for g in ([_Field(t) for t in _brace_expand(f.text)] if not f.taint else [f])]
    return out


def _sub_value(body: str, st: _State) -> tuple[Printed, str | None]:
    """What $(body) prints (text, None if unknown, OPAQUE if a hidden payload) and its taint."""
    steps = _steps(body, st.child())[0]
    if not steps:
        return "", None
    outs = [s.out for k, s in enumerate(steps) if k + 1 == len(steps) or not steps[k + 1].piped]
    if any(s.out_taint == "net" for s in steps):
        return None, "net"
    if any(o is OPAQUE for o in outs):
        return OPAQUE, "opaque"
    texts = [o for o in outs if isinstance(o, str)]
    if len(texts) < len(outs):  # one of them unknown
        return None, None
    return "".join(texts), None


class _Step:
    """A resolved simple command with what feeds it and what it prints."""

    __slots__ = ("cwd", "feeders", "fields", "i0", "out", "out_taint", "piped", "redirs", "stdin", "taint")
    cwd: str | None
    feeders: list[list[str]]  # the argv of each command piped into this one, nearest first
    fields: list[_Field]
    i0: int  # index of the command word in fields (-1: none)
    out: Printed  # what it prints: text, None when unknown, OPAQUE for a hidden payload
    out_taint: str | None
    piped: bool
    redirs: list[tuple[str, _Field]]
    stdin: Printed
    taint: str | None


def _steps(s: str, st: _State) -> tuple[list[_Step], list[str], bool]:
    """Lex and resolve `s` command by command, updating `st`; returns (steps, substitution bodies, unterminated)."""
    subs: list[str] = []
    raws, unterminated = lex(s, subs)
    steps: list[_Step] = []
    prev: _Step | None = None
    for raw in raws:
        step = _Step()
        step.fields = []
        for w in raw.words:
            assign = w[0][0] == "lit" and not w[0][2] and ASSIGNMENT.match(w[0][1]) is not None
            step.fields.extend(_resolve_word(w, st, split=not assign))  # assignments are not split
        step.redirs = [(op, (_resolve_word(w, st, split=False) or [_Field()])[0]) for op, w in raw.redirs]
        argv = [f.text for f in step.fields]
        step.i0, step.piped, step.cwd = unwrap_index(argv), raw.piped, st.cwd
        words = argv[step.i0 :] if step.i0 >= 0 else []
        if raw.piped and prev is not None:
            step.stdin, step.taint = prev.out, prev.out_taint
            step.feeders = [[f.text for f in prev.fields[max(prev.i0, 0) :]]] + prev.feeders
        else:
            step.stdin, step.taint, step.feeders = None, None, []
        for op, f in step.redirs:
            if op == "<<<":
                step.stdin = OPAQUE if f.taint == "opaque" else f.text + "\n"
                step.taint = "net" if f.taint == "net" else None
            elif op in ("<<", "<<-"):
                step.stdin, step.taint = raw.heredoc, None
            elif op == "<":
                step.stdin, step.taint = None, None
        step.out = static_output(words, step.stdin, st.cwd)
        fetches = bool(words) and base(words[0]) in _FETCHERS
        step.out_taint = "net" if step.taint == "net" or fetches else None
        steps.append(step)
        _update_state(argv, step.i0, st)
        prev = step
    return steps, subs, unterminated


def _update_state(argv: list[str], i0: int, st: _State) -> None:
    """Record what this command defines for the rest of the line: variables, loop values, the cwd."""
    if i0 < 0:
        return
    words = argv[i0:]
    assigns = (
        argv[:i0]
        if not words
        else words[1:]
        if base(words[0]) in ("export", "declare", "typeset", "local", "readonly")
        else []
    )
    for w in assigns:
        if ASSIGNMENT.match(w):
            name, _, value = w.partition("=")
            st.env[name.rstrip("+")] = [value[:_MAX_VALUE]]  # `x=$x$x;` x 100 would double without end
    if not words:
        return
    name = base(words[0])
    if name == "unset":
        for w in words[1:]:
            st.env.pop(w, None)
    elif name in ("cd", "pushd"):
        target = next((w for w in words[1:] if not w.startswith("-") or w == "-"), "~")
        p = norm(target, st.cwd) if target != "-" else ""
        st.cwd = p if p.startswith(("/", "~")) else None
    elif name == "for" and len(words) >= 3 and words[2] == "in":
        st.env[words[1]] = words[3:]


# ---------------------------------------------------------------------------------- judging


def _fork_bomb(s: str) -> str | None:
    """'fork bomb' when a function defined in `s` calls itself twice with a pipe or &."""
    if "{" not in s:
        return None
    for m in _FUNC_DEF.finditer(s):
        name, body = m.group(1) or m.group(2), m.group(3)
        calls = re.findall(r"(?<![\w.:-])" + re.escape(name) + r"(?![\w.:-])", body)
        if len(calls) >= 2 and ("&" in body or "|" in body):
            return "fork bomb"
    return None


def _run_text(field: _Field, how: str, st: _State, nested: bool = True) -> str | None:
    """Judge a word a shell runs as code (bash -c WORD, eval WORDS); `st` is the inner state unless nested."""
    if field.taint == "net":
        return "run a script downloaded from the network"
    if field.taint == "opaque":
        return CANNOT_VERIFY + f"{how} runs a payload decoded at run time"
    return _judge(field.text, st.child(code=True) if nested else st)


def _run_input(value: object, taint: str | None, how: str, st: _State) -> str | None:
    """Judge what a shell reads as its script: piped input, a here-string, a <(...) file."""
    if taint == "net":
        return (
            "pipe from network into a shell" if how != "file" else "run a script downloaded from the network"
        )
    if value is OPAQUE:
        return CANNOT_VERIFY + "a shell runs a payload decoded at run time"
    return _judge(value, st.child(code=True)) if isinstance(value, str) else None


def _interpreter(family: str, words: list[_Field], stdin: object, taint: str | None, ctx: Ctx) -> str | None:
    """python -c / perl -e / awk '...' code, or the program an interpreter reads from stdin."""
    idx, reads_stdin = interpreter_code(family, [f.text for f in words[1:]])
    if idx is not None:
        f = words[1 + idx]
        if f.taint == "net":
            return "run a script downloaded from the network"
        if f.taint == "opaque" or (f.taint == "var" and not f.bare.strip() and family != "awk"):
            # `python3 -c "$CODE"`: only a variable (`python3 -c "print('$HOME')"` is still read).
            return CANNOT_VERIFY + f"{family} runs code held in a variable or decoded at run time"
        return code_reason(family, f.text, ctx.judge_code)
    if not reads_stdin or family == "awk":
        return None
    if taint == "net":
        return "pipe from network into a shell"
    if stdin is OPAQUE:
        return CANNOT_VERIFY + f"{family} runs a payload decoded at run time"
    return code_reason(family, stdin, ctx.judge_code) if isinstance(stdin, str) else None


def _shell(words: list[_Field], stdin: object, taint: str | None, st: _State) -> str | None:
    """sh/bash -c CODE, a script from <(...), or the script read from stdin."""
    args = words[1:]
    i = 0
    while i < len(args):
        a = args[i].text
        if a.startswith("-") and not a.startswith("--") and "c" in a[1:] and i + 1 < len(args):
            # `sh -c CODE NAME ARG...`: the words after the code are $0, $1, ... inside it.
            inner = st.child(code=True)
            for k, f in enumerate(args[i + 2 :]):
                inner.env[str(k)] = [f.text]
            return _run_text(args[i + 1], "sh -c", inner, nested=False)
        if a == "-s" or a == "-":
            break
        if a in ("-o", "+o", "-O", "+O"):
            i += 2
            continue
        if not a.startswith(("-", "+")):
            if a == "/dev/stdin":
                break
            return _run_input(args[i].code, args[i].taint, "file", st) if "\x00" in a else None
        i += 1
    return _run_input(stdin, taint, "stdin", st)


def _sink_reason(
    name: str, words: list[_Field], stdin: object, taint: str | None, ctx: Ctx, st: _State
) -> str | None:
    """Commands that run text as code: shells, eval, source, interpreters, ssh, watch, at, alias, trap."""
    args = words[1:]
    if name in _SHELLS:
        return _shell(words, stdin, taint, st)
    if name == "su":
        k = next((k for k, f in enumerate(args[:-1]) if f.text in ("-c", "--command")), None)
        return None if k is None else _run_text(args[k + 1], "su -c", st)
    if name in ("source", ".") and args:
        if args[0].text == "/dev/stdin":
            return _run_input(stdin, taint, "stdin", st)
        return _run_input(args[0].code, args[0].taint, "file", st) if "\x00" in args[0].text else None
    if name == "eval" and args:
        joined = _Field(" ".join(f.text for f in args))
        joined.taint = max((f.taint for f in args), key=lambda t: _TAINT_RANK[t])
        return _run_text(joined, "eval", st)
    family = interpreter_family(name)
    if family:
        return _interpreter(family, words, stdin, taint, ctx)
    texts = [f.text for f in args]
    if name == "ssh":
        takes = {
            "-b",
            "-c",
            "-D",
            "-E",
            "-e",
            "-F",
            "-I",
            "-i",
            "-J",
            "-L",
            "-l",
            "-m",
            "-O",
            "-o",
            "-p",
            "-Q",
            "-R",
            "-S",
            "-W",
            "-w",
            "-B",
        }
        i = 0
        while i < len(texts) and texts[i].startswith("-"):
            i += 2 if texts[i] in takes else 1
        # A remote command from a variable is everyday scripting, so unlike eval it is not "cannot verify".
        return _judge(" ".join(texts[i + 1 :]), st.child()) if len(texts) > i + 1 else None
    if name == "watch":
        i = 0
        while i < len(texts) and texts[i].startswith("-"):
            i += 2 if texts[i] in ("-n", "--interval", "-q", "--equexit") else 1
        return _judge(" ".join(texts[i:]), st.child()) if texts[i:] else None
    if name in ("at", "batch"):
        return _run_input(stdin, taint, "stdin", st)
    if name == "trap" and texts:
        return _judge(texts[0], st.child())
    if name == "alias":  # the value runs whenever the alias is typed
        values = [t.split("=", 1)[1] for t in texts if re.match(r"[^\s=/$`'\"]+=", t)]
        return next((r for v in values if (r := _judge(v, st.child()))), None)
    return None


def _hidden_name(words: list[_Field], ctx: Ctx, st: _State) -> str | None:
    """A command whose name is not known: `$R -rf /`, `$(echo ... | base64 -d) -rf /`, r${x}m."""
    head, args = words[0], [f.text for f in words[1:]]
    if head.taint == "net":
        return "run a script downloaded from the network"
    if head.taint == "opaque":
        return CANNOT_VERIFY + "the command name is decoded at run time"
    if st.code and all(f.taint == "var" and not f.bare for f in words):
        # Code that is only variables (`eval "$CMD"`, `sh -c "$1"`, `eval $l`): what runs is unknown.
        # With literal arguments (`sh -c "$BIN --quiet"`) it is a program run from a variable, as usual.
        return CANNOT_VERIFY + f"runs a command held in a variable ({head.text})"
    if head.bare and head.bare != head.text:
        # An unset variable expands to nothing: r${x}m is rm.
        reason = argv_reason([head.bare] + args, ctx)
        if reason:
            return CANNOT_VERIFY + f"command name {head.text!r} may be {head.bare}: {reason}"
    if any(a.startswith("-") or "=" in a for a in args):
        for guess in _GUESSES:
            reason = argv_reason([guess] + args, ctx)
            if reason:
                shown = head.text.replace("\x00", "$(...)")
                return CANNOT_VERIFY + f"hidden command name ({shown}), and as {guess} it would be a {reason}"
    return None


def _command_reason(
    fields: list[_Field], i0: int, stdin: object, taint: str | None, ctx: Ctx, st: _State
) -> str | None:
    """Reason one resolved simple command is destructive (or cannot be verified), else None."""
    if i0 < 0:
        return None
    reason = assignment_reason([f.text for f in fields[:i0]])
    if reason or i0 >= len(fields):
        return reason
    words = fields[i0:]
    head = words[0]
    if head.taint or "\x00" in head.text:
        return _hidden_name(words, ctx, st)
    return argv_reason([f.text for f in words], ctx) or _sink_reason(
        base(head.text), words, stdin, taint, ctx, st
    )


def _judge_argv(argv: list[str], cwd: str | None, st: _State) -> str | None:
    """Judge a plain argv that another command runs (find -exec, xargs)."""
    ctx = _ctx(cwd, None, [], st)
    return _command_reason([_Field(a) for a in argv], unwrap_index(argv), None, None, ctx, st)


def _ctx(cwd: str | None, stdin: object, feeders: list[list[str]], st: _State) -> Ctx:
    """What the rules see of one command's surroundings, with callbacks that judge nested commands."""
    return Ctx(
        cwd=cwd,
        stdin=stdin if isinstance(stdin, str) else None,
        feeders=feeders,
        judge_argv=lambda argv: _judge_argv(argv, cwd, st),
        judge_code=lambda text: _judge(text, st.child(code=True)),
    )


def _judge(s: str, st: _State) -> str | None:
    """dangerous_reason for `s` under state `st` (variables, cwd, depth)."""
    reason = _fork_bomb(s)
    if reason:
        return reason
    steps, subs, unterminated = _steps(s, st)
    for step in steps:
        ctx = _ctx(step.cwd, step.stdin, step.feeders, st)
        for op, f in step.redirs:
            if ">" in op and not (op.endswith("&") and (f.text.isdigit() or f.text == "-")):
                reason = overwrite_reason(f.text, ctx, append=">>" in op)
                if reason:
                    return reason
        reason = _command_reason(step.fields, step.i0, step.stdin, step.taint, ctx, st)
        if reason:
            return reason
    for body in subs:
        reason = _judge(body, st.child())
        if reason:
            return reason
    if unterminated and st.depth == 0 and _RISKY.search(re.sub(r"[\\'\"]", "", s)):
        # bash would refuse the line, but we cannot be sure we read it the way a user's edit would.
        # Only the line itself: nested code was cut out of it heuristically (awk strings, sh -c).
        return CANNOT_VERIFY + "unterminated quote or substitution"
    return None


def dangerous_reason(cmd: str) -> str | None:
    """A short reason if `cmd` is destructive (rm -rf /, mkfs, dd to a disk, curl | sh, ...), else None.

    Reasons starting with CANNOT_VERIFY mark commands whose payload is hidden (decoded, in a variable).
    """
    if not isinstance(cmd, str) or not cmd.strip():
        return None
    try:
        return _judge(cmd, _State())
    except (_TooDeep, RecursionError):
        return CANNOT_VERIFY + "command too deeply nested to check"


def is_unverified(reason: str | None) -> bool:
    """True for a reason that says the command could not be checked rather than found destructive."""
    return reason is not None and reason.startswith(CANNOT_VERIFY)
