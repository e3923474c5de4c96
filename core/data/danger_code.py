"""Code that makes code, for core.data.safety: what echo/printf/decoders print, and what interpreters run.

Obfuscated commands hide the payload in text that is produced at run time (`echo cm0g... | base64 -d
| sh`, `$(printf '\\x72\\x6d')`) or in another language (`python -c 'os.system(...)'`). When the
producing text is a literal on the same line, static_output computes it so the payload can be judged
like any other command; when it is not (a file, a variable), the result is OPAQUE and whatever runs it
is reported as "cannot verify".
"""

from __future__ import annotations

import base64
import binascii
import bz2
import lzma
import re
import zlib
from collections.abc import Callable

from core.data.danger_paths import CANNOT_VERIFY, base, critical_file, dir_label


class _Opaque:
    """Output that depends on data we cannot see: decoded from a file or variable, downloaded ..."""

    def __repr__(self) -> str:
        return "OPAQUE"


OPAQUE = _Opaque()
Printed = str | _Opaque | None  # what a command prints: text, OPAQUE (a hidden payload), None (unknown)

# ---------------------------------------------------------------------------------- escapes

_ESCAPE = re.compile(
    r"\\(?:x([0-9A-Fa-f]{1,2})|u([0-9A-Fa-f]{1,4})|U([0-9A-Fa-f]{1,8})|0?([0-7]{1,3})|(.))", re.S
)
_SIMPLE_ESC = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}


def decode_escapes(s: str) -> str:
    """Backslash escapes as $'...', echo -e and printf read them (\\x72, \\162, \\n, \\u0072 ...)."""
    if "\\" not in s:
        return s

    def one(m: re.Match[str]) -> str:
        hx, u4, u8, octal, ch = m.groups()
        if hx or u4 or u8:
            return chr(int(hx or u4 or u8, 16)) if int(hx or u4 or u8, 16) < 0x110000 else ""
        if octal is not None:
            return chr(int(octal, 8) & 0xFF)
        return _SIMPLE_ESC.get(ch, "\\" + ch)

    return _ESCAPE.sub(one, s)


# ---------------------------------------------------------------------------------- static output


def _printf(args: list[str]) -> str:
    fmt, rest = decode_escapes(args[0]), args[1:]
    out, first = [], True
    while first or rest:
        first = False
        consumed = False

        def conv(m: re.Match[str]) -> str:
            nonlocal rest, consumed
            if m.group() == "%%":
                return "%"
            consumed = True
            val, rest = (rest[0], rest[1:]) if rest else ("", [])
            return decode_escapes(val) if m.group(1) == "b" else val

        out.append(re.sub(r"%[-+ #0-9.]*([sbdicfxXou])|%%", conv, fmt))
        if not consumed:
            break
    return "".join(out)


def _tr_set(spec: str) -> str:
    """A tr set with its ranges spelled out (`a-z` → abc...z)."""
    spec = decode_escapes(spec)
    out: list[str] = []
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            out.extend(chr(c) for c in range(ord(spec[i]), ord(spec[i + 2]) + 1))
            i += 3
        else:
            out.append(spec[i])
            i += 1
    return "".join(out)


def _b64(text: str) -> str | _Opaque:
    data = re.sub(r"\s+", "", text)
    try:
        return base64.b64decode(data + "=" * (-len(data) % 4)).decode("latin-1")
    except (binascii.Error, ValueError):
        return OPAQUE


_DECOMPRESS = {
    "gzip": lambda b: zlib.decompress(b, 47),
    "gunzip": lambda b: zlib.decompress(b, 47),
    "zcat": lambda b: zlib.decompress(b, 47),
    "bzip2": bz2.decompress,
    "bunzip2": bz2.decompress,
    "bzcat": bz2.decompress,
    "xz": lzma.decompress,
    "unxz": lzma.decompress,
    "xzcat": lzma.decompress,
}


_TRANSFORMS = frozenset(["cat", "base64", "base32", "basenc", "openssl", "xxd", "rev", "tr", *_DECOMPRESS])


