"""Entity-substitution augmentation that keeps every NL → bash pair true.

An entity (absolute path, file name, `*.ext` glob, user name, `-mtime`-style time, `-size`
size) is detected in the COMMAND and substituted only when the instruction states the same
value, so both texts change together: the old value is replaced everywhere it occurs in both,
by the same new value. Numeric flags are matched against the number + unit the instruction
states ("7 days" for `-mtime -7`, "100 KB" for `-size +100k`, "seven days" for `-mtime 7`)
and rewritten in the instruction's own style. An entity is skipped as soon as anything is
unclear (the value also occurs somewhere we cannot rewrite, two time flags form a range, the
unit is missing ...): skipping a substitution is always better than producing a false pair.

`augment` returns only the new rows; the caller keeps the originals. It is deterministic for a
seed (no use of `hash()`; every row has its own `random.Random` seeded from sha256), never
repeats a key already in `existing_keys`, in the originals or earlier in its own output, and
records on every row where it came from (`origin`) and what changed (`substitutions`).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

from core.data.records import Example

__all__ = ["AugmentStats", "Entity", "augment", "default_key", "find_entities", "preview_augmentation"]

KeyFn = Callable[[Example], Hashable]

# --------------------------------------------------------------------------- pools

PATH_POOL: tuple[str, ...] = (
    "/usr/local",
    "/var/log",
    "/tmp",
    "/opt",
    "/mnt/data",
    "/srv/www",
    "/home/alice/projects",
    "/var/backups",
    "/opt/app",
    "/data/archive",
    "/home/bob/docs",
    "/var/www/html",
    "/mnt/backup",
    "/srv/data",
    "/home/deploy/releases",
    "/opt/tools",
    "/var/tmp",
    "/media/usb",
    "/home/john/work",
    "/var/cache/app",
    "/srv/git",
    "/mnt/shared",
)
STEM_POOL: tuple[str, ...] = (
    "report",
    "notes",
    "data",
    "app",
    "server",
    "backup",
    "config",
    "output",
    "results",
    "access",
    "error",
    "main",
    "utils",
    "records",
    "summary",
    "inventory",
    "users",
    "metrics",
    "build",
    "deploy",
    "input",
    "archive",
    "settings",
    "sample",
    "export",
)
USER_POOL: tuple[str, ...] = (
    "alice",
    "bob",
    "john",
    "developer",
    "sysadmin",
    "deploy",
    "www-data",
    "carol",
    "dave",
    "jenkins",
    "ubuntu",
    "mary",
    "oracle",
    "tomcat",
)
# extensions whose files are interchangeable for a glob (`*.txt` -> `*.log`): same tools apply
EXT_FAMILIES: tuple[tuple[str, ...], ...] = (
    ("txt", "log", "md"),
    ("jpg", "png", "gif"),
    ("mp3", "wav", "ogg", "flac"),
    ("mp4", "mkv", "avi"),
    ("conf", "cfg", "ini"),
    ("bak", "old", "orig"),
    ("html", "htm"),
)
_EXT_FAMILY = {ext: fam for fam in EXT_FAMILIES for ext in fam}
# extensions recognised on plain file names (the stem changes, the extension stays)
FILE_EXTS: tuple[str, ...] = (
    "tar.gz",
    "tar.bz2",
    "tar.xz",
    "tgz",
    "tar",
    "zip",
    "gz",
    "bz2",
    "xz",
    "7z",
    "rar",
    "txt",
    "csv",
    "tsv",
    "log",
    "json",
    "xml",
    "yaml",
    "yml",
    "conf",
    "cfg",
    "ini",
    "toml",
    "py",
    "sh",
    "bash",
    "pl",
    "rb",
    "js",
    "ts",
    "php",
    "java",
    "c",
    "h",
    "cpp",
    "hpp",
    "go",
    "rs",
    "html",
    "htm",
    "css",
    "md",
    "rst",
    "sql",
    "db",
    "sqlite",
    "dat",
    "out",
    "bak",
    "pdf",
    "doc",
    "docx",
    "xls",
    "xlsx",
    "odt",
    "jpg",
    "jpeg",
    "png",
    "gif",
    "svg",
    "mp3",
    "wav",
    "ogg",
    "flac",
    "mp4",
    "mkv",
    "avi",
    "iso",
    "img",
    "deb",
    "rpm",
    "jar",
    "pem",
    "key",
    "crt",
    "patch",
    "diff",
)
# names whose meaning is the name itself: never renamed
FILE_DENY = frozenset(
    {
        "requirements.txt",
        "setup.py",
        "package.json",
        "package-lock.json",
        "cmakelists.txt",
        "pom.xml",
        "build.xml",
        "docker-compose.yml",
        "docker-compose.yaml",
        "cargo.toml",
        "pyproject.toml",
        "setup.cfg",
        "__init__.py",
        "manage.py",
        "composer.json",
        "go.mod",
        "robots.txt",
        "index.php",
        "wp-config.php",
        "httpd.conf",
        "nginx.conf",
        "sshd_config",
        "resolv.conf",
        "a.out",
        "fstab",
        "hosts",
        "sources.list",
        "known_hosts",
        "authorized_keys",
    }
)
# system locations where another path would make the command wrong
PATH_DENY_PREFIXES: tuple[str, ...] = (
    "/dev",
    "/proc",
    "/sys",
    "/etc",
    "/bin",
    "/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/usr/lib",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/include",
    "/usr/share",
    "/boot",
    "/run",
    "/var/run",
    "/var/lib",
    "/var/spool",
    "/var/mail",
    "/var/lock",
    "/usr/src",
)
# common words that are also user names: only swapped when the instruction marks them as a user
AMBIGUOUS_USERS = frozenset(
    {
        "root",
        "user",
        "admin",
        "test",
        "guest",
        "nobody",
        "www",
        "data",
        "name",
        "username",
        "me",
        "you",
        "apache",
        "mysql",
        "postgres",
        "daemon",
        "bin",
        "sys",
        "games",
        "mail",
        "news",
        "backup",
        "list",
        "proxy",
        "operator",
        "ftp",
        "git",
        "users",
        "staff",
        "all",
        "other",
    }
)
_USER_WORD_CONTEXT = re.compile(
    r"(?:\buser|\busername|\bowner|\bowned by|\bby|\bas|\bto|\bfor|\bnamed|\baccount|\bof user)"
    r"\s+['\"]?$",
    re.IGNORECASE,
)
_SELF_CONTEXT_USERS = frozenset({"user", "username", "users", "owner", "name", "me", "you"})
NON_USERS = frozenset({"-", "r", "R", "h", "c", "v", "f"})

DAY_POOL = (1, 2, 3, 5, 7, 10, 14, 15, 20, 21, 30, 45, 60, 90, 180, 365)
MIN_POOL = (1, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 360, 720)
SIZE_POOL: dict[str, tuple[int, ...]] = {
    "k": (4, 10, 20, 50, 100, 200, 500),
    "M": (1, 5, 10, 20, 50, 100, 500),
    "G": (1, 2, 5, 10),
    "c": (100, 512, 1024, 4096, 10000),
}
NUM_WORDS = {
    1: "one",
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    9: "nine",
    10: "ten",
    11: "eleven",
    12: "twelve",
    14: "fourteen",
    15: "fifteen",
    20: "twenty",
    30: "thirty",
    45: "forty-five",
    60: "sixty",
    90: "ninety",
}
_WORD_NUMS = {w: n for n, w in NUM_WORDS.items()}

# size unit styles: instruction spelling -> (style, family); style -> spelling per family
_SIZE_STYLES: dict[str, dict[str, str]] = {
    "letter": {"k": "k", "M": "M", "G": "G"},
    "LETTER": {"k": "K", "M": "M", "G": "G"},
    "XB": {"k": "KB", "M": "MB", "G": "GB"},
    "kB": {"k": "kB", "M": "MB", "G": "GB"},
    "xb": {"k": "kb", "M": "mb", "G": "gb"},
    "Xb": {"k": "Kb", "M": "Mb", "G": "Gb"},
    "iB": {"k": "KiB", "M": "MiB", "G": "GiB"},
    "word": {"k": "kilobyte", "M": "megabyte", "G": "gigabyte"},
    "Word": {"k": "Kilobyte", "M": "Megabyte", "G": "Gigabyte"},
    "bytes": {"c": "byte"},
}
_SIZE_UNIT: dict[str, tuple[str, str]] = {}  # spelling -> (style, family)
for _style, _forms in _SIZE_STYLES.items():
    for _fam, _form in _forms.items():
        if _style in ("word", "Word", "bytes"):
            _SIZE_UNIT.setdefault(_form + "s", (_style, _fam))
        _SIZE_UNIT.setdefault(_form, (_style, _fam))
for _extra, _val in (
    ("megs", ("word", "M")),
    ("meg", ("word", "M")),
    ("gigs", ("word", "G")),
    ("gig", ("word", "G")),
    ("Bytes", ("bytes", "c")),
):
    _SIZE_UNIT.setdefault(_extra, _val)

# --------------------------------------------------------------------------- regexes

_PATH_TOKEN = re.compile(r"(?<![\w.~/:$@}\\-])/(?:[\w.+@%,-]+/?)+")
_TIME_FLAG = re.compile(r"(?<![\w-])-(?P<flag>[amc](?:time|min))\s+(?P<sign>[+-]?)(?P<num>\d+)(?![\w.])")
_SIZE_FLAG = re.compile(r"(?<![\w-])-size\s+(?P<sign>[+-]?)(?P<num>\d+)(?P<unit>[kMGc])(?![\w.])")
_NUM_WORD_RE = "|".join(sorted((re.escape(w) for w in _WORD_NUMS), key=len, reverse=True))
_DAY_MENTION = re.compile(
    rf"(?<![\w.*/-])(?P<num>\d+|{_NUM_WORD_RE})(?P<sep>[\s-]*)(?P<unit>days?)\b", re.IGNORECASE
)
_MIN_MENTION = re.compile(
    rf"(?<![\w.*/-])(?P<num>\d+|{_NUM_WORD_RE})(?P<sep>[\s-]*)(?P<unit>minutes?|mins?)\b",
    re.IGNORECASE,
)
_SIZE_UNIT_RE = "|".join(sorted((re.escape(u) for u in _SIZE_UNIT), key=len, reverse=True))
_SIZE_MENTION = re.compile(rf"(?<![\w.])(?P<num>\d+)(?P<sep>\s*)(?P<unit>{_SIZE_UNIT_RE})(?![\w])")
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


def _is_w(ch: str) -> bool:
    """`ch` is a regex word character (\\w); '' (text edge) is not."""
    return bool(ch) and (ch.isalnum() or ch == "_")


def _occurrences(text: str, value: str, left_bad: str = "", right_ok=None) -> list[tuple[int, int]]:
    """Spans of `value` in `text` whose left neighbour is no word char and not in `left_bad`,
    and whose right side passes `right_ok(text, end)` (default: no word char and no '-').

    Plain `str.find`, no per-value regex: compiling one pattern per value thrashes re's cache.
    """
    right_ok = right_ok or _name_end
    out: list[tuple[int, int]] = []
    n = len(value)
    i = text.find(value)
    while i >= 0:
        prev = text[i - 1] if i else ""
        if not _is_w(prev) and (not prev or prev not in left_bad) and right_ok(text, i + n):
            out.append((i, i + n))
        i = text.find(value, i + 1)
    return out


def _name_end(text: str, end: int) -> bool:
    nxt = text[end : end + 1]
    return not _is_w(nxt) and nxt != "-"


def _file_end(text: str, end: int) -> bool:
    """After a name: not glued to more name characters, nor to '.ext' (a trailing '.' is fine)."""
    nxt = text[end : end + 1]
    if _is_w(nxt) or nxt == "-":
        return False
    return not (nxt == "." and _is_w(text[end + 1 : end + 2]))


def _path_end(text: str, end: int) -> bool:
    nxt = text[end : end + 1]
    if _is_w(nxt) or (nxt and nxt in "+@%,-"):
        return False
    return not (nxt == "." and _is_w(text[end + 1 : end + 2]))


def _glob_end(text: str, end: int) -> bool:
    nxt = text[end : end + 1]
    return not _is_w(nxt) and nxt not in (".", "-") if nxt else True


_PATH_LEFT_BAD = ".~/:$@}\\-"  # a path that continues another token is not this path
_FILE_LEFT_BAD = ".*?$\\-"
_FILES_AFTER = re.compile(r"\s+files?\b")


# --------------------------------------------------------------------------- entities


@dataclass(slots=True)
class Entity:
    """One substitutable value of one pair: where it sits in both texts and how to redraw it.

    `cmd_spans`/`ins_spans` are every occurrence of the value in the command/instruction; all of
    them are replaced together (the instruction's text may differ: "100 KB" for `+100k`).
    """

    kind: str
    old: str  # command-side text, as recorded in `substitutions`
    cmd_spans: list[tuple[int, int]]
    ins_spans: list[tuple[int, int]]
    # draw(rng, forbidden) -> (new command text, new instruction text, recorded new) or None
    draw: Callable[[random.Random, Callable[[str], bool]], tuple[str, str, str] | None]


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


def _find_paths(ins: str, cmd: str) -> list[Entity]:
    found: list[Entity] = []
    seen: set[str] = set()
    for token in _path_candidates(cmd, ins):
        # the token itself, else its nearest ancestor the instruction states
        parts = token.split("/")
        for cut in range(len(parts), 1, -1):
            cand = "/".join(parts[:cut])
            if cand in seen or cand not in ins:
                continue
            c_sp = _occurrences(cmd, cand, _PATH_LEFT_BAD, _path_end)
            i_sp = _occurrences(ins, cand, _PATH_LEFT_BAD, _path_end)
            if not c_sp or not i_sp:
                continue
            if len(c_sp) != len(_occurrences(cmd, cand, "", _path_end)) or len(i_sp) != len(
                _occurrences(ins, cand, "", _path_end)
            ):
                break  # occurs somewhere we cannot rewrite safely
            # a prefix replacement must not rewrite a deny-listed path (/usr -> /usr/bin/env)
            if any(
                _path_denied(_FULL_PATH.match(text, s).group(0).rstrip("/."))
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


def _find_files(ins: str, cmd: str) -> list[Entity]:
    found: list[Entity] = []
    seen: set[str] = set()
    for m in _FILE_TOKEN.finditer(cmd):
        name, ext = m.group(0), m.group("ext")
        if name in seen or name.lower() in FILE_DENY or name not in ins:
            continue
        seen.add(name)
        c_sp = _occurrences(cmd, name, _FILE_LEFT_BAD, _file_end)
        i_sp = _occurrences(ins, name, _FILE_LEFT_BAD, _file_end)
        if not c_sp or not i_sp:
            continue
        if len(c_sp) != len(_occurrences(cmd, name, "-")) or len(i_sp) != len(_occurrences(ins, name, "-")):
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


def _find_globs(ins: str, cmd: str) -> list[Entity]:
    found: list[Entity] = []
    seen: set[str] = set()
    for m in _GLOB_TOKEN.finditer(cmd):
        ext = m.group("ext")
        fam = _EXT_FAMILY.get(ext.lower())
        if fam is None or ext in seen:
            continue
        seen.add(ext)
        every_c = _occurrences(cmd, ext, "-")
        c_sp = [(st, en) for st, en in every_c if cmd[max(0, st - 2) : st] == "*." and _glob_end(cmd, en)]
        if len(c_sp) != len(every_c):
            continue  # the extension also appears outside a glob
        # instruction: ".txt", "*.txt", "txt files"; every bare mention must be one of these
        every_i = _occurrences(ins, ext, "-")
        i_sp = [
            (st, en)
            for st, en in every_i
            if _file_end(ins, en) and (ins[st - 1 : st] == "." or _FILES_AFTER.match(ins, en))
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


def _find_users(ins: str, cmd: str) -> list[Entity]:
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
        c_all = _occurrences(cmd, user, "-")
        # every occurrence in the command must be a recognised user position
        if sorted(spans_by_user[user]) != c_all:
            continue
        i_sp: list[tuple[int, int]] = []
        ok = True
        for s, e in _occurrences(ins, user, "-"):
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


def _num_value(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    return _WORD_NUMS.get(text.lower())


def _render_num(n: int, like: str) -> str | None:
    if like.isdigit():
        return str(n)
    word = NUM_WORDS.get(n)
    if word is None:
        return None
    if like.isupper():
        return word.upper()
    return word.capitalize() if like[:1].isupper() else word


def _plural(unit: str, n: int) -> str:
    """Keep the unit word's spelling, fix singular/plural for the new number."""
    base = unit[:-1] if unit.lower().endswith("s") else unit
    if base.lower() in ("minute", "min", "day"):
        return base if n == 1 else base + ("S" if unit.isupper() else "s")
    return unit


def _find_times(ins: str, cmd: str) -> list[Entity]:
    flags = list(_TIME_FLAG.finditer(cmd))
    if len(flags) != 1:
        return []  # none, or a range whose bounds must stay ordered
    m = flags[0]
    flag, sign, num = m.group("flag"), m.group("sign"), int(m.group("num"))
    if num == 0:
        return []
    mention = _DAY_MENTION if flag.endswith("time") else _MIN_MENTION
    hits = [h for h in mention.finditer(ins) if _num_value(h.group("num")) == num]
    if len(hits) != 1 or any(True for _ in mention.finditer(cmd)):
        return []
    h = hits[0]
    like, sep, unit = h.group("num"), h.group("sep"), h.group("unit")
    pool = DAY_POOL if flag.endswith("time") else MIN_POOL
    old = f"-{flag} {sign}{num}"

    choices = [n for n in pool if n != num and _render_num(n, like) is not None]

    def draw(rng: random.Random, forbidden: Callable[[str], bool]):
        if not choices:
            return None
        n = rng.choice(choices)
        return str(n), f"{_render_num(n, like)}{sep}{_plural(unit, n)}", f"-{flag} {sign}{n}"

    return [Entity("time", old, [m.span("num")], [h.span()], draw)]


def _find_sizes(ins: str, cmd: str) -> list[Entity]:
    flags = list(_SIZE_FLAG.finditer(cmd))
    if len(flags) != 1:
        return []
    m = flags[0]
    sign, num, unit = m.group("sign"), int(m.group("num")), m.group("unit")
    hits = []
    for h in _SIZE_MENTION.finditer(ins):
        style, fam = _SIZE_UNIT[h.group("unit")]
        if int(h.group("num")) == num and fam == unit:
            hits.append((h, style))
    elsewhere = (x for x in _SIZE_MENTION.finditer(cmd) if not m.start() <= x.start() < m.end())
    if len(hits) != 1 or any(int(x.group("num")) == num for x in elsewhere):
        return []
    h, style = hits[0]
    sep, word_unit = h.group("sep"), h.group("unit")
    forms = _SIZE_STYLES[style]
    old = f"-size {sign}{num}{unit}"

    choices = [(n, f) for f in forms if f in SIZE_POOL for n in SIZE_POOL[f] if (n, f) != (num, unit)]

    def draw(rng: random.Random, forbidden: Callable[[str], bool]):
        if not choices:
            return None
        n, f = rng.choice(choices)
        form = forms[f]
        if style in ("word", "Word", "bytes"):
            if word_unit in ("megs", "meg", "gigs", "gig"):
                form = {"M": "meg", "G": "gig"}.get(f, form)
            if n != 1 and (word_unit.endswith("s") or style != "bytes"):
                form += "s"
        return f"{n}{f}", f"{n}{sep}{form}", f"-size {sign}{n}{f}"

    return [Entity("size", old, [(m.start("num"), m.end("unit"))], [h.span()], draw)]


_PRIORITY = (_find_times, _find_sizes, _find_users, _find_files, _find_globs, _find_paths)


def find_entities(instruction: str, command: str) -> list[Entity]:
    """The substitutable entities of one pair, non-overlapping, in a fixed order."""
    if not command or not instruction:
        return []
    taken_c: list[tuple[int, int]] = []
    taken_i: list[tuple[int, int]] = []
    out: list[Entity] = []

    def clash(spans: list[tuple[int, int]], taken: list[tuple[int, int]]) -> bool:
        return any(s < te and ts < e for s, e in spans for ts, te in taken)

    for finder in _PRIORITY:
        for ent in finder(instruction, command):
            if clash(ent.cmd_spans, taken_c) or clash(ent.ins_spans, taken_i):
                continue
            taken_c.extend(ent.cmd_spans)
            taken_i.extend(ent.ins_spans)
            out.append(ent)
    return out


# --------------------------------------------------------------------------- generation


@dataclass
class AugmentStats:
    """What one augmentation run did."""

    originals: int = 0
    eligible: int = 0  # originals with at least one substitutable entity
    produced: int = 0
    duplicates_skipped: int = 0  # draws discarded because their key already existed
    no_entities: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)  # substitutions made, per entity kind
    exhausted: int = 0  # eligible rows that ran out of new variants before the target

    def to_json(self) -> dict:
        return {
            "originals": self.originals,
            "eligible": self.eligible,
            "produced": self.produced,
            "duplicates_skipped": self.duplicates_skipped,
            "no_entities": self.no_entities,
            "by_kind": dict(sorted(self.by_kind.items())),
            "exhausted": self.exhausted,
        }


