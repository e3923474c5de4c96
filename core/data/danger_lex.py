"""A tolerant bash lexer for core.data.safety: simple commands as words of parts, never an exception.

bashlex rejects much valid bash ([[ ]], arrays, $((...)), case) and truncated model output, and costs
~200 us a command; the safety check must read every row of a dataset and half-written answers, so it
reads words itself: quotes and escapes are removed (and remembered as "quoted"), $variables and
$(...) / `...` / <(...) substitutions are kept as parts for safety.py to resolve, and here-document
bodies are attached to their command.
"""

from __future__ import annotations

import re

from core.data.bash_scan import find_close  # the same quote-aware paren matching as normalize
from core.data.danger_code import decode_escapes

Part = tuple[str, str, bool]  # (kind: lit/var/sub/psub, value, quoted)

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<cont>\\\n)
  | (?P<sq>'[^']*'?)
  | (?P<dq>")
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
VAR = re.compile(r"\$(?:\{[^{}]*\}|[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])")


class Raw:
    """A simple command as lexed: words and redirection targets as lists of (kind, value, quoted) parts."""

    __slots__ = ("heredoc", "piped", "redirs", "words")

    def __init__(self, piped: bool) -> None:
        self.words: list[list[Part]] = []
        self.redirs: list[tuple[str, list[Part]]] = []
        self.piped, self.heredoc = piped, None


def dq_parts(s: str, i: int) -> tuple[list[Part], int]:
    """Parts of a double-quoted string whose body starts at i; the index of its closing quote, or -1."""
    parts: list[Part] = []
    buf: list[str] = []
    n = len(s)

    def flush() -> None:
        if buf:
            parts.append(("lit", "".join(buf), True))
            buf.clear()

    while i < n:
        c = s[i]
        if c == '"':
            flush()
            return parts, i
        if c == "\\" and i + 1 < n:
            nxt = s[i + 1]
            if nxt != "\n":  # backslash-newline is a line continuation, even inside quotes
                buf.append(nxt if nxt in '$`"\\' else c + nxt)
            i += 2
            continue
        if c == "`" or s.startswith("$(", i):
            end = s.find("`", i + 1) if c == "`" else find_close(s, i + 2)
            flush()
            parts.append(("sub", s[i + (1 if c == "`" else 2) : end if end >= 0 else n], True))
            if end < 0:
                return parts, -1
            i = end + 1
            continue
        m = VAR.match(s, i) if c == "$" else None
        if m:
            flush()
            parts.append(("var", m.group(), True))
            i = m.end()
            continue
        buf.append(c)
        i += 1
    flush()
    return parts, -1


def lex(s: str, subs: list[str]) -> tuple[list[Raw], bool]:
    """Split `s` into simple commands; substitution bodies also go to `subs`. Returns (commands, unterminated)."""
    out: list[Raw] = []
    cur = Raw(False)
    word: list[Part] = []
    has_word, redir_op, unterminated = False, "", False
    heredocs: list[tuple[Raw, list[Part], bool]] = []
    pos, n = 0, len(s)

    def end_word() -> None:
        nonlocal has_word, redir_op
        if has_word:
            if redir_op:
                if redir_op in ("<<", "<<-"):
                    heredocs.append((cur, list(word), redir_op == "<<-"))
                cur.redirs.append((redir_op, list(word)))
                redir_op = ""
            else:
                cur.words.append(list(word))
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
        elif kind == "cont":
            pass  # backslash-newline vanishes: `r\<newline>m` is rm
        elif kind in ("plain", "var"):
            word.append(("lit" if kind == "plain" else "var", text, False))
            has_word = True
        elif kind == "sq":
            unterminated |= len(text) == 1 or not text.endswith("'")
            word.append(("lit", text[1:-1] if len(text) > 1 and text.endswith("'") else text[1:], True))
            has_word = True
        elif kind == "dq":
            parts, end = dq_parts(s, pos)
            subs.extend(v for k, v, _ in parts if k == "sub")
            word.extend(parts or [("lit", "", True)])
            has_word = True
            unterminated |= end < 0
            pos = n if end < 0 else end + 1
        elif kind == "ansi":
            word.append(("lit", decode_escapes(text[2:-1] if text.endswith("'") else text[2:]), True))
            has_word = True
        elif kind == "esc":
            word.append(("lit", text[1:], True))
            has_word = True
        elif kind == "sub":
            end = s.find("`", pos) if text == "`" else find_close(s, pos)
            unterminated |= end < 0
            end = n if end < 0 else end
            subs.append(s[pos:end])
            word.append(("psub" if text in ("<(", ">(") else "sub", s[pos:end], False))
            has_word = True
            pos = end + 1
        elif kind == "redir":
            end_word()
            redir_op = text
        elif kind == "op":
            end_word()
            if cur.words or cur.redirs:
                out.append(cur)
                cur = Raw(text in ("|", "|&"))
            elif text not in ("(", ")"):
                cur.piped = False
            if text == "\n" and heredocs:
                pos = _read_heredocs(s, pos, heredocs, subs)
        else:  # comment (only reached at a word start; `a#b` is a plain word)
            if has_word:
                word.append(("lit", "#", False))
                pos = m.start() + 1
            else:
                pos = s.find("\n", m.start())
                pos = n if pos < 0 else pos
    end_word()
    if cur.words or cur.redirs:
        out.append(cur)
    return out, unterminated


def _read_heredocs(s: str, pos: int, pending: list, subs: list[str]) -> int:
    """Read the bodies of the here-documents opened on the line that just ended; return the new position."""
    for cmd, delim_parts, strip_tabs in pending:
        delim = "".join(v for _, v, _ in delim_parts)
        lines = []
        while pos < len(s):
            end = s.find("\n", pos)
            line = s[pos : end if end >= 0 else len(s)]
            pos = end + 1 if end >= 0 else len(s)
            line = line.lstrip("\t") if strip_tabs else line
            if line == delim:
                break
            lines.append(line)
        cmd.heredoc = "\n".join(lines) + "\n"
        if not any(q for _, _, q in delim_parts):
            # An unquoted delimiter means $(...) in the body runs.
            body, i = cmd.heredoc, 0
            while (i := body.find("$(", i)) >= 0:
                end = find_close(body, i + 2)
                subs.append(body[i + 2 : end if end >= 0 else len(body)])
                i = len(body) if end < 0 else end + 1
            subs.extend(re.findall(r"`([^`]*)`", body))
    pending.clear()
    return pos