def static_output(argv: list[str], stdin: Printed, cwd: str | None) -> Printed:
    """What the unwrapped command prints when the line alone decides it; OPAQUE when it hides a payload."""
    if not argv:
        return ""  # only assignments
    name, args = base(argv[0]), argv[1:]
    if name in (":", "true", "false", "cd"):
        return ""
    if any("\x00" in a for a in args):
        return None  # an argument comes from a command we cannot evaluate
    if name == "echo":
        flags = ""
        while args and re.fullmatch(r"-[neE]+", args[0]):
            flags += args[0]
            args = args[1:]
        text = " ".join(args)
        return (decode_escapes(text) if "e" in flags else text) + ("" if "n" in flags else "\n")
    if name == "printf" and args and args[0] != "-v":
        return _printf(args)
    if name == "pwd":
        return cwd + "\n" if cwd else None
    if name in ("whoami", "logname") or (name == "id" and "-un" in args):
        return "$USER\n"
    if name in ("dirname", "basename") and len(args) == 1:
        p = args[0].rstrip("/") or "/"
        return (
            (p.rpartition("/")[0] or "/" if "/" in p else ".") + "\n" if name == "dirname" else base(p) + "\n"
        )
    if name not in _TRANSFORMS:
        # other tools: their output is ordinary, unless fed a payload
        return OPAQUE if stdin is OPAQUE else None
    # openssl takes a subcommand and reads a file only with -in.
    files = (
        ["-in"]
        if name == "openssl" and "-in" in args
        else []
        if name == "openssl"
        else [a for a in args if not a.startswith("-")]
    )
    decoding = any(
        a in ("-d", "--decode", "-D") or (re.fullmatch(r"-[a-zA-Z]+", a) and "d" in a) for a in args
    )
    data = stdin if not files else OPAQUE if decoding or name in ("rev", "cat") else None
    if name == "cat":
        return stdin if not files or files == ["-"] else None
    if name in ("base64", "base32", "basenc", "openssl") and decoding:
        if not isinstance(data, str):
            return OPAQUE
        if name == "base32":
            try:
                return base64.b32decode(re.sub(r"\s+", "", data)).decode("latin-1")
            except (binascii.Error, ValueError):
                return OPAQUE
        if name == "openssl" and not any(a in ("base64", "-base64", "-a", "-A") for a in args):
            return OPAQUE  # a real cipher: the key is elsewhere
        return _b64(data)
    if name == "xxd" and any(a.startswith("-r") for a in args):
        if isinstance(data, str) and any(
            a in ("-p", "-ps", "-plain") or (a.startswith("-r") and "p" in a) for a in args
        ):
            try:
                return bytes.fromhex(re.sub(r"\s+", "", data)).decode("latin-1")
            except ValueError:
                return OPAQUE
        return OPAQUE
    if name in _DECOMPRESS and (decoding or name in ("gunzip", "zcat", "bunzip2", "bzcat", "unxz", "xzcat")):
        if not isinstance(data, str):
            return OPAQUE
        try:
            return _DECOMPRESS[name](data.encode("latin-1")).decode("latin-1")
        except Exception:  # zlib.error, OSError, lzma.LZMAError: not what it claims to be
            return OPAQUE
    if name == "rev":
        return OPAQUE if not isinstance(data, str) else "\n".join(ln[::-1] for ln in data.split("\n"))
    if name == "tr" and (
        (len(args) == 2 and not args[0].startswith("-")) or (args[:1] == ["-d"] and len(args) == 2)
    ):
        # `tr 'A-Za-z' 'N-ZA-Mn-za-m'` (rot13), `tr -d`: transforms obfuscation uses on literal text.
        if not isinstance(stdin, str):
            return OPAQUE if stdin is OPAQUE else None
        if args[0] == "-d":
            return stdin.translate({ord(c): None for c in _tr_set(args[1])})
        src, dst = _tr_set(args[0]), _tr_set(args[1])
        dst = (dst + dst[-1:] * len(src))[: len(src)]
        return stdin.translate(str.maketrans(src, dst)) if src else stdin
    return OPAQUE if stdin is OPAQUE else None


# ---------------------------------------------------------------------------------- interpreters

# Interpreter family → the options whose argument is inline code.
_CODE_OPTS = {
    "python": ("c",),
    "perl": ("e", "E"),
    "ruby": ("e",),
    "node": ("e", "p"),
    "php": ("r",),
    "lua": ("e",),
}


def interpreter_family(name: str) -> str | None:
    """'python' / 'perl' / 'ruby' / 'node' / 'php' / 'lua' / 'awk' for an interpreter's command name."""
    if re.fullmatch(r"(?:python|pypy)[0-9.]*", name):
        return "python"
    if re.fullmatch(r"perl[0-9.]*|ruby[0-9.]*|php[0-9.]*|lua[0-9.]*", name):
        return re.sub(r"[0-9.]+\Z", "", name)
    if name in ("node", "nodejs", "deno", "bun"):
        return "node"
    if name in ("awk", "gawk", "mawk", "nawk", "busybox-awk"):
        return "awk"
    return None


