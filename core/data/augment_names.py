"""Detect names to substitute in one NL → bash pair: absolute paths, file names, `*.ext` globs, user names.

A name is an `Entity` only when the command uses it in a position we understand and the
instruction states the very same value; each detector also builds the drawer of new values.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from core.data.augment_pools import (
    AMBIGUOUS_USERS,
    EXT_FAMILY,
    FILE_DENY,
    FILE_EXTS,
    NON_USERS,
    PATH_DENY_PREFIXES,
    PATH_POOL,
    STEM_POOL,
    USER_POOL,
)
from core.data.augment_spans import Entity, file_end, glob_end, occurrences, path_end

__all__ = ["find_files", "find_globs", "find_paths", "find_users"]

_PATH_TOKEN = re.compile(r"(?<![\w.~/:$@}\\-])/(?:[\w.+@%,-]+/?)+")
_EXT_RE = "|".join(sorted((re.escape(e) for e in FILE_EXTS), key=len, reverse=True))
_FILE_TOKEN = re.compile(rf"(?<![\w.*?$\\\-])(?P<stem>[A-Za-z0-9_][\w-]*)\.(?P<ext>{_EXT_RE})(?![\w-]|\.\w)")
_GLOB_TOKEN = re.compile(r"(?<![\w.])\\?\*\.(?P<ext>[A-Za-z0-9]+)(?![\w.])")
_USER_NAME = r"[A-Za-z_][A-Za-z0-9_-]{0,31}"
_USER_ARG_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(rf"(?<![\w-])-user\s+['\"]?(?P<u>{_USER_NAME})(?![\w$-])"),
    re.compile(
        rf"(?<![\w./-])(?:ps|top|htop|pkill|pgrep|crontab|killall|lsof|skill)\s+(?:[^|;&\s]+\s+)*?"
        rf"-u\s*['\"]?(?P<u>{_USER_NAME})(?![\w$-])"
    ),
    re.compile(rf"(?<![\w./-])sudo\s+(?:-[A-Za-z]+\s+)*-u\s*['\"]?(?P<u>{_USER_NAME})(?![\w$-])"),
    re.compile(rf"\bchown\s+(?:-{{1,2}}[\w-]+\s+)*['\"]?(?P<u>{_USER_NAME})(?=[\s:.'\"])"),
    re.compile(rf"\bchown\s+(?:-{{1,2}}[\w-]+\s+)*['\"]?{_USER_NAME}:(?P<u>{_USER_NAME})(?=[\s'\"])"),
    re.compile(rf"(?<![\w./-])su\s+(?:-l?\s+|--login\s+)?(?P<u>{_USER_NAME})(?![\w$.-])"),
    re.compile(
        rf"(?<![\w./-])(?:passwd|userdel|groups|finger|id)\s+(?:-\w+\s+)*(?P<u>{_USER_NAME})"
        rf"\s*(?=$|[|;&)])"
    ),
    re.compile(rf"\b(?:useradd|adduser|usermod)\b[^|;&\n]*\s(?P<u>{_USER_NAME})\s*(?=$|[|;&)])"),
    re.compile(rf"(?<![\w.@/$-])(?P<u>{_USER_NAME})@(?=[A-Za-z0-9])"),
    re.compile(rf"(?<![\w.~/:$@}}\\-])/home/(?P<u>{_USER_NAME})(?=$|[/\s'\")])"),
)

_USER_WORD_CONTEXT = re.compile(
    r"(?:\buser|\busername|\bowner|\bowned by|\bby|\bas|\bto|\bfor|\bnamed|\baccount|\bof user)"
    r"\s+['\"]?$",
    re.IGNORECASE,
)
_SELF_CONTEXT_USERS = frozenset({"user", "username", "users", "owner", "name", "me", "you"})
_PATH_LEFT_BAD = ".~/:$@}\\-"  # a path that continues another token is not this path
_FILE_LEFT_BAD = ".*?$\\-"
_FILES_AFTER = re.compile(r"\s+files?\b")
_FILE_VERB_BEFORE = re.compile(
    r"(?:^|[\s;|&(`])(?:tail|head|cat|less|more|shred|touch|tee|wc|source|nano|vi|vim|gzip|gunzip|"
    r"md5sum|sha1sum|sha256sum|stat|truncate|dos2unix|sort|uniq|split|zcat|bzcat|xzcat)"
    r"\s+(?:-\S+\s+)*['\"]?$|[<>]\s*['\"]?$|-(?:a|c)?newer\s+['\"]?$|-samefile\s+['\"]?$"
    r"|--reference=['\"]?$"
)
_FILE_WORD_BEFORE = re.compile(r"\bfile\s*['\"]?$", re.IGNORECASE)
_FULL_PATH = re.compile(r"/[\w.+@%,/-]*")


def _path_candidates(command: str, instruction: str) -> list[str]:
    """Directory-like path prefixes of the command's absolute path tokens.

    A token whose last component is a file (an extension, or used as a file by the command or
    the instruction: `tail -f /var/log/syslog`, "file /a/b") yields its directory, so the file
    keeps its name and a directory never replaces a file. Deny-listed tokens yield nothing.
    """
    out: list[str] = []
    for m in _PATH_TOKEN.finditer(command):
        token = m.group(0)
        nxt = command[m.end() : m.end() + 1]
        if nxt and nxt in "*?[{$`(":
            token = token[: token.rfind("/")] if not token.endswith("/") else token
        token = token.rstrip("/")
        if not token or re.search(r"/\.\.?(?:/|$)", token) or _path_denied(token):
            continue
        last = token.rsplit("/", 1)[-1]
        file_like = bool(re.search(r"\.[A-Za-z0-9]{1,5}$", last)) or bool(
            _FILE_VERB_BEFORE.search(command[max(0, m.start() - 40) : m.start()])
        )
        if not file_like:
            at = instruction.find(token)
            file_like = at > 0 and bool(_FILE_WORD_BEFORE.search(instruction[max(0, at - 12) : at]))
        if file_like:
            token = token[: token.rfind("/")]
        if token.count("/") >= 1 and token not in out:
            out.append(token)
    return out


def _path_denied(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PATH_DENY_PREFIXES)


def _full_path_at(text: str, start: int) -> str:
    """The whole path starting at `start`, an occurrence of a path (so the pattern matches there)."""
    m = _FULL_PATH.match(text, start)
    return m.group(0) if m else text[start:]


def find_paths(ins: str, cmd: str) -> list[Entity]:
    """Directory paths of the command the instruction states (the path, or its nearest stated ancestor)."""
    found: list[Entity] = []
    seen: set[str] = set()
    for token in _path_candidates(cmd, ins):
        # the token itself, else its nearest ancestor the instruction states
        parts = token.split("/")
        for cut in range(len(parts), 1, -1):
            cand = "/".join(parts[:cut])
            if cand in seen or cand not in ins:
                continue
            c_sp = occurrences(cmd, cand, _PATH_LEFT_BAD, path_end)
            i_sp = occurrences(ins, cand, _PATH_LEFT_BAD, path_end)
            if not c_sp or not i_sp:
                continue
            if len(c_sp) != len(occurrences(cmd, cand, "", path_end)) or len(i_sp) != len(
                occurrences(ins, cand, "", path_end)
            ):
                break  # occurs somewhere we cannot rewrite safely
            # a prefix replacement must not rewrite a deny-listed path (/usr -> /usr/bin/env)
            if any(
                _path_denied(_full_path_at(text, s).rstrip("/."))
                for text, sps in ((cmd, c_sp), (ins, i_sp))
                for s, _ in sps
            ):
                break
            seen.add(cand)
            found.append(Entity("path", cand, c_sp, i_sp, _path_drawer(cand)))
            break
    found.sort(key=lambda e: len(e.old))  # shorter prefixes win overlaps
    return found


def _path_drawer(old: str):
    def draw(rng: random.Random, forbidden: Callable[[str], bool]):
        for _ in range(6):
            new = rng.choice(PATH_POOL)
            nested = new.startswith(old + "/") or old.startswith(new + "/")
            if new != old and not nested and not forbidden(new):
                return new, new, new
        return None

    return draw


def find_files(ins: str, cmd: str) -> list[Entity]:
    """File names with a known extension that both texts contain, and only where they can be rewritten."""
    found: list[Entity] = []
    seen: set[str] = set()
    for m in _FILE_TOKEN.finditer(cmd):
        name, ext = m.group(0), m.group("ext")
        if name in seen or name.lower() in FILE_DENY or name not in ins:
            continue
        seen.add(name)
        c_sp = occurrences(cmd, name, _FILE_LEFT_BAD, file_end)
        i_sp = occurrences(ins, name, _FILE_LEFT_BAD, file_end)
        if not c_sp or not i_sp:
            continue
        if len(c_sp) != len(occurrences(cmd, name, "-")) or len(i_sp) != len(occurrences(ins, name, "-")):
            continue
        found.append(Entity("file", name, c_sp, i_sp, _file_drawer(m.group("stem"), ext)))
    return found


def _file_drawer(stem: str, ext: str):
    def draw(rng: random.Random, forbidden: Callable[[str], bool]):
        for _ in range(6):
            new_stem = rng.choice(STEM_POOL)
            if new_stem.lower() == stem.lower():
                continue
            if stem.isupper():
                new_stem = new_stem.upper()
            elif stem[:1].isupper():
                new_stem = new_stem.capitalize()
            new = f"{new_stem}.{ext}"
            if not forbidden(new):
                return new, new, new
        return None

    return draw


def find_globs(ins: str, cmd: str) -> list[Entity]:
    """`*.ext` globs the instruction names whose extension has siblings (`*.txt` ↔ `*.log`)."""
    found: list[Entity] = []
    seen: set[str] = set()
    for m in _GLOB_TOKEN.finditer(cmd):
        ext = m.group("ext")
        fam = EXT_FAMILY.get(ext.lower())
        if fam is None or ext in seen:
            continue
        seen.add(ext)
        every_c = occurrences(cmd, ext, "-")
        c_sp = [(st, en) for st, en in every_c if cmd[max(0, st - 2) : st] == "*." and glob_end(cmd, en)]
        if len(c_sp) != len(every_c):
            continue  # the extension also appears outside a glob
        # instruction: ".txt", "*.txt", "txt files"; every bare mention must be one of these
        every_i = occurrences(ins, ext, "-")
        i_sp = [
            (st, en)
            for st, en in every_i
            if file_end(ins, en) and (ins[st - 1 : st] == "." or _FILES_AFTER.match(ins, en))
        ]
        if not i_sp or len(i_sp) != len(every_i):
            continue
        # ".txt" must not be the tail of a real file name in the instruction ("notes.txt")
        if any(ins[s - 1 : s] == "." and re.search(r"[\w-]$", ins[: s - 1]) for s, _ in i_sp):
            continue
        found.append(Entity("glob", f"*.{ext}", c_sp, i_sp, _glob_drawer(ext, fam)))
    return found


def _glob_drawer(ext: str, fam: tuple[str, ...]):
    def draw(rng: random.Random, forbidden: Callable[[str], bool]):
        choices = [e for e in fam if e != ext.lower()]
        rng.shuffle(choices)
        for new in choices:
            new = new.upper() if ext.isupper() else new
            if not forbidden("." + new):
                return new, new, f"*.{new}"
        return None

    return draw


def find_users(ins: str, cmd: str) -> list[Entity]:
    """User names the instruction states, in a user position of the command (`-user`, `chown`, `su` ...)."""
    spans_by_user: dict[str, set[tuple[int, int]]] = {}
    for pat in _USER_ARG_PATTERNS:
        for m in pat.finditer(cmd):
            u = m.group("u")
            if u in NON_USERS or u.startswith("-"):
                continue
            spans_by_user.setdefault(u, set()).add(m.span("u"))
    found: list[Entity] = []
    for user in sorted(spans_by_user, key=lambda u: min(spans_by_user[u])):
        if user not in ins:
            continue
        c_all = occurrences(cmd, user, "-")
        # every occurrence in the command must be a recognised user position
        if sorted(spans_by_user[user]) != c_all:
            continue
        i_sp: list[tuple[int, int]] = []
        ok = True
        for s, e in occurrences(ins, user, "-"):
            before, after = ins[max(0, s - 6) : s], ins[e : e + 2]
            if (
                (before.endswith("/") and not before.endswith("/home/"))
                or before.endswith((".", "$", "~", "@", "*", "\\"))
                or re.match(r"\.\w", after)
                or (
                    user.lower() in _SELF_CONTEXT_USERS
                    and not (
                        # the name is itself a "user" word: only a quoted or explicitly introduced one
                        (before.endswith(("'", '"', "`")) and after[:1] in ("'", '"'))
                        or re.search(r"\b(?:user|username|owner)\s+$", ins[max(0, s - 14) : s], re.I)
                        or before.endswith("/home/")
                    )
                )
                or (
                    user.lower() in AMBIGUOUS_USERS
                    and not (
                        _USER_WORD_CONTEXT.search(ins[max(0, s - 20) : s])
                        or before.endswith(("'", '"', "/home/"))
                    )
                )
            ):
                ok = False
            if not ok:
                break
            i_sp.append((s, e))
        if not ok or not i_sp:
            continue
        found.append(Entity("user", user, c_all, i_sp, _user_drawer(user)))
    return found


def _user_drawer(old: str):
    def draw(rng: random.Random, forbidden: Callable[[str], bool]):
        for _ in range(6):
            new = rng.choice(USER_POOL)
            if new != old and not forbidden(new):
                return new, new, new
        return None

    return draw