def default_key(ex: Example) -> tuple[str, str]:
    """Normalised (instruction, command) key used for duplicate detection."""
    return (ex.instruction.casefold().strip(), " ".join(ex.command.split()))


def _rng_for(seed: int, row_id: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}\x00{row_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def _splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    parts: list[str] = []
    pos = 0
    for s, e, new in sorted(edits):
        parts.append(text[pos:s])
        parts.append(new)
        pos = e
    parts.append(text[pos:])
    return "".join(parts)


def _variant(ex: Example, ents: list[Entity], rng: random.Random, k: int) -> Example | None:
    """One augmented copy of `ex` with a random non-empty subset of its entities redrawn."""
    chosen = [e for e in ents if rng.random() < 0.7] or [rng.choice(ents)]
    ins, cmd = ex.instruction, ex.command
    used: list[str] = []
    # a new value must not contain an old one (or another new one): after the swap every old
    # value is gone from both texts and no two entities collapse into one
    olds = [e.old for e in ents if e.kind in ("path", "user", "file")]

    def forbidden(value: str) -> bool:
        return (
            value in ins
            or value in cmd
            or any(o in value for o in olds)
            or any(value in u or u in value for u in used)
        )

    c_edits: list[tuple[int, int, str]] = []
    i_edits: list[tuple[int, int, str]] = []
    subs: list[tuple[str, str, str]] = []
    for ent in chosen:
        got = ent.draw(rng, forbidden)
        if got is None:
            continue
        new_c, new_i, new_rec = got
        if ent.kind in ("path", "user", "file", "glob"):
            used.append(new_c)
        c_edits.extend((s, e, new_c) for s, e in ent.cmd_spans)
        i_edits.extend((s, e, new_i) for s, e in ent.ins_spans)
        subs.append((ent.kind, ent.old, new_rec))
    if not subs:
        return None
    return Example(
        instruction=_splice(ins, i_edits),
        command=_splice(cmd, c_edits),
        source=ex.source,
        row_id=f"{ex.row_id}~aug{k}",
        category=ex.category,
        split=ex.split,
        origin=ex.row_id,
        substitutions=subs,
    )


def augment(
    examples: list[Example],
    *,
    multiplier: float | None = 4.0,
    target_size: int | None = None,
    seed: int = 42,
    existing_keys: set[tuple[str, str]] | Iterable[Hashable] | None = None,
    key_fn: KeyFn | None = None,
    max_per_row: int = 24,
    max_tries: int = 6,
) -> tuple[list[Example], AugmentStats]:
    """New, true, de-duplicated variants of `examples`; the originals are NOT in the result.

    Generation stops when originals + new rows reach `target_size` (wins when given) or
    `multiplier` × originals. Variants are spread round-robin over the eligible rows (in a
    seeded order), at most `max_per_row` per original; a draw whose key is in `existing_keys`,
    among the originals or already produced is discarded and redrawn up to `max_tries` times.
    """
    key_fn = key_fn or default_key
    stats = AugmentStats(originals=len(examples))
    if target_size is not None:
        goal = int(target_size)
    elif multiplier is not None:
        goal = int(round(multiplier * len(examples)))
    else:
        goal = len(examples)
    needed = max(0, goal - len(examples))

    seen: set[Hashable] = set(existing_keys or ())
    seen.update(key_fn(ex) for ex in examples)

    pool: list[tuple[Example, list[Entity], random.Random]] = []
    for ex in examples:
        ents = find_entities(ex.instruction, ex.command)
        if ents:
            pool.append((ex, ents, _rng_for(seed, ex.row_id)))
        else:
            stats.no_entities += 1
    stats.eligible = len(pool)
    if not needed or not pool:
        return [], stats

    random.Random(f"order:{seed}").shuffle(pool)
    out: list[Example] = []
    counts = [0] * len(pool)
    alive = list(range(len(pool)))
    while alive and len(out) < needed:
        still: list[int] = []
        for idx in alive:
            if len(out) >= needed:
                still.append(idx)
                break
            ex, ents, rng = pool[idx]
            made = None
            for _ in range(max_tries):
                cand = _variant(ex, ents, rng, counts[idx] + 1)
                if cand is None:
                    continue
                key = key_fn(cand)
                if key in seen:
                    stats.duplicates_skipped += 1
                    continue
                seen.add(key)
                made = cand
                break
            if made is None:
                stats.exhausted += 1
                continue
            counts[idx] += 1
            out.append(made)
            for kind, _, _ in made.substitutions:
                stats.by_kind[kind] += 1
            if counts[idx] < max_per_row:
                still.append(idx)
        alive = still
    stats.produced = len(out)
    return out, stats


def preview_augmentation(
    examples: list[Example], n: int = 5, seed: int = 42
) -> list[tuple[Example, Example]]:
    """Up to `n` (original, augmented) pairs, drawn in a seeded order, for a preview screen."""
    order = list(range(len(examples)))
    random.Random(f"preview:{seed}").shuffle(order)
    pairs: list[tuple[Example, Example]] = []
    for i in order:
        if len(pairs) >= n:
            break
        ex = examples[i]
        ents = find_entities(ex.instruction, ex.command)
        if not ents:
            continue
        rng = _rng_for(seed, ex.row_id)
        for _ in range(3):
            var = _variant(ex, ents, rng, 1)
            if var is not None and default_key(var) != default_key(ex):
                pairs.append((ex, var))
                break
    return pairs