def interpreter_code(family: str, args: list[str]) -> tuple[int | None, bool]:
    """(index in args of the inline code word, or None; True when the program is read from stdin)."""
    if family == "awk":
        i = 0
        while i < len(args) and args[i].startswith("-") and args[i] != "-":
            if args[i] in ("-f", "--file"):
                return None, False  # the program is in a file
            i += 2 if args[i] in ("-F", "-v", "--assign", "--field-separator") else 1
        return (i if i < len(args) else None), False
    opts = _CODE_OPTS[family]
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--eval", "--print") and family == "node" and i + 1 < len(args):
            return i + 1, False
        if a.startswith("-") and not a.startswith("--") and len(a) > 1:
            if a[-1] in opts and i + 1 < len(args):
                return i + 1, False
            if family == "python" and ("m" in a[1:] or "c" in a[1:-1]):
                return None, False  # a module (`-m json.tool`, `-mjson.tool`) or code glued to -c
            i += 1
            continue
        if a == "-":
            return None, True
        return None, False  # a script file
    return None, True


_LITERAL = re.compile(r"""[bBrRuUf]{0,2}('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""", re.S)
# Calls that hand a string to a shell or exec(): only near one of these is a literal a command.
_SINK = re.compile(
    r"\b(?:system|exec[lv]?p?e?|popen[23]?|spawn(?:Sync)?|execSync|execFileSync|execFile|shell_exec|passthru"
    r"|proc_open|getoutput|getstatusoutput|check_output|check_call|call|run|Popen|qx)\b|\|\s*\"(?:ba|z|da)?sh\""
)
_SHELL_QUOTE = re.compile(r"(?:\bqx|%x)\s*(?:\{([^}]*)\}|\(([^)]*)\)|\[([^\]]*)\]|([|!/])(.*?)\4)", re.S)
_RMTREE = re.compile(
    r"\b(?:rmtree|rm_rf|rm_r|remove_tree|remove_dir_all|rmSync|rmdirSync|rimraf|remove_entry)\b"
)
_DELETE = re.compile(r"\b(?:remove|unlink|unlinkSync|delete|truncate|truncateSync)\b")
_WRITE = re.compile(
    r"\b(?:writeFileSync|writeFile|file_put_contents|write_text|write_bytes|IO\.write|File\.write)\b"
)
_OPEN_W = re.compile(r"\b(?:open|fopen|File\.open)\b\s*\(?")  # python open(p, "w"), perl open(F, ">p")
# pathlib style: the path comes first, the verb after it.
_PATH_METHOD = re.compile(
    r"""Path\(\s*[rRbB]?('[^']*'|"[^"]*")\s*\)\s*\.\s*(unlink|rmdir|rmtree|write_text|write_bytes)\b"""
)
_KILL_ALL = re.compile(r"\bkill(?:pg)?\s*\(?\s*(?:[\w.'\"]+\s*,\s*)?-1\b")
_DECODERS = re.compile(
    r"b64decode|decodebytes|decode_base64|decode64|unpack\s*\(?\s*['\"]m|\batob\b|base64_decode|Buffer\.from"
    r"|fromhex|unhexlify|rot_?13|str_rot13|gzinflate|zlib|marshal\.loads|codecs\.decode"
)
_EXEC = re.compile(
    r"\b(?:exec|eval|compile|system|popen|spawn|execSync|shell_exec|passthru|run|call|Popen|check_output)\b"
)
_FETCH = re.compile(r"urlopen|requests\.get|LWP::Simple|open-uri|Net::HTTP|https?\.get|\bfetch\(|urllib")


def _texty(t: str) -> bool:
    """Decoded bytes that read as text (a command or code), not binary noise."""
    return bool(t) and all(c.isprintable() or c in "\n\t\r" for c in t)


def _literals(code: str) -> list[tuple[int, int, str]]:
    """(start, end, value) of each string literal, escapes decoded."""
    return [(m.start(1), m.end(), decode_escapes(m.group(1)[1:-1])) for m in _LITERAL.finditer(code)]


