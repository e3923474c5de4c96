"""Canonical forms of commands and instructions, used as keys for duplicate detection."""

from __future__ import annotations

import re

from core.data.bash_scan import find_close, skip_double_quoted

# One regex pass tokenizes a command (a hand-written char loop is ~5x slower in CPython, and
# this runs on every row of the pipeline). Order matters: redirections before plain words so
# that `2>` is one operator, and `'`/`"` without a closing quote are caught as "unbalanced".
_TOKEN = re.compile(
    r"""
    (?P<nl>[ \t]*\n\s*)
  | (?P<ws>(?:[ \t\r\f\v]|\\\n)+)
  | (?P<sq>'[^']*')
  | (?P<dq>"(?:[^"\\]|\\.)*")
  | (?P<ansi>\$'(?:[^'\\]|\\.)*')
  | (?P<sub>\$\(|[<>]\(|`)
  | (?P<param>\$\{[^{}'"]*\})
  | (?P<esc>\\.)
  | (?P<op>&&|\|\||;;&?|;&|\|&|&>>?|[0-9]*(?:>>|>&|<&|<<<|<<-|<<|<>|>\||>|<)|[|&;()])
  | (?P<plain>[^\s'"\\$`|&;()<>]+|\$)
  | (?P<bad>['"\\])
    """,
    re.VERBOSE | re.DOTALL,
)

# Characters a word may contain and still be written bare: quoting such a word changes nothing.
_SAFE_BARE = re.compile(r"[A-Za-z0-9_./:@%+,=-]+\Z")
_REDIRECT_OPS = frozenset({"<", ">", ">>", ">|", "<>", "&>", "&>>", ">&", "<&", "<<<"})
_WS = re.compile(r"\s+")
_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")


def _quote(value: str) -> str:
    """Canonical quoting of a literal value: bare if safe, else single quotes (double if it has ')."""
    if value and ((_SAFE_BARE.match(value) and ("=" not in value or value[0] == "-")) or value == "{}"):
        # `'a=b'` vs `a=b` differ at command position (command name vs assignment): keep those quoted.
        return value
    if "'" not in value:
        return f"'{value}'"
    return '"' + re.sub(r'(["\\$`])', r"\\\1", value) + '"'


def _dq_literal(body: str) -> str | None:
    """Literal value of a double-quoted body, or None if it expands something ($, backticks)."""
    if "$" in body or "`" in body:
        # Only unescaped $/` expand; escaped ones are rare enough to keep raw.
        return None
    if "\\" not in body:
        return body
    # Inside "...", backslash only escapes $ ` " \ and newline.
    return re.sub(r'\\([$`"\\\n])', lambda m: "" if m.group(1) == "\n" else m.group(1), body)