def _joined(code: str, lits: list[tuple[int, int, str]]) -> list[str]:
    """Literals glued into strings: `"rm " + "-rf /"` → one, `("rm", "-rf", "/")` → "rm -rf /"."""
    out: list[str] = []
    prev_end, cur = -1, ""
    for start, end, val in lits:
        gap = code[prev_end:start].strip() if prev_end >= 0 else None
        if gap in (",", "+", ".", "", "=>") and prev_end >= 0:
            cur += (" " if gap in (",", "=>") else "") + val
        else:
            if prev_end >= 0:
                out.append(cur)
            cur = val
        prev_end = end
    if prev_end >= 0:
        out.append(cur)
    return out


def _after(code: str, pos: int, lits: list[tuple[int, int, str]], within: int = 40) -> str | None:
    """The first literal starting within `within` characters after pos."""
    return next((v for s, _, v in lits if pos <= s <= pos + within), None)


def code_reason(
    family: str, code: str, judge_code: Callable[[str], str | None], depth: int = 0
) -> str | None:
    """Why inline `family` code (python -c, perl -e, awk '...') is destructive, or None."""
    if depth > 3:
        return CANNOT_VERIFY + f"{family} code nested too deeply to check"
    lits = _literals(code)
    # Backticks and qx{} / %x{} run their contents in a shell (perl, ruby, php).
    shelled = (
        [m.group(1) for m in re.finditer(r"`([^`]*)`", code)] if family in ("perl", "ruby", "php") else []
    )
    shelled += [
        next(g for g in m.groups() if g is not None and g not in "|!/") for m in _SHELL_QUOTE.finditer(code)
    ]
    if _SINK.search(code):
        shelled += _joined(code, lits)
    chdir = re.search(r"\b(?:chdir|cd)\s*\(?\s*" + _LITERAL.pattern, code)
    if chdir:  # Dir.chdir("/"); system("rm -rf *"): the shell starts in that directory
        cwd = decode_escapes(chdir.group(1)[1:-1]).replace("'", "")
        shelled = [f"cd '{cwd}' && {t}" for t in shelled]
    for text in shelled:
        reason = judge_code(text)
        if reason:
            return reason
    for m in _RMTREE.finditer(code):
        path = _after(code, m.end(), lits)
        label = path and dir_label(path, None)
        if label:
            return f"recursive delete of {label} ({family})"
    for m in _PATH_METHOD.finditer(code):
        path, verb = decode_escapes(m.group(1)[1:-1]), m.group(2)
        crit = critical_file(path, None, overwrite=verb.startswith("write"))
        label = dir_label(path, None) if verb == "rmtree" else None
        if crit or label:
            return f"{'overwrite' if verb.startswith('write') else 'delete'} of {crit or label} ({family})"
    for m in _DELETE.finditer(code):
        path = _after(code, m.end(), lits)
        crit = path and critical_file(path, None)
        if crit:
            return f"delete of {crit} ({family})"
    for m in list(_WRITE.finditer(code)) + list(_OPEN_W.finditer(code)):
        following = [v for s, _, v in lits if m.end() <= s <= m.end() + 60][:2]
        if not following:
            continue
        path = following[0]
        if m.group().lstrip().startswith(("open", "fopen", "File.open")):
            # open(path, "w") / open(FH, ">path") / open(FH, ">", path): only writing modes truncate.
            mode = following[1] if len(following) > 1 else ""
            if path.startswith(">") and not path.startswith(">>"):
                path, mode = (path[1:].strip() or (following[1] if len(following) > 1 else "")), "w"
            if "w" not in mode:
                continue
        crit = critical_file(path, None, overwrite=True)
        if crit:
            return f"overwrite of {crit} ({family})"
    if _KILL_ALL.search(code):
        return f"kill of every process ({family})"
    if re.search(r"\bfork\b", code) and re.search(r"\b(?:while|for|loop|until)\b|iter\(", code):
        return f"fork bomb ({family})"
    if _EXEC.search(code) and _FETCH.search(code):
        return "run a script downloaded from the network"
    if _EXEC.search(code) and _DECODERS.search(code):
        # exec(b64decode("...")): decode every literal that decodes cleanly and judge the result.
        decoded = [t for _, _, v in lits if len(v) >= 8 and isinstance(t := _b64(v), str) and _texty(t)]
        hexes = [v for _, _, v in lits if re.fullmatch(r"(?:[0-9a-fA-F]{2}){4,}", v)]
        decoded += [bytes.fromhex(v).decode("latin-1") for v in hexes]
        for text in decoded:
            reason = judge_code(text) or code_reason(family, text, judge_code, depth + 1)
            if reason:
                return reason
        if not decoded:
            return CANNOT_VERIFY + f"{family} runs code it decodes at run time"
    return None