def _normalize(cmd: str, depth: int = 0) -> str:
    """Tokenize and rebuild `cmd` in canonical form; raises ValueError on unclosed quoting."""
    if depth > 20:
        raise ValueError
    out: list[str] = []  # finished tokens (words and operators)
    raw: list[str] = []  # current word, as written (with canonicalized substitutions)
    lit: list[str] = []  # current word's literal value, valid while `literal` holds
    literal = True  # every part so far has a known literal value
    quoted = False  # some part was quoted/escaped, so requoting may apply
    glued = False  # the current word must attach to the previous token (redirect target)
    pos, n = 0, len(cmd)

    def end_word() -> None:
        nonlocal literal, quoted, glued
        if not raw:
            return
        if quoted and literal:
            value = "".join(lit)
            # An assignment `x='a b'` keeps its unquoted `x=`: quoting it would make it a command name.
            a = _ASSIGN.match(raw[0])
            word = a.group() + _quote(value[a.end() :]) if a else _quote(value)
        else:
            word = "".join(raw)
        if glued and out:
            out[-1] += word
        else:
            out.append(word)
        raw.clear()
        lit.clear()
        literal, quoted, glued = True, False, False

    while pos < n:
        m = _TOKEN.match(cmd, pos)
        if m is None:  # cannot happen (the alternatives cover every char), but never loop forever
            raise ValueError
        kind, text = m.lastgroup, m.group()
        pos = m.end()
        if kind == "ws":
            end_word()
        elif kind == "nl":
            end_word()
            if out and out[-1] != "\n":
                out.append("\n")
        elif kind == "plain":
            raw.append(text)
            lit.append(text)
            if not _SAFE_BARE.match(text):
                # Unquoted globs, ~, {a,b}, $ ... have meaning: such a word is kept as written.
                literal = False
        elif kind == "sq":
            raw.append(text)
            lit.append(text[1:-1])
            quoted = True
        elif kind == "dq":
            if "$(" in text:
                j = skip_double_quoted(cmd, m.start() + 1)  # the regex stops at a quote nested in $(...)
                if j < 0:
                    raise ValueError
                text, pos = cmd[m.start() : j + 1], j + 1
            raw.append(text)
            value = _dq_literal(text[1:-1])
            if value is None:
                literal = False
            else:
                lit.append(value)
            quoted = True
        elif kind == "esc":
            raw.append(text)
            lit.append(text[1])
            quoted = True
        elif kind == "ansi" or kind == "param":
            raw.append(text)
            literal = False
        elif kind == "sub":
            literal = False
            if text == "`":
                j = cmd.find("`", pos)
                if j < 0:
                    raise ValueError
                body = cmd[pos:j]
                # `cmd` and $(cmd) are the same; write the modern form when unescaping is trivial.
                raw.append(f"$({_normalize(body, depth + 1)})" if "\\" not in body else cmd[pos - 1 : j + 1])
                pos = j + 1
            else:
                j = find_close(cmd, pos)
                if j < 0:
                    raise ValueError
                body = cmd[pos:j]
                if text == "$(" and body.startswith("(") and body.endswith(")"):
                    # Arithmetic $((...)): whitespace is insignificant there.
                    raw.append("$(" + _WS.sub("", body) + ")")
                else:
                    raw.append(text + _normalize(body, depth + 1) + ")")
                pos = j + 1
        elif kind == "op":
            if text[0].isdigit():
                # `2>`: the fd digits belong to the operator only when they start a word.
                digits = len(text) - len(text.lstrip("0123456789"))
                if raw:
                    raw.append(text[:digits])
                    lit.append(text[:digits])
                    text = text[digits:]
            end_word()
            if text == "(" and out and pos < n and cmd[pos] == ")":
                out[-1] += "()"  # function definition `f()` / `f ()`
                pos += 1
                continue
            if (
                text == "("
                and out
                and out[-1].endswith("=")
                and m.start() > 0
                and not cmd[m.start() - 1].isspace()
            ):
                # Array assignment a=(x y): keep it attached so the result stays valid bash.
                j = find_close(cmd, pos)
                if j < 0:
                    raise ValueError
                out[-1] += "(" + _normalize(cmd[pos:j], depth + 1) + ")"
                pos = j + 1
                continue
            out.append(text)
            if text.lstrip("0123456789") in _REDIRECT_OPS:
                glued = True  # redirect target is written attached: `2>/dev/null`, `>out`
            if text in ("<<", "<<-"):
                raise ValueError  # heredoc bodies are whitespace-sensitive: use the plain fallback
        else:  # "bad": an unclosed quote or a lone backslash at the end
            raise ValueError
    end_word()
    while out and out[-1] in (";", "\n"):
        out.pop()  # a trailing `;` (or newline) changes nothing
    parts: list[str] = []
    for tok in out:
        if tok != "\n" and parts and parts[-1] != "\n":
            parts.append(" ")
        parts.append(tok)
    return "".join(parts)


def _collapse(cmd: str) -> str:
    """Fallback for commands we cannot tokenize: collapse blanks per line, drop a trailing `;`."""
    lines = [" ".join(line.split()) for line in cmd.strip().splitlines()]
    text = "\n".join(line for line in lines if line)
    return text[:-1].rstrip() if text.endswith(";") and not text.endswith("\\;") else text


def normalize_command(cmd: str) -> str:
    """Canonical form of a bash command for duplicate detection (whitespace, quoting, trailing ;)."""
    if not isinstance(cmd, str):
        return ""
    cmd = cmd.strip()
    if not cmd:
        return ""
    try:
        return _normalize(cmd)
    except Exception:  # ValueError (unclosed quoting, heredoc) or a bug: the key must never stop the pipeline
        return _collapse(cmd)


_TRAILING_PUNCT = ".!?。！？"
_QUOTE_PAIRS = {'"': '"', "'": "'", "`": "`", "“": "”", "‘": "’", "«": "»"}


def normalize_instruction(text: str) -> str:
    """Canonical form of an instruction: casefolded, single-spaced, without end punctuation or quotes."""
    if not isinstance(text, str):
        return ""
    text = " ".join(text.casefold().split())
    # Peel quotes and trailing punctuation in any order: `"List files."`, `"List files".`
    while text:
        before = text
        text = text.rstrip(_TRAILING_PUNCT).rstrip()
        if len(text) >= 2 and _QUOTE_PAIRS.get(text[0]) == text[-1] and text[0] not in text[1:-1]:
            text = text[1:-1].strip()
        if text == before:
            break
    return text
